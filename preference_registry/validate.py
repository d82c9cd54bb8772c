"""Rules a type system cannot express: references, ranges, GDPR defaults, translations, cycles.

The rules of one kind (ranges, GDPR defaults, option keys) live in its module of
:mod:`preference_registry.kinds` and run through :attr:`Kind.check <preference_registry.kinds.Kind.check>`;
this module runs them, and the rules across the document (keys, sections, translations, requirements).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import RegistryIssue
from .experiments import check_experiments
from .insights import check_insights
from .grid import is_on_step
from .kinds import kind_of, shopper_texts
from .schema import ConsentType, PreferenceType, RegistryDocument

__all__ = ["is_on_step", "validate_document"]


def validate_document(
    doc: RegistryDocument,
    *,
    source: str | None = None,
    preference_indices: Sequence[int] | None = None,
    section_indices: Sequence[int] | None = None,
    unreadable: Mapping[str, frozenset[str]] | None = None,
    experiment_indices: Sequence[int] | None = None,
) -> list[RegistryIssue]:
    """Every semantic error and warning of ``doc``.

    The index sequences map positions in ``doc`` to positions in the file, for documents assembled from
    the parts that decoded when other parts did not (so paths still point at the right table).
    ``unreadable`` names, per part, the fields that did not decode (they are ``None`` in ``doc``): each rule
    runs when the fields it reads are readable, and is skipped otherwise rather than run on a guess.
    """
    checker = _Checker(doc, source, preference_indices, section_indices, unreadable or {})
    checker.experiment_index = list(experiment_indices or range(len(doc.experiments)))
    return list(checker.run())


def _chain(keys: list[str]) -> str:
    """A dependency chain for a message, shortened when it is long (a cycle may run through thousands)."""
    if len(keys) <= 8:
        return " -> ".join(keys)
    return " -> ".join(keys[:4]) + f" -> ... ({len(keys) - 7} more) -> " + " -> ".join(keys[-3:])


class _Checker:
    """One run over a document; the :class:`~preference_registry.kinds.CheckContext` of the kinds' checks."""

    def __init__(self, doc: RegistryDocument, source: str | None, preference_indices: Sequence[int] | None,
                 section_indices: Sequence[int] | None, unreadable: Mapping[str, frozenset[str]]) -> None:
        self.doc = doc
        self.source = source
        self.pref_index = list(preference_indices or range(len(doc.preferences)))
        self.section_index = list(section_indices or range(len(doc.sections)))
        self.unreadable = unreadable
        self.default_locale = doc.shop.default_locale
        self.locales = list(doc.shop.locales or [])
        # Translations are checked against the shop's locales: only when those could be read.
        self.locales_known = self.readable("shop", "default_locale", "locales")
        self.section_keys_known = all(self.readable(f"sections[{i}]", "key") for i in self.section_index)
        self.experiment_index: list[int] | None = None  # file positions of doc.experiments (None: as is)

    def readable(self, part: str, *fields: str) -> bool:
        """Whether every one of ``fields`` of ``part`` (and everything inside them) was read."""
        broken = self.unreadable.get(part)
        if not broken:
            return True
        return not any(path == name or path.startswith((f"{name}.", f"{name}["))
                       for path in broken for name in fields)

    def issue(self, path: str, message: str, expected: Any = None, got: Any = None,
              severity: str = "error") -> RegistryIssue:
        return RegistryIssue(path=path, message=message, severity=severity,  # type: ignore[arg-type]
                             expected=None if expected is None else str(expected),
                             got=None if got is None else str(got), source=self.source)

    def run(self) -> Iterator[RegistryIssue]:
        yield from self.check_shop()
        yield from self.check_sections()
        by_key: dict[str, tuple[str, PreferenceType]] = {}
        entries: list[tuple[str, PreferenceType]] = []
        for position, pref in enumerate(self.doc.preferences):
            path = f"preferences[{self.pref_index[position]}]"
            entries.append((path, pref))
            if pref.key is None:
                pass  # unreadable: reported by the structural pass
            elif pref.key in by_key:
                yield self.issue(f"{path}.key", f"duplicate key `{pref.key}`, first declared at "
                                 f"{by_key[pref.key][0]}", expected="a key used once", got=repr(pref.key))
            else:
                by_key[pref.key] = (path, pref)
            yield from self.check_texts(pref, path)
            yield from self.check_section_ref(pref, path)
            yield from kind_of(pref).check(self, pref, path)
        for kind in {kind_of(pref).name: kind_of(pref) for _, pref in entries}.values():
            yield from kind.check_all(self, [(path, pref) for path, pref in entries if pref.kind == kind.name])
        yield from self.check_requires(entries, by_key)
        yield from check_experiments(self, self.doc.experiments, by_key, self.check_text,
                                     self.experiment_index)
        if self.readable("insights", "conversion_purpose"):
            yield from check_insights(self, self.doc.insights,
                                      [pref for _, pref in entries if isinstance(pref, ConsentType)])

    # -- shop and sections -------------------------------------------------------------------------
    def check_shop(self) -> Iterator[RegistryIssue]:
        shop = self.doc.shop
        if self.locales_known and shop.default_locale not in shop.locales:
            yield self.issue("shop.default_locale", "the default locale must be one of `shop.locales`",
                             expected=" | ".join(shop.locales), got=repr(shop.default_locale))
        seen: set[str] = set()
        for index, locale in enumerate(self.locales):
            if locale is None:
                continue
            if locale in seen:
                yield self.issue(f"shop.locales[{index}]", f"locale `{locale}` is listed twice",
                                 expected="unique locales", got=repr(locale))
            seen.add(locale)

    def check_sections(self) -> Iterator[RegistryIssue]:
        seen: dict[str, str] = {}
        for position, section in enumerate(self.doc.sections):
            path = f"sections[{self.section_index[position]}]"
            if section.key is not None:
                if section.key in seen:
                    yield self.issue(f"{path}.key", f"duplicate section key `{section.key}`, first declared at "
                                     f"{seen[section.key]}", expected="a key used once", got=repr(section.key))
                seen.setdefault(section.key, path)
            yield from self.check_text(section.title, f"{path}.title")
            yield from self.check_text(section.description, f"{path}.description")

    def check_section_ref(self, pref: PreferenceType, path: str) -> Iterator[RegistryIssue]:
        if pref.section is None or not self.section_keys_known:
            return  # none declared, unreadable, or a section key unreadable (it may be the one meant)
        declared = [section.key for section in self.doc.sections]
        if pref.section not in declared:
            if declared:
                yield self.issue(f"{path}.section", f"unknown section `{pref.section}`",
                                 expected=" | ".join(declared), got=repr(pref.section))
            else:
                yield self.issue(f"{path}.section", f"section `{pref.section}` is not declared in "
                                 "[[sections]]; its heading falls back to the key", severity="warning")

    # -- translations ----------------------------------------------------------------------------
    def check_texts(self, pref: PreferenceType, path: str) -> Iterator[RegistryIssue]:
        for text in shopper_texts(pref):
            yield from self.check_text(text.text, f"{path}.{text.path}")

    def check_text(self, text: Any, path: str) -> Iterator[RegistryIssue]:
        if text is None or isinstance(text, (str, list)) or not self.locales_known:
            return  # a plain value is the default locale's text; None: absent or unreadable
        if not text:
            yield self.issue(path, "empty translation table", expected=f"at least `{self.default_locale}`",
                             got="{}")
            return
        for locale in text:
            if locale not in self.locales:
                yield self.issue(f"{path}.{locale}", f"locale `{locale}` is not one of the shop's locales",
                                 expected=" | ".join(self.locales), got=repr(locale))
        if self.default_locale not in text:
            yield self.issue(f"{path}.{self.default_locale}",
                             f"missing text in the default locale `{self.default_locale}`",
                             expected=f"a `{self.default_locale}` text", got="nothing")
        for locale in self.locales:
            if locale != self.default_locale and locale not in text:
                yield self.issue(f"{path}.{locale}", f"missing `{locale}` translation; shoppers reading "
                                 f"`{locale}` see the `{self.default_locale}` text", severity="warning")

    # -- dependencies ---------------------------------------------------------------------------
    def check_requires(self, entries: list[tuple[str, PreferenceType]],
                       by_key: dict[str, tuple[str, PreferenceType]]) -> Iterator[RegistryIssue]:
        for path, pref in entries:
            for index, required in enumerate(pref.requires or []):
                if required is None:
                    continue  # unreadable element
                target = by_key.get(required)
                if target is None:
                    yield self.issue(f"{path}.requires[{index}]", f"requires unknown key `{required}`",
                                     expected="the key of a consent in this registry", got=repr(required))
                elif not isinstance(target[1], ConsentType):
                    yield self.issue(f"{path}.requires[{index}]", f"`{required}` is a {target[1].kind}; only "
                                     "consents can be required", expected="a consent key",
                                     got=f"{target[1].kind} `{required}`")
        yield from self.check_cycles(by_key)

    def check_cycles(self, by_key: dict[str, tuple[str, PreferenceType]]) -> Iterator[RegistryIssue]:
        """Each dependency cycle once. Depth-first with an explicit stack: a ``requires`` chain thousands
        long is user data and must not exhaust the interpreter's recursion limit."""
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        reported: set[frozenset[str]] = set()

        def requirements(key: str) -> Iterator[str]:
            return (r for r in by_key[key][1].requires or [] if r is not None and r in by_key)

        for root in by_key:
            if root in state:
                continue
            trail = [root]
            position = {root: 0}
            state[root] = 1
            pending = [requirements(root)]
            while pending:
                required = next(pending[-1], None)
                if required is None:
                    pending.pop()
                    done = trail.pop()
                    del position[done]
                    state[done] = 2
                elif state.get(required) == 1:
                    cycle = trail[position[required]:] + [required]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        chain = _chain(cycle)
                        yield self.issue(f"{by_key[required][0]}.requires", f"dependency cycle: {chain}",
                                         expected="requirements without cycles", got=chain)
                elif required not in state:
                    state[required] = 1
                    position[required] = len(trail)
                    trail.append(required)
                    pending.append(requirements(required))
