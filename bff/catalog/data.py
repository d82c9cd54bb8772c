"""The demo catalog: product model, a deterministic generator, and the searchable :class:`Catalog`.

The sample catalog is generated from a fixed seed rather than shipped as a data file, so the 240 demo
products, the 10,000-product benchmark catalog and any test catalog all come from one generator and are
identical on every machine. A shop plugs in its own products with :func:`load_catalog` (a JSON list of
:class:`Product`) or by building a :class:`Catalog` from its own items.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from threading import Lock
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import Meta

from preference_registry.schema import full_match

from .explain import AttributeWords
from .ranking import RankingIndex

__all__ = [
    "ATTRIBUTE_WORDS",
    "CATEGORIES",
    "CATEGORY_LABELS",
    "RESERVED_FIELDS",
    "Catalog",
    "Category",
    "ItemView",
    "Product",
    "ProductView",
    "SAMPLE_SEED",
    "SAMPLE_SIZE",
    "category_label",
    "fields_view",
    "fold_text",
    "generate_products",
    "load_catalog",
    "product_view",
    "sample_catalog",
]

Item = TypeVar("Item")

Category = Literal["shoes", "bags", "clothing", "accessories", "home"]
CATEGORIES: tuple[str, ...] = ("shoes", "bags", "clothing", "accessories", "home")
"""Category keys, matching the options of the demo registry's ``categories`` filter."""
CATEGORY_LABELS: dict[str, dict[str, str]] = {
    "shoes": {"pl": "Buty", "en": "Shoes"}, "bags": {"pl": "Torby", "en": "Bags"},
    "clothing": {"pl": "Odzież", "en": "Clothing"}, "accessories": {"pl": "Dodatki", "en": "Accessories"},
    "home": {"pl": "Dom", "en": "Home"},
}
"""Category names per locale (the catalog's own wording, independent of any registry)."""

SAMPLE_SEED = 20240517
"""Seed of the bundled sample catalog."""
SAMPLE_SIZE = 240
"""Number of products in the bundled sample catalog."""
SELECTION_CACHE_SIZE = 64
"""Search/category selections a :class:`Catalog` remembers."""


class Product(msgspec.Struct, frozen=True, kw_only=True):
    """A catalog product with the attributes the demo registry's filters and sliders act on."""

    id: Annotated[str, Meta(pattern=full_match(r"[a-z0-9][a-z0-9-]*"), max_length=64)]
    """Stable product id, used in URLs."""
    name: dict[str, str]
    """Product name per locale (``pl``, ``en``)."""
    category: Category
    """``shoes``, ``bags``, ``clothing``, ``accessories`` or ``home``."""
    brand: str
    """Brand name."""
    brand_size: Literal["small", "large"]
    """Whether the brand is a small independent maker or a large chain."""
    eco_certified: bool
    """Holds an eco certificate."""
    eco_score: Annotated[int, Meta(ge=0, le=100)]
    """Sustainability score, 0 (worst) to 100 (best)."""
    price: Annotated[float, Meta(gt=0)]
    """Price in ``currency``."""
    currency: str = "PLN"
    """ISO 4217 currency code."""
    rating: Annotated[float, Meta(ge=0, le=5)]
    """Average shopper rating, 0 to 5."""
    popularity: Annotated[int, Meta(ge=0)]
    """Orders in the last 90 days: the neutral order."""
    material: dict[str, str] = msgspec.field(default_factory=dict)
    """Main material per locale, for the product page."""

    def display_name(self, locale: str) -> str:
        return self.name.get(locale) or self.name.get("en") or next(iter(self.name.values()), self.id)


ATTRIBUTE_WORDS: dict[str, AttributeWords] = {
    "price": AttributeWords(lower={"en": "lower price", "pl": "niższa cena"},
                            higher={"en": "higher price", "pl": "wyższa cena"},
                            name={"en": "price", "pl": "cena"}),
    "eco_score": AttributeWords(lower={"en": "less sustainable", "pl": "mniej ekologiczny"},
                                higher={"en": "more sustainable", "pl": "bardziej ekologiczny"},
                                name={"en": "eco score", "pl": "ocena ekologiczna"}),
    "rating": AttributeWords(lower={"en": "lower rating", "pl": "niższa ocena klientów"},
                             higher={"en": "better rated", "pl": "lepiej oceniany"},
                             name={"en": "rating", "pl": "ocena klientów"}),
    "popularity": AttributeWords(lower={"en": "less popular", "pl": "mniej popularny"},
                                 higher={"en": "more popular", "pl": "bardziej popularny"},
                                 name={"en": "popularity", "pl": "popularność"}),
}
"""How the catalog's numeric attributes read in reasons ("Ranked higher: lower price")."""


