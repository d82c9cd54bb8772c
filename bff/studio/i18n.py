"""The studio's own words, in Polish and English. Field names come from the schema; a known field gets a
label here, any other (a kind added later) is shown by its schema name with its schema docstring."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["LOCALES", "field_label", "issue_message", "studio_text"]

LOCALES = ("pl", "en")

_TEXT: dict[str, dict[str, str]] = {
    "studio": {"pl": "Studio sklepu", "en": "Merchant studio"},
    "login_title": {"pl": "Logowanie do studia", "en": "Sign in to the studio"},
    "admin_key": {"pl": "Klucz administratora", "en": "Admin key"},
    "sign_in": {"pl": "Zaloguj się", "en": "Sign in"},
    "sign_out": {"pl": "Wyloguj się", "en": "Sign out"},
    "wrong_key": {"pl": "Nieprawidłowy klucz.", "en": "Wrong key."},
    "throttled": {"pl": "Zbyt wiele nieudanych prób. Spróbuj ponownie za {s} s.",
                  "en": "Too many failed attempts. Try again in {s} s."},
    "expired_form": {"pl": "Formularz wygasł. Spróbuj jeszcze raz.", "en": "The form expired. Try again."},
    "disabled": {"pl": "Studio jest wyłączone: ustaw PREFKIT_ADMIN_KEY.",
                 "en": "The studio is disabled: set PREFKIT_ADMIN_KEY."},
    "signed_in_as": {"pl": "Zalogowano jako", "en": "Signed in as"},
    "nav": {"pl": "Nawigacja studia", "en": "Studio navigation"},
    "editor": {"pl": "Edytor", "en": "Editor"},
    "forms": {"pl": "Formularze", "en": "Forms"},
    "raw": {"pl": "Tekst (TOML/YAML/JSON)", "en": "Raw (TOML/YAML/JSON)"},
    "preview": {"pl": "Podgląd", "en": "Preview"},
    "impact": {"pl": "Skutki i publikacja", "en": "Impact and publishing"},
    "history": {"pl": "Historia", "en": "History"},
    "insights": {"pl": "Statystyki", "en": "Insights"},
    "insights_csv": {"pl": "Pobierz wszystkie liczby jako CSV", "en": "Download every number as CSV"},
    "insights_off": {"pl": "Statystyki nie są włączone w tej aplikacji (InsightsPlugin).",
                     "en": "Insights are not enabled in this app (InsightsPlugin)."},
    "shop": {"pl": "Sklep", "en": "Shop"},
    "types": {"pl": "Typy preferencji", "en": "Preference types"},
    "sections": {"pl": "Sekcje", "en": "Sections"},
    "add_type": {"pl": "Dodaj typ", "en": "Add type"},
    "kind": {"pl": "Rodzaj", "en": "Kind"},
    "add": {"pl": "Dodaj", "en": "Add"},
    "remove": {"pl": "Usuń", "en": "Remove"},
    "move_up": {"pl": "W górę", "en": "Move up"},
    "move_down": {"pl": "W dół", "en": "Move down"},
    "item": {"pl": "Pozycja", "en": "Item"},
    "none_yet": {"pl": "Brak.", "en": "None yet."},
    "status": {"pl": "Stan szkicu", "en": "Draft status"},
    "valid": {"pl": "Szkic jest poprawny.", "en": "The draft is valid."},
    "n_errors": {"pl": "Błędy: {n}. Publikacja jest zablokowana.", "en": "{n} error(s). Publishing is blocked."},
    "n_warnings": {"pl": "Ostrzeżenia: {n}.", "en": "{n} warning(s)."},
    "document": {"pl": "Dokument", "en": "Document"},
    "format": {"pl": "Format", "en": "Format"},
    "apply_text": {"pl": "Zastosuj tekst", "en": "Apply text"},
    "unset": {"pl": "(nie ustawiono)", "en": "(not set)"},
    "yes": {"pl": "tak", "en": "yes"},
    "no": {"pl": "nie", "en": "no"},
    "one_per_line": {"pl": "jedna pozycja w wierszu", "en": "one item per line"},
    "comma_list": {"pl": "oddzielone przecinkami", "en": "comma-separated"},
    "locale_col": {"pl": "Język", "en": "Locale"},
    "theme": {"pl": "Motyw", "en": "Theme"},
    "center": {"pl": "Centrum preferencji", "en": "Preference center"},
    "banner": {"pl": "Baner zgód", "en": "Consent banner"},
    "preview_note": {"pl": "Podgląd działa na prawdziwych komponentach i tymczasowym magazynie: nic z "
                             "podglądu nie trafia do danych klientów ani do rejestru zgód.",
                     "en": "The preview runs the real components on a throwaway store: nothing done here "
                           "reaches shopper data or the consent ledger."},
    "preview_invalid": {"pl": "Szkic zawiera błędy: podgląd pokazuje ostatnią poprawną wersję.",
                        "en": "The draft has errors: the preview shows its last valid version."},
    "impact_intro": {"pl": "Porównanie szkicu z aktywną wersją {v}.", "en": "The draft compared with the "
                                                                         "active version {v}."},
    "stale_line": {"pl": "Ta zmiana poprosi {n} klientów o ponowne potwierdzenie: {title}.",
                   "en": "This edit asks {n} shoppers to confirm {title} again."},
    "no_stale": {"pl": "Żadna zapisana decyzja nie stanie się nieaktualna.",
                 "en": "No stored decision becomes stale."},
    "removed_line": {"pl": "Usunięty typ {title}: zapisane wartości ({n}) zostają w rejestrze zgód jako "
                           "dowód, ale nie są już pokazywane ani używane.",
                     "en": "Removed type {title}: its {n} stored value(s) stay in the ledger as proof but are "
                           "no longer shown or used."},
    "added": {"pl": "dodany", "en": "added"},
    "removed": {"pl": "usunięty", "en": "removed"},
    "changed": {"pl": "zmieniony", "en": "changed"},
    "unchanged": {"pl": "bez zmian", "en": "unchanged"},
    "wording_changed": {"pl": "zmiana treści zgody", "en": "wording changed"},
    "field": {"pl": "Pole", "en": "Field"},
    "before": {"pl": "Przed", "en": "Before"},
    "after": {"pl": "Po", "en": "After"},
    "type": {"pl": "Typ", "en": "Type"},
    "publish": {"pl": "Opublikuj", "en": "Publish"},
    "publish_blocked": {"pl": "Najpierw popraw błędy.", "en": "Fix the errors first."},
    "nothing_to_publish": {"pl": "Szkic nie różni się od aktywnej wersji.",
                           "en": "The draft does not differ from the active version."},
    "published": {"pl": "Opublikowano wersję {v}.", "en": "Published version {v}."},
    "version": {"pl": "Wersja", "en": "Version"},
    "when": {"pl": "Kiedy", "en": "When"},
    "who": {"pl": "Kto / skąd", "en": "Who / from"},
    "active": {"pl": "aktywna", "en": "active"},
    "rollback": {"pl": "Przywróć", "en": "Roll back"},
    "show_diff": {"pl": "Zmiany", "en": "Changes"},
    "diff_of": {"pl": "Zmiany w wersji {v} względem poprzedniej", "en": "Changes in version {v} against the "
                                                                        "one before"},
    "discard": {"pl": "Odrzuć szkic", "en": "Discard draft"},
    "language": {"pl": "Język studia", "en": "Studio language"},
    "file_note": {"pl": "Rejestr jest plikiem {f}: publikacja zapisze go atomowo, z komentarzami.",
                  "en": "The registry is the file {f}: publishing rewrites it atomically, keeping comments."},
    "error_at": {"pl": "Błąd", "en": "Error"},
    "warning_at": {"pl": "Ostrzeżenie", "en": "Warning"},
    "expected": {"pl": "oczekiwano", "en": "expected"},
    "got": {"pl": "jest", "en": "got"},
    "edit_refused": {"pl": "Nie można zastosować zmiany", "en": "The edit cannot be applied"},
}

_FIELDS: dict[str, dict[str, str]] = {
    "key": {"pl": "Klucz", "en": "Key"}, "title": {"pl": "Tytuł", "en": "Title"},
    "description": {"pl": "Opis", "en": "Description"},
    "data_used": {"pl": "Jakich danych używamy", "en": "Data used"},
    "benefit": {"pl": "Co zyskujesz", "en": "Benefit"}, "section": {"pl": "Sekcja", "en": "Section"},
    "order": {"pl": "Kolejność", "en": "Order"}, "requires": {"pl": "Wymaga zgód", "en": "Requires"},
    "purpose": {"pl": "Cel", "en": "Purpose"}, "mechanism": {"pl": "Mechanizm", "en": "Mechanism"},
    "gpc": {"pl": "Honoruje GPC", "en": "Honours GPC"},
    "expires_after_days": {"pl": "Wygasa po (dniach)", "en": "Expires after (days)"},
    "default": {"pl": "Domyślnie", "en": "Default"}, "min": {"pl": "Minimum", "en": "Minimum"},
    "max": {"pl": "Maksimum", "en": "Maximum"}, "step": {"pl": "Krok", "en": "Step"},
    "page_step": {"pl": "Duży krok", "en": "Page step"}, "stops": {"pl": "Etykiety wartości", "en": "Stops"},
    "value": {"pl": "Wartość", "en": "Value"}, "label": {"pl": "Etykieta", "en": "Label"},
    "options": {"pl": "Opcje", "en": "Options"}, "multiple": {"pl": "Wielokrotny wybór", "en": "Multiple"},
    "applies_to": {"pl": "Wpływ na wyniki", "en": "Applies to"},
    "name": {"pl": "Nazwa", "en": "Name"}, "locales": {"pl": "Języki", "en": "Locales"},
    "default_locale": {"pl": "Język domyślny", "en": "Default locale"},
    "theme": {"pl": "Motyw", "en": "Theme"},
    "controller_contact": {"pl": "Kontakt administratora danych", "en": "Controller contact"},
    "privacy_policy_url": {"pl": "Polityka prywatności (URL)", "en": "Privacy policy URL"},
    "criteria": {"pl": "Kryteria", "en": "Criteria"}, "weight": {"pl": "Waga", "en": "Weight"},
    "consent_mode": {"pl": "Google Consent Mode", "en": "Google Consent Mode"},
}


def studio_text(locale: str) -> Callable[..., str]:
    """``t(message_id, **values)`` in ``locale`` (English for an unknown locale)."""
    chosen = locale if locale in LOCALES else "en"

    def t(message_id: str, **values: object) -> str:
        text = _TEXT[message_id][chosen]
        return text.format(**values) if values else text

    return t


def field_label(name: str, locale: str) -> str:
    """A field's label: the studio's word for a known field, else the schema name itself."""
    return _FIELDS.get(name, {}).get(locale, name)


# The registry's validator speaks English (it is also the CLI's and the admin API's voice). The studio
# shows the most frequent messages in Polish; any other message is shown as the validator wrote it.
_ISSUES_PL: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), text) for pattern, text in (
    (r"^max must be greater than min$", "max musi być większe niż min"),
    (r"^wrong type or value out of bounds$", "zły typ lub wartość poza dozwolonym zakresem"),
    (r"^value outside the slider's range$", "wartość poza zakresem suwaka"),
    (r"^value is not on a step$", "wartość nie leży na kroku suwaka"),
    (r"^page_step must be a whole number of steps$", "page_step musi być całkowitą liczbą kroków"),
    (r"^step (\S+) does not divide the range (\S+)$", r"krok \1 nie dzieli zakresu \2"),
    (r"^missing required field `([^`]+)`$", r"brak wymaganego pola `\1`"),
    (r"^unknown field `([^`]+)`(.*)$", r"nieznane pole `\1`\2"),
    (r"^duplicate key `([^`]+)`, first declared at (.+)$", r"powtórzony klucz `\1`, pierwszy raz w \2"),
    (r"^unknown section `([^`]+)`$", r"nieznana sekcja `\1`"),
    (r"^requires unknown key `([^`]+)`$", r"wymaga nieznanego klucza `\1`"),
    (r"^dependency cycle: (.+)$", r"cykl zależności: \1"),
    (r"^missing text in the default locale `([^`]+)`$", r"brak tekstu w języku domyślnym `\1`"),
    (r"^missing `([^`]+)` translation; shoppers reading `[^`]+` see the `([^`]+)` text$",
     r"brak tłumaczenia `\1`; klienci zobaczą tekst `\2`"),
    (r"^locale `([^`]+)` is not one of the shop's locales$", r"język `\1` nie należy do języków sklepu"),
    (r"^the default locale must be one of `shop.locales`$", "język domyślny musi być jednym z `shop.locales`"),
    (r"^unknown or missing preference kind$", "nieznany lub brakujący rodzaj preferencji"),
))


def issue_message(message: str, locale: str) -> str:
    """A validator message in the studio's ``locale`` (the English original when there is no translation)."""
    if locale != "pl":
        return message
    for pattern, text in _ISSUES_PL:
        if pattern.match(message):
            return pattern.sub(text, message)
    return message
