"""The demo shop's own words (navigation, headings, product facts) in Polish and English.

Merchant texts (preference titles, option labels...) never live here: they come from the registry.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DEMO_TEXTS", "LOCALE_NAMES", "demo_text", "format_decimal", "format_price"]

DEMO_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "nav_label": "Main", "nav_shop": "Shop", "nav_preferences": "Your preferences", "nav_data": "Your data",
        "language": "Language", "skip": "Skip to content",
        "listing_title": "Products", "your_choices": "Your choices",
        "your_choices_hint": "Change anything here: the list updates at once, no reload.",
        "search": "Search", "search_label": "Search products", "category": "Category", "all_categories": "All",
        "apply": "Show",
        "count": "{total} products", "count_one": "1 product", "count_none": "No products match.",
        "page_of": "Page {page} of {pages}", "previous": "Previous page", "next": "Next page",
        "pagination": "Pages", "position": "No. {position}",
        "eco_badge": "Eco certificate", "small_brand": "Small brand", "large_brand": "Large brand",
        "eco_score": "Eco score {score}/100", "rating": "Rated {rating} of 5", "brand": "Brand",
        "material": "Material", "price": "Price", "category_label": "Category",
        "back": "Back to products", "not_shown": "Your current filters hide this product from the list.",
        "product_missing": "No such product.",
        "preferences_title": "Your preferences",
        "preferences_intro": "You decide how this shop personalizes. Every change applies at once.",
        "data_title": "Your data",
        "data_intro": "Everything this shop stores about you: your choices and the history of your decisions, "
                      "with the wording you saw at the time.",
        "current_choices": "Current choices", "history": "History of your decisions",
        "history_empty": "No decisions yet.", "when": "When", "what": "Preference", "value": "Value",
        "how": "How", "wording": "Wording shown", "source": "Source", "in_effect": "In effect",
        "yes": "yes", "no": "no", "on": "on", "off": "off", "none": "none",
        "source_default": "default", "source_explicit": "your choice", "source_gpc": "browser privacy signal",
        "source_expired": "expired, back to default", "source_requires-unmet": "needs another consent",
        "export": "Download my data (JSON)", "erase": "Erase my data",
        "no_export": "Export and erasure are not available on this server.",
        "rights_title": "Take your data or erase it",
        "erase_confirm": "I understand that erasing removes my choices and their history for good.",
        "erase_needs_confirm": "Nothing was erased: please tick the confirmation first.",
        "erased_title": "Your data was erased", "receipt_id": "Receipt",
        "erased_text": "Everything stored about you is gone. Keep this receipt as proof.",
        "preferences_removed": "Choices removed", "events_removed": "History entries removed",
        "kept": "What remains",
        "loading": "Loading products…", "eco_score_label": "Eco score", "rating_label": "Shopper rating",
        "transparency_link": "How this order is made", "transparency_signals": "What the order uses",
        "transparency_neutral": "The neutral order",
    },
    "pl": {
        "nav_label": "Główna", "nav_shop": "Sklep", "nav_preferences": "Twoje preferencje", "nav_data": "Twoje dane",
        "language": "Język", "skip": "Przejdź do treści",
        "listing_title": "Produkty", "your_choices": "Twoje wybory",
        "your_choices_hint": "Zmień cokolwiek tutaj: lista odświeży się od razu, bez przeładowania.",
        "search": "Szukaj", "search_label": "Szukaj produktów", "category": "Kategoria", "all_categories": "Wszystkie",
        "apply": "Pokaż",
        "count": "Produkty: {total}", "count_one": "1 produkt", "count_none": "Brak pasujących produktów.",
        "page_of": "Strona {page} z {pages}", "previous": "Poprzednia strona", "next": "Następna strona",
        "pagination": "Strony", "position": "Nr {position}",
        "eco_badge": "Certyfikat ekologiczny", "small_brand": "Mała marka", "large_brand": "Duża marka",
        "eco_score": "Ocena ekologiczna {score}/100", "rating": "Ocena {rating} z 5", "brand": "Marka",
        "material": "Materiał", "price": "Cena", "category_label": "Kategoria",
        "back": "Wróć do produktów", "not_shown": "Twoje obecne filtry ukrywają ten produkt na liście.",
        "product_missing": "Nie ma takiego produktu.",
        "preferences_title": "Twoje preferencje",
        "preferences_intro": "Ty decydujesz, jak sklep personalizuje. Każda zmiana działa od razu.",
        "data_title": "Twoje dane",
        "data_intro": "Wszystko, co sklep o Tobie przechowuje: Twoje wybory i historia decyzji, "
                      "z treścią, którą wtedy widziałeś/widziałaś.",
        "current_choices": "Obecne wybory", "history": "Historia Twoich decyzji",
        "history_empty": "Brak decyzji.", "when": "Kiedy", "what": "Preferencja", "value": "Wartość",
        "how": "Jak", "wording": "Pokazana treść", "source": "Źródło", "in_effect": "Obowiązuje",
        "yes": "tak", "no": "nie", "on": "włączone", "off": "wyłączone", "none": "brak",
        "source_default": "domyślne", "source_explicit": "Twój wybór", "source_gpc": "sygnał prywatności przeglądarki",
        "source_expired": "wygasło, wartość domyślna", "source_requires-unmet": "wymaga innej zgody",
        "export": "Pobierz moje dane (JSON)", "erase": "Usuń moje dane",
        "no_export": "Eksport i usuwanie danych nie są dostępne na tym serwerze.",
        "rights_title": "Pobierz lub usuń swoje dane",
        "erase_confirm": "Rozumiem, że usunięcie na zawsze kasuje moje wybory i ich historię.",
        "erase_needs_confirm": "Nic nie usunięto: najpierw zaznacz potwierdzenie.",
        "erased_title": "Twoje dane zostały usunięte", "receipt_id": "Potwierdzenie",
        "erased_text": "Wszystko, co o Tobie przechowywaliśmy, zostało usunięte. Zachowaj to potwierdzenie.",
        "preferences_removed": "Usunięte wybory", "events_removed": "Usunięte wpisy historii",
        "kept": "Co zostaje",
        "loading": "Ładowanie produktów…", "eco_score_label": "Ocena ekologiczna",
        "rating_label": "Ocena klientów",
        "transparency_link": "Jak powstaje ta kolejność",
        "transparency_signals": "Z czego korzysta kolejność",
        "transparency_neutral": "Kolejność neutralna",
    },
}

LOCALE_NAMES: Mapping[str, str] = {"pl": "Polski", "en": "English"}
"""Each locale's name in its own language (for the switcher)."""


def demo_text(locale: str, message_id: str, **values: object) -> str:
    """One demo text in ``locale`` (English when missing), formatted with ``values``."""
    catalog = DEMO_TEXTS.get(locale) or DEMO_TEXTS["en"]
    template = catalog.get(message_id) or DEMO_TEXTS["en"][message_id]
    return template.format(**values) if values else template


def format_price(price: float, currency: str, locale: str) -> str:
    """``129,99 zł`` in Polish, ``PLN 129.99`` otherwise."""
    if locale == "pl":
        amount = f"{price:,.2f}".replace(",", "\u00a0").replace(".", ",")
        return f"{amount}\u00a0zł" if currency == "PLN" else f"{amount}\u00a0{currency}"
    return f"{currency}\u00a0{price:,.2f}"


def format_decimal(value: float, locale: str, places: int = 1) -> str:
    """``4,5`` in Polish, ``4.5`` otherwise."""
    text = f"{value:.{places}f}"
    return text.replace(".", ",") if locale == "pl" else text
