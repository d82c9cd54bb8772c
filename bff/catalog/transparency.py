"""The recommender transparency statement (EU Digital Services Act, Art. 27): which signals the ranking
uses, how each of the shopper's controls changes it, and how to get the neutral (non-profiled) order in one
action — in plain Polish and English, generated from the live registry and the ranking rules, never
hand-written, so it changes whenever the registry does.

``GET /api/v1/transparency?locale=pl`` serves it (public: it says nothing about the caller), and the demo
shows it at ``/demo/transparency``, linked from the listing where the ranking happens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.params import Parameter

from bff.api.context import request_locale, service_of
from bff.kinds import rank_weights
from preference_registry import RegistrySnapshot

from .data import ATTRIBUTE_WORDS
from .explain import AttributeWords, ReasonTexts
from .query import ranker_of
from .ranking import DISCOVERY_MAX_SHARE, rank_candidates

__all__ = [
    "TRANSPARENCY_PATH",
    "NeutralAction",
    "StatementItem",
    "TransparencyStatement",
    "create_transparency_router",
    "statement_for",
    "transparency_statement",
]

TRANSPARENCY_PATH = "/api/v1/transparency"

_TEXTS: Mapping[str, Mapping[str, str]] = {
    "en": {
        "title": "How we order products",
        "intro": "{shop} orders its product list by the rules below. They use only the choices listed here, "
                 "and only while you allow it; nothing else about you is used.",
        "intro_shop_engine": "{shop} orders its product list with its own ranking engine. It receives only "
                             "the "
                             "choices listed here (your profile) and must apply them as described.",
        "popularity": "Popularity with all shoppers — the same for everyone, not about you — always counts: "
                      "it decides the neutral order and breaks ties.",
        "requires": " It counts only while you allow {consents}.",
        "filter.include": "{title}: when you choose options, only matching products are shown.",
        "filter.exclude": "{title}: products matching your choice are hidden.",
        "filter.prefer": "{title}: products matching your choice move up; nothing is hidden.",
        "slider.personalization": "{title}: how much your choices count. At its lowest the order is neutral: "
                                  "most popular first.",
        "slider.balance": "{title}: moves the weight between {low} and {high}.",
        "slider.weight": "{title}: the higher you set it, the more {high} counts.",
        "slider.discovery": "{title}: the higher you set it, the more positions (up to one in {every}) go to "
                            "popular products outside your usual choices, against the filter bubble; hard "
                            "filters you chose still apply. At its lowest it changes nothing.",
        "priorities": "{title}: you put {criteria} in order; the first counts most. Each place counts one "
                      "step "
                      "less than the one above it (rank-based weights: {weights}). Criteria you leave out do "
                      "not count.",
        "consent.recommendations": "{title}: without this consent none of your choices is used for the "
                                   "order: "
                                   "it is neutral (most popular first).",
        "neutral_consent": "For the neutral order, not based on anything about you: switch off {title}. One "
                           "switch, and you can switch it back on at any time.",
        "neutral_slider": "For the neutral order, not based on anything about you: set {title} to its lowest "
                          "value.",
        "neutral_none": "This shop has no switch that turns personal ranking off: the order is neutral (most "
                        "popular first) while you make none of the choices above.",
        "action_consent": "Switch off {title}",
        "action_slider": "Set {title} to its lowest value",
    },
    "pl": {
        "title": "Jak układamy kolejność produktów",
        "intro": "{shop} układa listę produktów według zasad opisanych niżej. Korzystają one tylko z "
                 "wymienionych "
                 "tu wyborów i tylko za Twoją zgodą; nic innego o Tobie nie jest używane.",
        "intro_shop_engine": "{shop} układa listę produktów własnym mechanizmem. Dostaje on tylko wymienione "
                             "tu "
                             "wybory (Twój profil) i musi je stosować tak, jak opisano.",
        "popularity": "Popularność wśród wszystkich klientów — taka sama dla każdego, nie dotyczy Ciebie — "
                      "liczy "
                      "się zawsze: wyznacza kolejność neutralną i rozstrzyga remisy.",
        "requires": " Liczy się tylko za Twoją zgodą: {consents}.",
        "filter.include": "{title}: gdy wybierzesz opcje, pokazujemy tylko pasujące produkty.",
        "filter.exclude": "{title}: produkty pasujące do Twojego wyboru są ukryte.",
        "filter.prefer": "{title}: produkty pasujące do Twojego wyboru są wyżej; nic nie jest ukrywane.",
        "slider.personalization": "{title}: jak bardzo liczą się Twoje wybory. Na minimum kolejność jest "
                                  "neutralna: najpierw najpopularniejsze.",
        "slider.balance": "{title}: przesuwa wagę między kryteriami: {low} i {high}.",
        "slider.weight": "{title}: im wyżej, tym bardziej liczy się kryterium: {high}.",
        "slider.discovery": "{title}: im wyżej, tym więcej miejsc (do jednego na {every}) dostają popularne "
                            "produkty spoza Twoich zwykłych wyborów — przeciw bańce filtrującej; wybrane "
                            "przez "
                            "Ciebie filtry nadal obowiązują. Na minimum nic nie zmienia.",
        "priorities": "{title}: ustawiasz w kolejności: {criteria}; pierwsze liczy się najbardziej. Każde "
                      "kolejne miejsce liczy się o jeden stopień mniej (wagi według miejsca: {weights}). "
                      "Pominięte kryteria się nie liczą.",
        "consent.recommendations": "{title}: bez tej zgody żaden Twój wybór nie wpływa na kolejność: jest "
                                   "neutralna (najpierw najpopularniejsze).",
        "neutral_consent": "Kolejność neutralna, niezależna od czegokolwiek o Tobie: wyłącz {title}. Jeden "
                           "przełącznik, który możesz w każdej chwili włączyć z powrotem.",
        "neutral_slider": "Kolejność neutralna, niezależna od czegokolwiek o Tobie: ustaw {title} na "
                          "minimum.",
        "neutral_none": "Ten sklep nie ma przełącznika wyłączającego personalizację: kolejność jest "
                        "neutralna "
                        "(najpierw najpopularniejsze), dopóki nie dokonasz żadnego z powyższych wyborów.",
        "action_consent": "Wyłącz {title}",
        "action_slider": "Ustaw {title} na minimum",
    },
}


class StatementItem(msgspec.Struct, frozen=True, kw_only=True):
    """One signal of the ranking, or one control of the shopper and what it does to the order."""

    key: str | None
    """Preference key (``None`` for a signal that is no preference: popularity)."""
    kind: str | None
    """Its kind (``filter``, ``slider``, ``priorities``, ``consent``)."""
    rule: str | None
    """What it does (``include``, ``balance``, ``discovery``...), as the registry declares it."""
    text: str
    """The plain-language sentence."""


class NeutralAction(msgspec.Struct, frozen=True, kw_only=True):
    """The one change that gives the neutral order: ``PUT /api/v1/preferences/{key}`` with ``value``."""

    key: str
    value: Any
    label: str
    """What a button doing it says."""


class TransparencyStatement(msgspec.Struct, frozen=True, kw_only=True):
    """The recommender transparency statement in one locale."""

    locale: str
    registry_version: str
    """The registry it was generated from (it changes with it)."""
    title: str
    intro: str
    signals: list[StatementItem]
    """What the ranking uses, the shopper's controls in display order."""
    neutral: str
    """How to get the neutral (non-profiled) order."""
    neutral_action: NeutralAction | None
    """The one action that gives it, when the registry declares one."""