# --- generator -----------------------------------------------------------------------------------------

# Polish adjectives agree with the noun's gender: stem + y (masculine) / a (feminine) / e (neuter, and
# the non-personal plural every plural noun here takes).
_ENDINGS = {"m": "y", "f": "a", "n": "e", "pl": "e"}

_MATERIALS: dict[str, tuple[str, str]] = {  # key -> (Polish adjective stem, English)
    "leather": ("skórzan", "leather"), "linen": ("lnian", "linen"), "cotton": ("bawełnian", "cotton"),
    "wool": ("wełnian", "wool"), "hemp": ("konopn", "hemp"), "cork": ("korkow", "cork"),
    "ceramic": ("ceramiczn", "ceramic"), "bamboo": ("bambusow", "bamboo"),
    "recycled": ("", "recycled"),
}
_MATERIAL_NOUNS = {  # for the product page: "Materiał: len"
    "leather": ("skóra", "leather"), "linen": ("len", "linen"), "cotton": ("bawełna", "cotton"),
    "wool": ("wełna", "wool"), "hemp": ("konopie", "hemp"), "cork": ("korek", "cork"),
    "ceramic": ("ceramika", "ceramic"), "bamboo": ("bambus", "bamboo"),
    "recycled": ("materiał z recyklingu", "recycled material"),
}
_COLOURS: tuple[tuple[str, str], ...] = (
    ("czarn", "black"), ("biał", "white"), ("zielon", "green"), ("granatow", "navy"), ("beżow", "beige"),
    ("szar", "grey"), ("musztardow", "mustard"), ("bordow", "burgundy"),
)
# (Polish noun, gender, English noun, materials, price range in PLN)
_NOUNS: dict[str, tuple[tuple[str, str, str, tuple[str, ...], tuple[int, int]], ...]] = {
    "shoes": (
        ("Trampki", "pl", "sneakers", ("cotton", "hemp", "recycled"), (119, 399)),
        ("Sandały", "pl", "sandals", ("leather", "cork"), (99, 349)),
        ("Mokasyny", "pl", "loafers", ("leather",), (229, 699)),
        ("Botki", "pl", "ankle boots", ("leather", "recycled"), (259, 799)),
        ("Kapcie", "pl", "slippers", ("wool", "cotton"), (59, 189)),
    ),
    "bags": (
        ("Torba", "f", "tote bag", ("linen", "cotton", "hemp", "leather"), (59, 449)),
        ("Plecak", "m", "backpack", ("recycled", "leather", "cotton"), (149, 599)),
        ("Nerka", "f", "belt bag", ("leather", "recycled"), (79, 259)),
        ("Torebka", "f", "handbag", ("leather", "cork"), (179, 899)),
    ),
    "clothing": (
        ("Koszula", "f", "shirt", ("linen", "cotton"), (99, 349)),
        ("Sweter", "m", "sweater", ("wool", "cotton"), (149, 499)),
        ("Sukienka", "f", "dress", ("linen", "cotton"), (139, 459)),
        ("Kurtka", "f", "jacket", ("recycled", "wool", "leather"), (249, 999)),
        ("Spodnie", "pl", "trousers", ("linen", "cotton", "hemp"), (119, 379)),
        ("T-shirt", "m", "T-shirt", ("cotton", "hemp", "bamboo"), (39, 149)),
    ),
    "accessories": (
        ("Czapka", "f", "beanie", ("wool", "cotton"), (39, 149)),
        ("Szalik", "m", "scarf", ("wool", "linen"), (49, 229)),
        ("Pasek", "m", "belt", ("leather", "cork"), (59, 249)),
        ("Portfel", "m", "wallet", ("leather", "cork", "recycled"), (69, 329)),
        ("Rękawiczki", "pl", "gloves", ("wool", "leather"), (49, 259)),
    ),
    "home": (
        ("Koc", "m", "blanket", ("wool", "cotton"), (129, 599)),
        ("Poduszka", "f", "cushion", ("linen", "cotton"), (49, 199)),
        ("Kubek", "m", "mug", ("ceramic", "bamboo"), (29, 99)),
        ("Ręcznik", "m", "towel", ("cotton", "bamboo", "linen"), (39, 169)),
        ("Obrus", "m", "tablecloth", ("linen", "cotton"), (79, 289)),
    ),
}
_SMALL_BRANDS = ("Leśna Pracownia", "Szewc z Kazimierza", "Len i Glina", "Mała Szwalnia", "Pracownia Koral",
                 "Wełniak", "Konopna Chata", "Dobre Rzeczy")
