"""Looking up merchant texts by locale, with the default-locale fallback."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["localize", "localize_list", "negotiate_locale"]


def localize(text: str | dict[str, str] | None, locale: str, default_locale: str) -> str | None:
    """The text in ``locale``; the default locale's when that translation is missing."""
    if text is None or isinstance(text, str):
        return text
    return text.get(locale) or text.get(default_locale) or next(iter(text.values()), None)


def localize_list(
    items: list[str] | dict[str, list[str]] | None, locale: str, default_locale: str
) -> list[str]:
    """A translated list (e.g. data categories) in ``locale``, falling back like :func:`localize`."""
    if items is None:
        return []
    if isinstance(items, list):
        return list(items)
    chosen = items.get(locale) or items.get(default_locale) or next(iter(items.values()), [])
    return list(chosen)


def negotiate_locale(
    requested: str | None, accept_language: str | None, supported: Sequence[str], default: str
) -> str:
    """Pick a supported locale: an explicit request first, then ``Accept-Language`` by quality, then default.

    ``pl-PL`` matches ``pl``; unknown or malformed entries are skipped rather than rejected, since
    browsers send all sorts of headers and the page must render anyway.
    """
    for candidate in _candidates(requested, accept_language):
        tag = candidate.strip().lower()
        for variant in (tag, tag.split("-", 1)[0]):
            if variant in supported:
                return variant
    return default


def _candidates(requested: str | None, accept_language: str | None) -> Iterable[str]:
    if requested:
        yield requested
    if not accept_language:
        return
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        lang, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if lang and lang != "*" and quality > 0:
            weighted.append((-quality, index, lang))
    for _, _, lang in sorted(weighted):
        yield lang