def _text(locale: str) -> Callable[..., str]:
    table = _TEXTS.get(locale) or _TEXTS["en"]

    def text(message_id: str, **values: Any) -> str:
        return (table.get(message_id) or _TEXTS["en"][message_id]).format(**values)

    return text


def _fraction(weights: list[float]) -> str:
    n = len(weights)
    denominator = n * (n + 1) // 2
    return ", ".join(f"{n - i}/{denominator}" for i in range(n))


@dataclass(frozen=True, slots=True)
class _Said:
    """What one preference contributes to the statement; ``neutral``: it is a way to the neutral order."""

    rule: str | None
    text: str
    neutral: tuple[NeutralAction, str] | None = None


@dataclass(frozen=True, slots=True)
class _Words:
    """The statement's wording helpers in one locale."""

    snapshot: RegistrySnapshot
    locale: str
    t: Callable[..., str]
    reasons: ReasonTexts

    def title(self, pref: Any) -> str:
        return self.reasons.quote(self.snapshot.text(pref.title, self.locale) or pref.key, self.locale)

    def quality(self, criterion: Any) -> str:
        return self.reasons.quality(criterion.attribute, criterion.prefer, self.locale) if criterion else ""


def _consent(w: _Words, pref: Any) -> _Said | None:
    if pref.purpose != "recommendations" or not pref.switchable:
        return None  # other purposes do not touch the order
    action = NeutralAction(key=pref.key, value=False, label=w.t("action_consent", title=w.title(pref)))
    return _Said("recommendations", w.t("consent.recommendations", title=w.title(pref)),
                 (action, w.t("neutral_consent", title=w.title(pref))))


