"""Rules a type system cannot express: references, ranges, GDPR defaults, translations, cycles."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import RegistryIssue
from .grid import exact_range_limit, is_on_step
from .schema import (
    ConsentMechanism,
    ConsentType,
    FilterType,
    PreferenceType,
    RegistryDocument,
    SliderType,
)

__all__ = ["is_on_step", "validate_document"]


def validate_document(
    doc: RegistryDocument,
    *,
    source: str | None = None,
    preference_indices: Sequence[int] | None = None,
    section_indices: Sequence[int] | None = None,
    unreadable: Mapping[str, frozenset[str]] | None = None,
) -> list[RegistryIssue]:
    """Every semantic error and warning of ``doc``.

    The index sequences map positions in ``doc`` to positions in the file, for documents assembled from
    the parts that decoded when other parts did not (so paths still point at the right table).
    ``unreadable`` names, per part, the fields that did not decode (they are ``None`` in ``doc``): each rule
    runs when the fields it reads are readable, and is skipped otherwise rather than run on a guess.
    """
    checker = _Checker(doc, source, preference_indices, section_indices, unreadable or {})
    return list(checker.run())


def _chain(keys: list[str]) -> str:
    """A dependency chain for a message, shortened when it is long (a cycle may run through thousands)."""
    if len(keys) <= 8:
        return " -> ".join(keys)
    return " -> ".join(keys[:4]) + f" -> ... ({len(keys) - 7} more) -> " + " -> ".join(keys[-3:])


class _Checker:
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
            if isinstance(pref, ConsentType):
                yield from self.check_consent(pref, path)
            elif isinstance(pref, SliderType):
                yield from self.check_slider(pref, path)
            else:
                yield from self.check_filter(pref, path)
        yield from self.check_requires(entries, by_key)

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
        for name in ("title", "description", "data_used", "benefit"):
            yield from self.check_text(getattr(pref, name), f"{path}.{name}")
        if isinstance(pref, SliderType):
            for index, stop in enumerate(pref.stops or []):
                if stop is not None:
                    yield from self.check_text(stop.label, f"{path}.stops[{index}].label")
        if isinstance(pref, FilterType):
            for index, option in enumerate(pref.options or []):
                if option is not None:
                    yield from self.check_text(option.label, f"{path}.options[{index}].label")

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

    # -- kinds ----------------------------------------------------------------------------------
    def check_consent(self, pref: ConsentType, path: str) -> Iterator[RegistryIssue]:
        mechanism = pref.mechanism
        if mechanism is None:
            return  # unreadable: every rule here depends on it
        if pref.default is not None and pref.default != pref.default_value:
            if mechanism is ConsentMechanism.OPT_IN:
                message = "an opt_in consent can never default to on (GDPR: no pre-ticked consent)"
            elif mechanism is ConsentMechanism.OPT_OUT:
                message = "an opt_out consent starts on; use mechanism = \"opt_in\" for one that starts off"
            else:
                message = "notice_only processing is always on; it cannot default to off"
            yield self.issue(f"{path}.default", message, expected=str(pref.default_value).lower(),
                             got=str(pref.default).lower())
        if mechanism is ConsentMechanism.NOTICE_ONLY and pref.gpc:
            yield self.issue(f"{path}.gpc", "notice_only processing is not switchable, so a GPC signal "
                             "cannot turn it off", expected="false", got="true")
        if mechanism is ConsentMechanism.NOTICE_ONLY and pref.expires_after_days is not None:
            yield self.issue(f"{path}.expires_after_days", "notice_only processing is not consented to, "
                             "so it cannot expire", expected="nothing", got=str(pref.expires_after_days))

    def check_slider(self, pref: SliderType, path: str) -> Iterator[RegistryIssue]:
        # The grid (min, max, step) is what every value is checked against: without it, only the rules
        # that do not need it run.
        grid = self.readable(path, "min", "max", "step")
        if self.readable(path, "min", "max") and pref.min >= pref.max:
            yield self.issue(f"{path}.max", "max must be greater than min", expected=f"> {pref.min}",
                             got=pref.max)
            grid = False  # every other bound check would only repeat this one
        elif grid:
            # Integer grids are exact at any size. A float step finer than the spacing of floats at the
            # range's ends would make neighbouring values the same number (and step counts overflow).
            largest = max(abs(pref.min), abs(pref.max))
            finest = math.ulp(largest)
            limit, quantum = exact_range_limit(pref.min, pref.step)
            if not pref.is_integral and pref.step < finest:
                yield self.issue(f"{path}.step", f"step {pref.step} is finer than numbers near "
                                 f"{largest} can be told apart exactly",
                                 expected=f"a step of at least {finest!r}", got=pref.step)
                grid = False
            elif not pref.is_integral and largest >= limit:
                # Each step is a float apart, but some steps' floats would read back as another number
                # (0.3 steps near 1.5e15: 1499999999999999.7 is stored as 1499999999999999.8).
                yield self.issue(f"{path}.step", f"values from {pref.min} in steps of {pref.step} reach "
                                 f"{largest}, where a float cannot hold every step exactly",
                                 expected=f"|min| and |max| below {limit!r} for values in multiples of "
                                 f"{quantum}", got=pref.step)
                grid = False
            elif not is_on_step(pref.max, pref.min, pref.step):
                yield self.issue(f"{path}.step", f"step {pref.step} does not divide the range "
                                 f"{pref.min}..{pref.max}", expected=f"a divisor of {pref.max - pref.min}",
                                 got=pref.step)
        if grid and self.readable(path, "default"):
            yield from self.check_slider_value(pref, pref.default, f"{path}.default")
        if pref.page_step is not None and self.readable(path, "page_step", "step") \
                and not is_on_step(pref.page_step, 0, pref.step):
            yield self.issue(f"{path}.page_step", "page_step must be a whole number of steps",
                             expected=f"a multiple of {pref.step}", got=pref.page_step)
        seen: dict[float, int] = {}
        for index, stop in enumerate(pref.stops or []):
            if stop is None or stop.value is None:
                continue
            if grid:
                yield from self.check_slider_value(pref, stop.value, f"{path}.stops[{index}].value")
            if stop.value in seen:
                yield self.issue(f"{path}.stops[{index}].value", f"value {stop.value} already labelled at "
                                 f"stops[{seen[stop.value]}]", expected="one label per value", got=stop.value)
            seen.setdefault(stop.value, index)
        effect = pref.applies_to
        if effect is not None and effect.rule is not None:
            needs = {"balance": ("low", "high"), "weight": ("high",), "personalization": ()}[effect.rule]
            for end in needs:
                if getattr(effect, end) is None and self.readable(path, f"applies_to.{end}"):
                    yield self.issue(f"{path}.applies_to.{end}", f"rule `{effect.rule}` needs a `{end}` "
                                     "criterion", expected="{ attribute = ..., prefer = ... }", got="nothing")

    def check_slider_value(self, pref: SliderType, value: float, path: str) -> Iterator[RegistryIssue]:
        if not pref.min <= value <= pref.max:
            yield self.issue(path, "value outside the slider's range", expected=f"{pref.min}..{pref.max}",
                             got=value)
        elif not is_on_step(value, pref.min, pref.step):
            yield self.issue(path, "value is not on a step", expected=f"{pref.min} + n * {pref.step}",
                             got=value)

    def check_filter(self, pref: FilterType, path: str) -> Iterator[RegistryIssue]:
        seen: dict[str, int] = {}
        options = pref.options or []
        for index, option in enumerate(options):
            if option is None or option.key is None:
                continue
            if option.key in seen:
                yield self.issue(f"{path}.options[{index}].key", f"duplicate option key `{option.key}`, first "
                                 f"at options[{seen[option.key]}]", expected="unique option keys",
                                 got=repr(option.key))
            seen.setdefault(option.key, index)
        if not self.readable(path, "default", "multiple"):
            return
        default = pref.default
        if pref.multiple and isinstance(default, str):
            yield self.issue(f"{path}.default", "a multiple-choice filter's default is a list of option keys",
                             expected="list of option keys", got=repr(default))
            return
        if not pref.multiple and isinstance(default, list):
            yield self.issue(f"{path}.default", "a single-choice filter's default is one option key or none",
                             expected="one option key", got=repr(default))
            return
        chosen = [default] if isinstance(default, str) else list(default or [])
        # An option whose key could not be read may be the one the default names: no guess.
        keys_known = pref.options is not None and all(o is not None and o.key is not None for o in options)
        for index, key in enumerate(chosen):
            item_path = f"{path}.default[{index}]" if isinstance(default, list) else f"{path}.default"
            if keys_known and key not in seen:
                yield self.issue(item_path, f"`{key}` is not a declared option",
                                 expected=" | ".join(seen), got=repr(key))
        if len(set(chosen)) != len(chosen):
            yield self.issue(f"{path}.default", "an option is selected twice", expected="unique option keys",
                             got=repr(chosen))

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