_LARGE_BRANDS = ("UrbanMax", "Nordline", "MegaStyle", "Primo Retail", "GlobalWear")
_ECO_MATERIALS = frozenset({"linen", "hemp", "cork", "bamboo", "recycled", "wool"})


def generate_products(count: int, *, seed: int = SAMPLE_SEED) -> list[Product]:
    """``count`` realistic products, identical for the same ``(count, seed)`` on every machine.

    Product ``i`` depends only on ``seed`` and ``i``, so the first 240 of a 10,000-product catalog are the
    sample catalog itself.
    """
    return [_product(index, random.Random(f"{seed}:{index}")) for index in range(count)]


def _product(index: int, rng: random.Random) -> Product:
    category = CATEGORIES[index % len(CATEGORIES)] if index < len(CATEGORIES) else rng.choice(CATEGORIES)
    noun_pl, gender, noun_en, materials, (low, high) = rng.choice(_NOUNS[category])
    material = rng.choice(materials)
    colour_pl, colour_en = rng.choice(_COLOURS)
    small = rng.random() < 0.45
    brand = rng.choice(_SMALL_BRANDS if small else _LARGE_BRANDS)
    eco_material = material in _ECO_MATERIALS
    eco_certified = rng.random() < (0.7 if eco_material and small else 0.45 if eco_material else 0.12)
    eco_score = round(rng.uniform(62, 98) if eco_certified else rng.uniform(8, 72) + (10 if eco_material else 0))
    price = round(rng.uniform(low, high) * (1.15 if small else 1.0)) - 0.01
    # Ratings cluster at 3.5-5 like real shops; popularity is skewed: a few bestsellers, a long tail.
    rating = round(min(5.0, max(1.0, rng.gauss(4.2, 0.45))), 1)
    popularity = int(20 + 4980 * rng.random() ** 2.2) * (2 if not small else 1)
    ending = _ENDINGS[gender]
    material_pl, material_en = _MATERIALS[material]
    if material == "recycled":  # no good adjective: "Plecak czarny z recyklingu"
        name_pl = f"{noun_pl} {colour_pl}{ending} z recyklingu"
    else:
        name_pl = f"{noun_pl} {material_pl}{ending} {colour_pl}{ending}"
    name_en = f"{colour_en.capitalize()} {material_en} {noun_en}"
    noun_pl_material, noun_en_material = _MATERIAL_NOUNS[material]
    return Product(
        id=f"p{index + 1:06d}", name={"pl": name_pl, "en": name_en}, category=category, brand=brand,
        brand_size="small" if small else "large", eco_certified=eco_certified,
        eco_score=int(min(100, eco_score)), price=price, rating=rating, popularity=popularity,
        material={"pl": noun_pl_material, "en": noun_en_material},
    )


# --- the searchable catalog --------------------------------------------------------------------------


_FOLD_EXTRA = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "ß": "ss"})


