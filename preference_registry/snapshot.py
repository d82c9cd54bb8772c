"""An activated registry: immutable, content-hashed, with per-type text hashes and fast lookups."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Mapping

import msgspec

from .errors import RegistryIssue, RegistryLoadError
from .experiments import assign, variant_hash, variant_preference
from .i18n import localize, localize_list
from .loader import Format, decode_document, parse_text
from .kinds import localized_texts, wording
from .schema import ConsentType, PreferenceType, RegistryDocument, Section, default_value
from .validate import validate_document
from .values import validate_value, value_json_schema, value_type

__all__ = ["INTERNAL_ERROR", "RegistrySnapshot", "build_snapshot", "load_registry", "text_hash"]

logger = logging.getLogger("prefkit.registry")

INTERNAL_ERROR = "the registry could not be checked (an internal error of prefkit, logged)"
"""Message of the issue reported when the checks themselves fail; never expected, tests look for it."""
_encoder = msgspec.json.Encoder(order="sorted")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def text_hash(pref: PreferenceType) -> str:
    """Hash of everything the shopper reads about ``pref``, in every locale (see
    :func:`~preference_registry.kinds.wording`), and of the terms that change what they agree to.

    A wording change of one type changes only that type's hash, so stale consents are detected per type.
    Stored ledgers hold these hashes: the encoding must never change for an unchanged wording.
    """
    return _digest(_encoder.encode(wording(pref)))


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """One registry version, as activated. Never mutated: a reload builds a new snapshot."""

    document: RegistryDocument
    """The decoded, validated document."""
    version: str
    """Content hash of the normalized document (same content in TOML or JSON -> same version)."""
    source_text: str
    """The document exactly as submitted, kept so any decision's wording can be shown again."""
    format: Format
    """``toml``, ``yaml`` or ``json``."""
    source: str | None
    """File name or origin."""
    warnings: tuple[RegistryIssue, ...]
    """Non-fatal issues (missing translations...)."""
    text_hashes: Mapping[str, str]
    """Per preference key, the hash of its shopper-visible text."""
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    """When this snapshot was built."""
    _by_key: Mapping[str, PreferenceType] = field(default_factory=dict, repr=False)
    _ordered: tuple[PreferenceType, ...] = field(default=(), repr=False)
    # Per-subject views (experiment arms -> snapshot) and variant wordings (key, hash -> pref), built on
    # first use; a derived view has no experiments of its own to apply (``_derived_from`` is its base).
    _views: dict[tuple[tuple[str, str], ...], RegistrySnapshot] = field(default_factory=dict, repr=False,
                                                                         compare=False)
    _wordings: dict[str, dict[str, PreferenceType]] = field(default_factory=dict, repr=False, compare=False)
    _derived_from: RegistrySnapshot | None = field(default=None, repr=False, compare=False)

    # -- lookups --------------------------------------------------------------------------------
    @property
    def shop(self):  # noqa: ANN201 - ShopSettings; kept short for templates
        return self.document.shop

    @property
    def default_locale(self) -> str:
        return self.document.shop.default_locale

    @property
    def locales(self) -> list[str]:
        return list(self.document.shop.locales)

    @property
    def preferences(self) -> tuple[PreferenceType, ...]:
        """Preference types in display order: by section order, then ``order``, then file order."""
        return self._ordered

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def get(self, key: str) -> PreferenceType | None:
        return self._by_key.get(key)

    def consents(self) -> list[ConsentType]:
        return [pref for pref in self._ordered if isinstance(pref, ConsentType)]

    def sections(self) -> Iterator[tuple[Section | None, list[PreferenceType]]]:
        """``(section, types)`` in display order; types in no section come last, as ``(None, types)``.

        A section that is used but not declared (accepted when the file declares none) is yielded as a
        ``Section`` whose title is its key, so every group has its own identity: two undeclared sections
        are two groups with two headings, never one shared "other" group.
        """
        declared = {section.key: section for section in self.document.sections}
        groups: dict[str | None, list[PreferenceType]] = {}
        for pref in self._ordered:
            groups.setdefault(pref.section, []).append(pref)
        for key, prefs in groups.items():
            if key is None:
                yield None, prefs
            else:
                yield declared.get(key) or Section(key=key, title=key), prefs

    # -- values ---------------------------------------------------------------------------------
    def default_value(self, key: str) -> Any:
        return default_value(self._by_key[key])

    def validate_value(self, key: str, raw: Any) -> Any:
        return validate_value(self._by_key[key], raw)

    def value_type(self, key: str) -> Any:
        return value_type(self._by_key[key])

    def value_schema(self, key: str) -> dict[str, Any]:
        return value_json_schema(self._by_key[key])

    # -- text -----------------------------------------------------------------------------------
    def text(self, value: Any, locale: str) -> str | None:
        return localize(value, locale, self.default_locale)

    def text_list(self, value: Any, locale: str) -> list[str]:
        return localize_list(value, locale, self.default_locale)

    def text_hash(self, key: str) -> str:
        return self.text_hashes[key]

    # -- experiments ----------------------------------------------------------------------------
    def for_subject(self, subject: str, now: datetime) -> RegistrySnapshot:
        """This version as ``subject`` sees it at ``now``: each type with a running experiment replaced by
        the subject's arm (its texts and default) and hashed as that arm (``text_hash``), so what is shown,
        what is recorded and what is proven are the same wording. The same object for the same arms (views
        are cached, so per-snapshot caches keep working); ``self`` when no experiment runs."""
        base = self._derived_from or self
        experiments = base.document.experiments
        if not experiments:
            return base
        arms = tuple((e.key, assign(e, subject).key) for e in experiments
                     if e.running(now) and e.preference in base._by_key)
        if not arms:
            return base
        view = base._views.get(arms)
        if view is None:
            view = base._views[arms] = base._view(dict(arms))
        return view

    def _view(self, arms: Mapping[str, str]) -> RegistrySnapshot:
        replaced: dict[str, PreferenceType] = {}
        hashes = dict(self.text_hashes)
        for experiment in self.document.experiments:
            if experiment.key not in arms:
                continue
            variant = next(v for v in experiment.variants if v.key == arms[experiment.key])
            pref = self._by_key[experiment.preference]
            replaced[pref.key] = variant_preference(pref, variant)
            hashes[pref.key] = variant_hash(pref, experiment, variant, self.text_hashes[pref.key])
        document = msgspec.structs.replace(
            self.document, preferences=[replaced.get(p.key, p) for p in self.document.preferences])
        return RegistrySnapshot(document=document, version=self.version, source_text=self.source_text,
                                format=self.format, source=self.source, warnings=self.warnings,
                                text_hashes=MappingProxyType(hashes), loaded_at=self.loaded_at,
                                _by_key=MappingProxyType({p.key: p for p in document.preferences}),
                                _ordered=tuple(replaced.get(p.key, p) for p in self._ordered),
                                _derived_from=self)

    def wording_for(self, key: str, text_hash: str) -> PreferenceType | None:
        """The declaration of ``key`` whose wording hashes to ``text_hash`` in this version: the type as
        declared, or the experiment arm a shopper saw; ``None`` when neither matches (proof of consent uses
        this to show the variant text a decision was made under)."""
        base = self._derived_from or self
        pref = base._by_key.get(key)
        if pref is None:
            return None
        if base.text_hashes[key] == text_hash:
            return pref
        wordings = base._wordings.get(key)
        if wordings is None:
            wordings = {}
            for experiment in base.document.experiments:
                if experiment.preference == key:
                    for variant in experiment.variants:
                        wordings[variant_hash(pref, experiment, variant, base.text_hashes[key])] = \
                            variant_preference(pref, variant)
            base._wordings[key] = wordings
        return wordings.get(text_hash)

    def localized_texts(self, pref: PreferenceType, locale: str) -> dict[str, Any]:
        """Every shopper text of ``pref`` in ``locale`` (see
        :func:`~preference_registry.kinds.localized_texts`): what a preference center shows and an export
        says the shopper read."""
        return localized_texts(pref, locale, self.default_locale)


