"""Rules a type system cannot express: references, ranges, GDPR defaults, translations, cycles."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .errors import RegistryIssue
from .schema import (
    ConsentMechanism,
    ConsentType,
    FilterType,
    PreferenceType,
    RegistryDocument,
    SliderType,
)

__all__ = ["is_on_step", "validate_document"]


def is_on_step(value: float, start: float, step: float) -> bool:
    """Whether ``value`` sits on the grid ``start + n * step``, tolerant of float rounding."""
    steps = (value - start) / step
    return abs(steps - round(steps)) < 1e-9


def validate_document(
    doc: RegistryDocument,
    *,
    source: str | None = None,
    preference_indices: Sequence[int] | None = None,
    section_indices: Sequence[int] | None = None,
) -> list[RegistryIssue]:
    """Every semantic error and warning of ``doc``.

    The index sequences map positions in ``doc`` to positions in the file, for documents assembled from
    the parts that decoded when other parts did not (so paths still point at the right table).
    """
    checker = _Checker(doc, source, preference_indices, section_indices)
    return list(checker.run())


class _Checker:
    def __init__(self, doc: RegistryDocument, source: str | None,
                 preference_indices: Sequence[int] | None, section_indices: Sequence[int] | None) -> None:
        self.doc = doc
        self.source = source
        self.pref_index = list(preference_indices or range(len(doc.preferences)))
        self.section_index = list(section_indices or range(len(doc.sections)))
        self.default_locale = doc.shop.default_locale
        self.locales = list(doc.shop.locales)

    def issue(self, path: str, message: str, expected: Any = None, got: Any = None,
              severity: str = "error") -> RegistryIssue:
        return RegistryIssue(path=path, message=message, severity=severity,  # type: ignore[arg-type]
                             expected=None if expected is None else str(expected),
                             got=None if got is None else str(got), source=self.source)

    def run(self) -> Iterator[RegistryIssue]:
        yield from self.check_shop()
        yield from self.check_sections()
        by_key: dict[str, tuple[str, PreferenceType]] = {}
        for position, pref in enumerate(self.doc.preferences):
            path = f"preferences[{self.pref_index[position]}]"
            if pref.key in by_key:
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
        yield from self.check_requires(by_key)

    # -- shop and sections -------------------------------------------------------------------------
    def check_shop(self) -> Iterator[RegistryIssue]:
        shop = self.doc.shop
        if shop.default_locale not in shop.locales:
            yield self.issue("shop.default_locale", "the default locale must be one of `shop.locales`",
                             expected=" | ".join(shop.locales), got=repr(shop.default_locale))
        seen: set[str] = set()
        for index, locale in enumerate(shop.locales):
            if locale in seen:
                yield self.issue(f"shop.locales[{index}]", f"locale `{locale}` is listed twice",
                                 expected="unique locales", got=repr(locale))
            seen.add(locale)

    def check_sections(self) -> Iterator[RegistryIssue]:
        seen: dict[str, str] = {}
        for position, section in enumerate(self.doc.sections):
            path = f"sections[{self.section_index[position]}]"
            if section.key in seen:
                yield self.issue(f"{path}.key", f"duplicate section key `{section.key}`, first declared at "
                                 f"{seen[section.key]}", expected="a key used once", got=repr(section.key))
            seen.setdefault(section.key, path)
            yield from self.check_text(section.title, f"{path}.title")
            yield from self.check_text(section.description, f"{path}.description")

    def check_section_ref(self, pref: PreferenceType, path: str) -> Iterator[RegistryIssue]:
        declared = [section.key for section in self.doc.sections]
        if pref.section is not None and pref.section not in declared:
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
            for index, stop in enumerate(pref.stops):
                yield from self.check_text(stop.label, f"{path}.stops[{index}].label")
        if isinstance(pref, FilterType):
            for index, option in enumerate(pref.options):
                yield from self.check_text(option.label, f"{path}.options[{index}].label")

    def check_text(self, text: Any, path: str) -> Iterator[RegistryIssue]:
        if text is None or isinstance(text, (str, list)):
            return  # a plain value is the default locale's text
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
        if pref.min >= pref.max:
            yield self.issue(f"{path}.max", "max must be greater than min", expected=f"> {pref.min}",
                             got=pref.max)
            return  # every other bound check would only repeat this one
        if not is_on_step(pref.max, pref.min, pref.step):
            yield self.issue(f"{path}.step", f"step {pref.step} does not divide the range "
                             f"{pref.min}..{pref.max}", expected=f"a divisor of {pref.max - pref.min}",
                             got=pref.step)
        yield from self.check_slider_value(pref, pref.default, f"{path}.default")
        if pref.page_step is not None and not is_on_step(pref.page_step, 0, pref.step):
            yield self.issue(f"{path}.page_step", "page_step must be a whole number of steps",
                             expected=f"a multiple of {pref.step}", got=pref.page_step)
        seen: dict[float, int] = {}
        for index, stop in enumerate(pref.stops):
            yield from self.check_slider_value(pref, stop.value, f"{path}.stops[{index}].value")
            if stop.value in seen:
                yield self.issue(f"{path}.stops[{index}].value", f"value {stop.value} already labelled at "
                                 f"stops[{seen[stop.value]}]", expected="one label per value", got=stop.value)
            seen.setdefault(stop.value, index)
        effect = pref.applies_to
        if effect is not None:
            needs = {"balance": ("low", "high"), "weight": ("high",), "personalization": ()}[effect.rule]
            for end in needs:
                if getattr(effect, end) is None:
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
        for index, option in enumerate(pref.options):
            if option.key in seen:
                yield self.issue(f"{path}.options[{index}].key", f"duplicate option key `{option.key}`, first "
                                 f"at options[{seen[option.key]}]", expected="unique option keys",
                                 got=repr(option.key))
            seen.setdefault(option.key, index)
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
        for index, key in enumerate(chosen):
            item_path = f"{path}.default[{index}]" if isinstance(default, list) else f"{path}.default"
            if key not in seen:
                yield self.issue(item_path, f"`{key}` is not a declared option",
                                 expected=" | ".join(pref.option_keys), got=repr(key))
        if len(set(chosen)) != len(chosen):
            yield self.issue(f"{path}.default", "an option is selected twice", expected="unique option keys",
                             got=repr(chosen))

    # -- dependencies ---------------------------------------------------------------------------
    def check_requires(self, by_key: dict[str, tuple[str, PreferenceType]]) -> Iterator[RegistryIssue]:
        for path, pref in by_key.values():
            for index, required in enumerate(pref.requires):
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
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        reported: set[frozenset[str]] = set()

        def visit(key: str, trail: list[str]) -> Iterator[RegistryIssue]:
            state[key] = 1
            trail.append(key)
            for required in by_key[key][1].requires:
                if required not in by_key:
                    continue
                if state.get(required) == 1:
                    cycle = trail[trail.index(required):] + [required]
                    if frozenset(cycle) not in reported:
                        reported.add(frozenset(cycle))
                        yield self.issue(f"{by_key[required][0]}.requires", "dependency cycle: "
                                         + " -> ".join(cycle), expected="requirements without cycles",
                                         got=" -> ".join(cycle))
                elif required not in state:
                    yield from visit(required, trail)
            trail.pop()
            state[key] = 2

        for key in by_key:
            if key not in state:
                yield from visit(key, [])