def _filter(w: _Words, pref: Any) -> _Said | None:
    if pref.applies_to is None:
        return None
    return _Said(pref.applies_to.rule, w.t(f"filter.{pref.applies_to.rule}", title=w.title(pref)))


def _slider(w: _Words, pref: Any) -> _Said | None:
    effect = pref.applies_to
    if effect is None:
        return None
    text = w.t(f"slider.{effect.rule}", title=w.title(pref), low=w.quality(effect.low),
               high=w.quality(effect.high), every=round(1 / DISCOVERY_MAX_SHARE))
    neutral = None
    if effect.rule == "personalization":
        action = NeutralAction(key=pref.key, value=pref.min, label=w.t("action_slider", title=w.title(pref)))
        neutral = (action, w.t("neutral_slider", title=w.title(pref)))
    return _Said(effect.rule, text, neutral)


def _priorities(w: _Words, pref: Any) -> _Said | None:
    labels = [w.reasons.quote(w.snapshot.text(c.label, w.locale) or c.key, w.locale) for c in pref.criteria]
    # The weights of a full order (a shorter one shares the same total the same way).
    weights = _fraction(rank_weights(len(pref.criteria)))
    return _Said("order", w.t("priorities", title=w.title(pref), criteria=", ".join(labels), weights=weights))


_KIND_STATEMENTS: Mapping[str, Callable[[_Words, Any], _Said | None]] = {
    "consent": _consent,
    "filter": _filter,
    "slider": _slider,
    "priorities": _priorities,
}
"""Per preference kind (``pref.kind``), what it says about the ordering (``None``: nothing, it does not touch
the order). A kind without an entry is not silently left out: :func:`transparency_statement` refuses it."""


def transparency_statement(snapshot: RegistrySnapshot, locale: str, *, reference: bool = True,
                           attributes: Mapping[str, AttributeWords] | None = None) -> TransparencyStatement:
    """The statement for ``snapshot`` in ``locale``; ``reference``: the ranking is prefkit's own engine (else
    a shop's engine bound by the same profile contract)."""
    t = _text(locale)
    reasons = ReasonTexts(snapshot, ATTRIBUTE_WORDS if attributes is None else attributes)
    w = _Words(snapshot, locale, t, reasons)
    items = [StatementItem(key=None, kind=None, rule="popularity", text=t("popularity"))]
    neutral: tuple[NeutralAction, str] | None = None
    for pref in snapshot.preferences:
        said = _KIND_STATEMENTS[pref.kind](w, pref)  # KeyError for a kind the statement cannot describe
        if said is None:
            continue
        names = [w.title(consent) for key in pref.requires if (consent := snapshot.get(key)) is not None]
        needs = t("requires", consents=", ".join(names)) if names else ""
        items.append(StatementItem(key=pref.key, kind=pref.kind, rule=said.rule, text=said.text + needs))
        neutral = neutral or said.neutral
    intro = t("intro" if reference else "intro_shop_engine", shop=snapshot.shop.name)
    action, how = neutral if neutral is not None else (None, t("neutral_none"))
    return TransparencyStatement(locale=locale, registry_version=snapshot.version, title=t("title"),
                                 intro=intro, signals=items, neutral=how, neutral_action=action)


def statement_for(request: Request[Any, Any, Any], locale: str | None) -> TransparencyStatement:
    """The statement of the app's live registry in the request's locale."""
    snapshot = service_of(request).registry.current
    chosen = request_locale(request, locale)
    reference = ranker_of(request.app.state) is rank_candidates
    return transparency_statement(snapshot, chosen, reference=reference)


@get(TRANSPARENCY_PATH, summary="Recommender transparency statement (DSA Art. 27) of the live registry",
     tags=["catalog"])
async def transparency(request: Request[Any, Any, Any],
                       locale: Annotated[str | None, Parameter(max_length=35)] = None
                       ) -> Response[TransparencyStatement]:
    """Which signals the ranking uses, how each control changes it and how to get the neutral order."""
    statement = statement_for(request, locale)
    # Public and the same for everyone (no subject): revalidated, so a registry change shows at once.
    return Response(statement, headers={"Cache-Control": "public, no-cache", "Vary": "Accept-Language"})


def create_transparency_router() -> Router:
    """``GET /api/v1/transparency``."""
    return Router(path="/", route_handlers=[transparency])