def _display_order(doc: RegistryDocument) -> tuple[PreferenceType, ...]:
    section_rank = {s.key: (s.order, i) for i, s in enumerate(doc.sections)}
    first_seen: dict[str | None, int] = {}
    for index, pref in enumerate(doc.preferences):
        first_seen.setdefault(pref.section, index)

    def rank(item: tuple[int, PreferenceType]) -> tuple[Any, ...]:
        index, pref = item
        if pref.section is None:
            group: tuple[int, ...] = (2, 0, 0)  # no section: after every section
        elif pref.section in section_rank:
            group = (0, *section_rank[pref.section])
        else:
            group = (1, first_seen[pref.section], 0)  # undeclared: after declared ones, by first use
        return (*group, pref.order, index)

    return tuple(pref for _, pref in sorted(enumerate(doc.preferences), key=rank))


def build_snapshot(doc: RegistryDocument, *, source_text: str, fmt: Format, source: str | None,
                   warnings: list[RegistryIssue]) -> RegistrySnapshot:
    """A snapshot of an already validated document."""
    return RegistrySnapshot(
        document=doc,
        version=_digest(_encoder.encode(doc)),
        source_text=source_text,
        format=fmt,
        source=source,
        warnings=tuple(warnings),
        text_hashes=MappingProxyType({pref.key: text_hash(pref) for pref in doc.preferences}),
        _by_key=MappingProxyType({pref.key: pref for pref in doc.preferences}),
        _ordered=_display_order(doc),
    )


def load_registry(text: str, fmt: Format, source: str | None = None) -> RegistrySnapshot:
    """Parse, decode and validate a registry document; :class:`RegistryLoadError` lists every error.

    Whatever ``text`` holds, :class:`RegistryLoadError` is the only exception this raises: the parse is
    bounded (see :func:`~preference_registry.loader.parse_text`), and a defect of the checks themselves is
    logged and reported as an error of the document rather than escaping into a request or the watcher.
    """
    raw = parse_text(text, fmt, source)
    try:
        decoded = decode_document(raw, source)
        issues = list(decoded.issues)
        if decoded.document is not None:
            issues += validate_document(decoded.document, source=source,
                                        preference_indices=decoded.preference_indices,
                                        section_indices=decoded.section_indices,
                                        unreadable=decoded.unreadable,
                                        experiment_indices=decoded.experiment_indices)
        if decoded.document is None or any(issue.severity == "error" for issue in issues):
            raise RegistryLoadError(issues, source)
        return build_snapshot(decoded.document, source_text=text, fmt=fmt, source=source, warnings=issues)
    except RegistryLoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - last resort, see the docstring
        logger.exception("checking registry %s failed unexpectedly", source or "document")
        issue = RegistryIssue(path="", message=f"{INTERNAL_ERROR}: {type(exc).__name__}", source=source)
        raise RegistryLoadError([issue], source) from exc
