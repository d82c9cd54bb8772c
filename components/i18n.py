"""The kit's own strings (buttons, announcements, hints) in every locale prefkit ships.

Merchant texts come from the registry (``snapshot.text``); these are the words around them. A locale
without a catalog falls back to English, and a missing string in a catalog falls back to English too,
so a half-translated catalog never shows a raw message id.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["CATALOGS", "FALLBACK_LOCALE", "KitText", "kit_text"]

FALLBACK_LOCALE: Final = "en"

_EN: Final[Mapping[str, str]] = {
    "accept_all": "Accept all",
    "reject_all": "Reject all",
    "customize": "Customize",
    "save_choices": "Save my choices",
    "saved": "Saved",
    "saving": "Saving…",
    "error": "Not saved: {message}",
    "error_generic": "Could not save. Please try again.",
    "requires": "Requires: {names}",
    "requires_hint": "Available after you allow: {names}.",
    "what_we_use": "What we use",
    "what_you_get": "What you get",
    "always_on": "Always on",
    "always_on_hint": "Needed for the shop to work; it cannot be switched off.",
    "on": "On",
    "off": "Off",
    "stale": "The wording of this consent has changed since you decided.",
    "confirm_again": "Confirm my choice",
    "remove": "Remove {label}",
    "selected": "Selected",
    "none_selected": "Nothing selected",
    "no_choice": "No preference",
    "history": "Your consent history",
    "history_empty": "You have not made any choices yet.",
    "history_allowed": "allowed",
    "history_refused": "refused",
    "method_ui": "on this page",
    "method_api": "through the shop",
    "method_gpc": "browser privacy signal",
    "gpc_notice": (
        "Your browser's privacy signal (Global Privacy Control) switched this off. "
        "You can switch it on here if you want to."
    ),
    "method_expiry": "expired",
    "method_accept_all": "accept all",
    "method_reject_all": "reject all",
    "method_merge": "taken over after signing in",
    "your_data": "Your data",
    "export": "Download my data",
    "erase": "Erase my data",
    "erase_confirm": "Really erase everything? This cannot be undone.",
    "erase_yes": "Yes, erase",
    "erase_no": "Cancel",
    "erased": "Your data has been erased.",
    "banner_title": "Your privacy choices",
    "banner_text": (
        "Decide how {shop} may use your data. Nothing is switched on until you allow it, "
        "and you can change your mind at any time."
    ),
    "banner_done": "Thank you. You can change your choices at any time.",
    "other": "Other",
    "loading": "Loading…",
    "center_title": "Privacy and personalization",
    "unknown_key": "Unknown preference: {key}",
    "load_failed": "Your settings could not be loaded.",
    "render_failed": "This part of the page could not be shown.",
    "retry": "Try again",
    "connection_lost": "The connection to your settings was lost.",
    "unavailable": "Your settings are not available right now.",
    "priorities_help": (
        "Most important first. Use the buttons, or Alt+Arrow Up and Alt+Arrow Down on an item "
        "(Alt+Home, Alt+End: to the top, to the bottom)."
    ),
    "priorities_move_up": "Move {label} up",
    "priorities_move_down": "Move {label} down",
    "priorities_leave_out": "Leave out {label}",
    "priorities_add_back": "Add {label}",
    "priorities_left_out_title": "Not in your order",
    "priorities_empty": "Nothing in your order yet: add the criteria that matter to you below.",
    "priorities_moved": "{label} moved to position {position} of {count}",
    "priorities_left_out": "{label} left out",
    "priorities_added": "{label} added at position {position} of {count}",
}

_PL: Final[Mapping[str, str]] = {
    "accept_all": "Zaakceptuj wszystkie",
    "reject_all": "Odrzuć wszystkie",
    "customize": "Dostosuj",
    "save_choices": "Zapisz moje wybory",
    "saved": "Zapisano",
    "saving": "Zapisywanie…",
    "error": "Nie zapisano: {message}",
    "error_generic": "Nie udało się zapisać. Spróbuj ponownie.",
    "requires": "Wymaga: {names}",
    "requires_hint": "Dostępne po wyrażeniu zgody: {names}.",
    "what_we_use": "Z czego korzystamy",
    "what_you_get": "Co zyskujesz",
    "always_on": "Zawsze włączone",
    "always_on_hint": "Niezbędne do działania sklepu; nie można tego wyłączyć.",
    "on": "Włączone",
    "off": "Wyłączone",
    "stale": "Treść tej zgody zmieniła się od czasu Twojej decyzji.",
    "confirm_again": "Potwierdź mój wybór",
    "remove": "Usuń {label}",
    "selected": "Wybrane",
    "none_selected": "Nic nie wybrano",
    "no_choice": "Bez preferencji",
    "history": "Historia Twoich zgód",
    "history_empty": "Nie dokonano jeszcze żadnych wyborów.",
    "history_allowed": "zgoda",
    "history_refused": "brak zgody",
    "method_ui": "na tej stronie",
    "method_api": "przez sklep",
    "method_gpc": "sygnał prywatności przeglądarki",
    "gpc_notice": (
        "Sygnał prywatności Twojej przeglądarki (Global Privacy Control) wyłączył tę zgodę. "
        "Jeśli chcesz, możesz ją tu włączyć."
    ),
    "method_expiry": "wygasła",
    "method_accept_all": "zaakceptuj wszystkie",
    "method_reject_all": "odrzuć wszystkie",
    "method_merge": "przeniesione po zalogowaniu",
    "your_data": "Twoje dane",
    "export": "Pobierz moje dane",
    "erase": "Usuń moje dane",
    "erase_confirm": "Na pewno usunąć wszystko? Tego nie można cofnąć.",
    "erase_yes": "Tak, usuń",
    "erase_no": "Anuluj",
    "erased": "Twoje dane zostały usunięte.",
    "banner_title": "Twoje wybory dotyczące prywatności",
    "banner_text": (
        "Zdecyduj, jak {shop} może korzystać z Twoich danych. Nic nie jest włączone bez Twojej zgody, "
        "a zdanie możesz zmienić w każdej chwili."
    ),
    "banner_done": "Dziękujemy. Swoje wybory możesz zmienić w każdej chwili.",
    "other": "Inne",
    "loading": "Ładowanie…",
    "center_title": "Prywatność i personalizacja",
    "unknown_key": "Nieznana preferencja: {key}",
    "load_failed": "Nie udało się wczytać Twoich ustawień.",
    "render_failed": "Nie udało się wyświetlić tej części strony.",
    "retry": "Spróbuj ponownie",
    "connection_lost": "Połączenie z Twoimi ustawieniami zostało przerwane.",
    "unavailable": "Twoje ustawienia są teraz niedostępne.",
    "priorities_help": (
        "Najważniejsze na górze. Użyj przycisków albo Alt+strzałka w górę i Alt+strzałka w dół na elemencie "
        "(Alt+Home, Alt+End: na początek, na koniec)."
    ),
    "priorities_move_up": "Przesuń w górę: {label}",
    "priorities_move_down": "Przesuń w dół: {label}",
    "priorities_leave_out": "Pomiń: {label}",
    "priorities_add_back": "Dodaj: {label}",
    "priorities_left_out_title": "Poza kolejnością",
    "priorities_empty": "Kolejność jest jeszcze pusta: dodaj poniżej kryteria, które są dla Ciebie ważne.",
    "priorities_moved": "{label}: przeniesiono na pozycję {position} z {count}",
    "priorities_left_out": "{label}: pominięto",
    "priorities_added": "{label}: dodano na pozycji {position} z {count}",
}

CATALOGS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType({"en": _EN, "pl": _PL})
"""Locale -> message id -> text. Placeholders use ``str.format`` names."""


class KitText:
    """The kit's strings in one locale: ``t("saved")``, ``t("requires", names="...")``."""

    __slots__ = ("locale", "_catalog")

    def __init__(self, locale: str) -> None:
        base = locale.split("-", 1)[0].lower()
        self.locale = base if base in CATALOGS else FALLBACK_LOCALE
        self._catalog = CATALOGS[self.locale]

    def __call__(self, message_id: str, **values: object) -> str:
        template = self._catalog.get(message_id) or CATALOGS[FALLBACK_LOCALE][message_id]
        return template.format(**values) if values else template


_shared: Final[Mapping[str, KitText]] = MappingProxyType({locale: KitText(locale) for locale in CATALOGS})


def kit_text(locale: str | None) -> KitText:
    """The shared :class:`KitText` for ``locale`` (``pl-PL`` -> ``pl``; unknown -> English)."""
    base = (locale or FALLBACK_LOCALE).split("-", 1)[0].lower()
    return _shared.get(base) or _shared[FALLBACK_LOCALE]
