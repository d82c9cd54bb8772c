"""The recommender transparency statement (EU Digital Services Act, Art. 27): which signals the ranking
uses, how each of the shopper's controls changes it, and how to get the neutral (non-profiled) order in one
action — in plain Polish and English, generated from the live registry and the ranking rules, never
hand-written, so it changes whenever the registry does.

``GET /api/v1/transparency?locale=pl`` serves it (public: it says nothing about the caller), and the demo
shows it at ``/demo/transparency``, linked from the listing where the ranking happens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def transparency_statement(snapshot: RegistrySnapshot, locale: str, *, reference: bool = True,
                           attributes: Mapping[str, AttributeWords] | None = None) -> TransparencyStatement:
    """The statement for ``snapshot`` in ``locale``; ``reference``: the ranking is prefkit's own engine (else
    a shop's engine bound by the same profile contract)."""
    t = _text(locale)
    words = ReasonTexts(snapshot, ATTRIBUTE_WORDS if attributes is None else attributes)

    def title(pref: Any) -> str:
        return words.quote(snapshot.text(pref.title, locale) or pref.key, locale)

    def requires(pref: Any) -> str:
        names = [title(consent) for key in pref.requires if (consent := snapshot.get(key)) is not None]
        return t("requires", consents=", ".join(names)) if names else ""

    items = [StatementItem(key=None, kind=None, rule="popularity", text=t("popularity"))]
    neutral: NeutralAction | None = None
    neutral_text = t("neutral_none")
    for pref in snapshot.preferences:
        kind, text, rule = pref.kind, None, None
        recommends = kind == "consent" and pref.purpose == "recommendations"  # type: ignore[union-attr]
        if recommends and pref.switchable:  # type: ignore[union-attr]
            rule, text = "recommendations", t("consent.recommendations", title=title(pref))
            if neutral is None:
                neutral = NeutralAction(key=pref.key, value=False,
                                        label=t("action_consent", title=title(pref)))
                neutral_text = t("neutral_consent", title=title(pref))
        elif kind == "filter" and pref.applies_to is not None:  # type: ignore[union-attr]
            rule = pref.applies_to.rule  # type: ignore[union-attr]
            text = t(f"filter.{rule}", title=title(pref))
        elif kind == "slider" and pref.applies_to is not None:  # type: ignore[union-attr]
            effect = pref.applies_to  # type: ignore[union-attr]
            rule = effect.rule

            def quality(criterion: Any) -> str:
                return words.quality(criterion.attribute, criterion.prefer, locale) if criterion else ""

            text = t(f"slider.{rule}", title=title(pref), low=quality(effect.low), high=quality(effect.high),
                     every=round(1 / DISCOVERY_MAX_SHARE))
            if rule == "personalization" and neutral is None:
                neutral = NeutralAction(key=pref.key, value=pref.min,  # type: ignore[union-attr]
                                        label=t("action_slider", title=title(pref)))
                neutral_text = t("neutral_slider", title=title(pref))
        elif kind == "priorities":
            labels = [words.quote(snapshot.text(c.label, locale) or c.key, locale)
                      for c in pref.criteria]  # type: ignore[union-attr]
            count = len(pref.default_value)  # type: ignore[union-attr]
            rule, text = "order", t("priorities", title=title(pref), criteria=", ".join(labels),
                                    weights=_fraction(rank_weights(count)))
        if text is not None:
            items.append(StatementItem(key=pref.key, kind=kind, rule=rule, text=text + requires(pref)))
    intro = t("intro" if reference else "intro_shop_engine", shop=snapshot.shop.name)
    return TransparencyStatement(locale=locale, registry_version=snapshot.version, title=t("title"),
                                 intro=intro, signals=items, neutral=neutral_text, neutral_action=neutral)


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