def fold_text(text: str) -> str:
    """Lowercase without diacritics, so "skorzana" finds "Skórzana" and "lniany" finds "LNIANY"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA).casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


RESERVED_FIELDS = frozenset({"position", "score", "reasons"})
"""Response fields prefkit adds to every item (an item view may not use them; ``id`` is the item's own)."""

ItemView = Callable[[Any, str], Any]
"""``view(item, locale)``: the fields an item shows in responses, as a msgspec Struct, a dataclass or a mapping."""


def fields_view(item: Any, locale: str) -> Any:
    """The default item view: the item's own fields as they are (a Struct, a dataclass or a mapping)."""
    return item


def _all_text(item: Any) -> str:
    """Every text of an item (strings, and strings inside its mappings and lists), for the default search."""
    texts: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for nested in value.values():
                collect(nested)
        elif isinstance(value, (list, tuple)):
            for nested in value:
                collect(nested)

    collect(msgspec.to_builtins(item))
    return " ".join(texts)


class ProductView(msgspec.Struct, frozen=True, kw_only=True):
    """How a :class:`Product` appears in ``GET /api/v1/catalog`` (besides ``id``, ``position``, ``score``,
    ``reasons``): its name and category in the response's locale, and the facts the demo shows."""

    name: str
    """Name in the response's locale."""
    category: str
    """Category key."""
    category_label: str
    """Category name in the response's locale."""
    brand: str
    """Brand."""
    brand_size: str
    """``small`` or ``large``."""
    eco_certified: bool
    """Has an eco certificate."""
    eco_score: int
    """Sustainability score 0..100."""
    price: float
    """Price."""
    currency: str
    """ISO 4217 currency."""
    rating: float
    """Shopper rating 0..5."""
    popularity: int
    """Recent orders (the neutral order)."""


def category_label(category: str, locale: str, labels: Mapping[str, Mapping[str, str]] = CATEGORY_LABELS) -> str:
    """A category's name in ``locale`` (then English, then the key itself)."""
    names = labels.get(category, {})
    return names.get(locale) or names.get("en") or category


def product_view(product: Product, locale: str) -> ProductView:
    """:class:`ProductView` of ``product`` in ``locale``."""
    return ProductView(
        name=product.display_name(locale), category=product.category,
        category_label=category_label(product.category, locale), brand=product.brand,
        brand_size=product.brand_size, eco_certified=product.eco_certified, eco_score=product.eco_score,
        price=product.price, currency=product.currency, rating=product.rating, popularity=product.popularity)


def _product_text(product: Product) -> str:
    return " ".join([*product.name.values(), product.brand, *product.material.values()])


@dataclass(frozen=True, slots=True, eq=False)
class Catalog(Generic[Item]):
    """A shop's items prepared for querying: by id, by category, by text, and ranked (:class:`RankingIndex`).

    The item contract: an item is any object with its attributes as Python attributes (a msgspec Struct, a
    dataclass) or as mapping keys, with a unique string ``id``; the attributes the registry's filters and
    sliders name (``applies_to``) and the neutral attribute (``popularity`` by default) are read by the
    ranking; a ``category`` attribute (optional) feeds ``?category=``. Build one with :meth:`from_items`
    (a shop's items) or :meth:`from_products` (the demo's :class:`Product`).
    """

    index: RankingIndex[Item]
    """The items in neutral order, with ranking columns."""
    by_id: dict[str, Item]
    """Item by id."""
    categories: tuple[str, ...]
    """Categories present, in first-seen neutral order."""
    view: ItemView
    """``view(item, locale)``: the item's fields in responses."""
    view_type: type | None
    """The type ``view`` returns, if it has one (documents the item's fields in the OpenAPI schema)."""
    attribute_words: Mapping[str, AttributeWords]
    """How numeric attributes read in reasons ("lower price"); others read as their names."""
    category_labels: Mapping[str, Mapping[str, str]]
    """Category names per locale (``category_label`` in responses falls back to the key)."""
    category_attribute: str
    """The attribute ``?category=`` selects on."""
    _search_text: tuple[str, ...]
    """Per index position, the folded texts a search matches."""
    _selections: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    """Recent selections (insertion order: the oldest goes first)."""
    _selections_lock: Lock = field(default_factory=Lock)

    @classmethod
    def from_items(cls, items: Iterable[Item], *, view: ItemView = fields_view, view_type: type | None = None,
                   search: Callable[[Item], str] | None = None,
                   attribute_words: Mapping[str, AttributeWords] | None = None,
                   category_labels: Mapping[str, Mapping[str, str]] | None = None,
                   category_attribute: str = "category", neutral_attribute: str = "popularity") -> Catalog[Item]:
        """A catalog of a shop's own ``items`` (see the item contract above).

        ``view`` gives an item's response fields (default: the item's own fields); ``search`` its searchable
        text (default: every text in it); ``attribute_words`` and ``category_labels`` the wording of reasons
        and categories. A missing or duplicate id, or a view using a field prefkit adds
        (:data:`RESERVED_FIELDS`), is a ``ValueError`` here rather than a broken response later.
        """
        listed = list(items)
        index = RankingIndex(listed, neutral_attribute=neutral_attribute)
        ids = [index.value(item, "id") for item in listed]
        missing = [n for n, item_id in enumerate(ids) if not isinstance(item_id, str) or not item_id]
        if missing:
            raise ValueError(f"catalog items need a non-empty string id; items {missing[:5]} have "
                             f"{[ids[n] for n in missing[:5]]!r}")
        if len(set(ids)) != len(ids):
            duplicates = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate product ids: {duplicates[:5]}")
        if listed:
            _check_view(view(index.items[0], "en"), view_type)
        text = search or _all_text
        search_text = tuple(fold_text(text(item)) for item in index.items)
        categories = tuple(dict.fromkeys(value for value in index.column(category_attribute)
                                         if isinstance(value, str)))
        return cls(index=index, by_id=dict(zip(ids, listed)), categories=categories, view=view,
                   view_type=view_type, attribute_words=attribute_words or {}, category_labels=category_labels or {},
                   category_attribute=category_attribute, _search_text=search_text)

    @classmethod
    def from_products(cls, products: Iterable[Product]) -> Catalog[Product]:
        """A catalog of demo :class:`Product` items (what :func:`sample_catalog` and :func:`load_catalog` use)."""
        return cls.from_items(  # type: ignore[return-value]
            products, view=product_view, view_type=ProductView, search=_product_text,  # type: ignore[arg-type]
            attribute_words=ATTRIBUTE_WORDS, category_labels=CATEGORY_LABELS)

    def __len__(self) -> int:
        return len(self.index)

    def id_of(self, item: Item) -> str:
        """An item's id."""
        return self.index.value(item, "id")  # type: ignore[no-any-return]

    def category_label(self, category: str, locale: str) -> str:
        """A category's name in ``locale`` (then English, then the key itself)."""
        return category_label(category, locale, self.category_labels)

    def selection_key(self, *, query: str | None = None, category: str | None = None) -> tuple[Any, ...] | None:
        """What identifies a selection: the folded search words and the category (``None``: everything)."""
        words = tuple(fold_text(query).split()) if query else ()
        if not words and category is None:
            return None
        return (words, category)

    def select(self, *, query: str | None = None, category: str | None = None) -> list[int] | None:
        """Index positions matching a text query (every word must occur) and a category, in neutral order.

        ``None`` means "everything" (no narrowing asked), which spares building a full position list. The last
        :data:`SELECTION_CACHE_SIZE` selections are kept: a live listing repeats its query on every change.
        """
        key = self.selection_key(query=query, category=category)
        if key is None:
            return None
        cached = self._selections.get(key)
        if cached is not None:
            return cached
        words, _ = key
        positions: Sequence[int] = range(len(self.index))
        if category is not None:
            column = self.index.column(self.category_attribute)
            positions = [i for i in positions if column[i] == category]
        if words:
            text = self._search_text
            positions = [i for i in positions if all(word in text[i] for word in words)]
        selected = list(positions)
        with self._selections_lock:
            self._selections[key] = selected
            while len(self._selections) > SELECTION_CACHE_SIZE:
                self._selections.pop(next(iter(self._selections)))
        return selected


def _check_view(sample: Any, view_type: type | None) -> None:
    if isinstance(view_type, type) and issubclass(view_type, msgspec.Struct):
        names = {f.encode_name for f in msgspec.structs.fields(view_type)}
    else:
        built = msgspec.to_builtins(sample)
        if not isinstance(built, dict):
            raise ValueError(f"an item view must give the item's fields (a Struct, a dataclass or a mapping), "
                             f"got {type(sample).__qualname__}")
        names = set(built)
    clash = sorted(names & RESERVED_FIELDS)
    if clash:
        raise ValueError(f"item fields {clash} clash with the fields prefkit adds to every item "
                         f"({sorted(RESERVED_FIELDS)}): rename them in the catalog's item view")


def load_catalog(path: str | Path) -> Catalog:
    """A catalog from a JSON file holding a list of :class:`Product` objects (validated)."""
    data = Path(path).read_bytes()
    return Catalog.from_products(msgspec.json.decode(data, type=list[Product]))


@cache
def sample_catalog() -> Catalog:
    """The bundled demo catalog (:data:`SAMPLE_SIZE` products from :data:`SAMPLE_SEED`), built once."""
    return Catalog.from_products(generate_products(SAMPLE_SIZE))
