"""Preference center flows: keyboard-only journey (3), requirements (4), two tabs (6), login (7)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.api import PrefkitApi
from e2e.kinds import KINDS, accessible_name
from e2e.operate import change_by_keyboard, expect_ui_value, grant_requirements, pick_operable, stored
from e2e.pages.center import PreferenceCenterPage
from e2e.plugin import ShopperFactory
from e2e.registry import PreferenceInfo, RegistryInfo
from e2e.shopper import Shopper
from e2e.waiting import eventually

pytestmark = pytest.mark.browser

_SPARE_TAB_STOPS = 60
"""Tab stops beyond the controls of the registry: the page's own links, bulk actions, history..."""


_name = accessible_name  # the probe reports names normalized the same way

def _tab_budget(registry: RegistryInfo) -> int:
    """How many Tab presses may pass before the journey counts as stuck: every control once (a checkbox
    and its chip each), with room for the page around the center."""
    stops = sum(2 * max(1, len(KINDS.of(p).tab_targets(p))) for p in registry.preferences)
    return stops + _SPARE_TAB_STOPS

# What the focused element is, where it is, and whether a focus indicator is drawn (outline or box-shadow
# on it or on the part that wraps it: themes may ring the whole switch rather than the native input).
_FOCUS_PROBE = r"""(root) => {
  if (!root.isConnected) return 'stale';
  const norm = (text) => (text || '').replace(/\s+/g, ' ').trim();  // as accessible names are
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const ringOf = (node) => {
    if (!node || node.nodeType !== 1) return false;
    const style = getComputedStyle(node);
    const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
    return outline || (style.boxShadow && style.boxShadow !== 'none');
  };
  const rect = el.getBoundingClientRect();
  return {
    inside: root.contains(el),
    role: el.getAttribute('role') || (el.tagName === 'INPUT' ? el.type : el.tagName.toLowerCase()),
    name: (el.getAttribute('aria-labelledby') || '').split(' ').map(id => document.getElementById(id))
            .filter(Boolean).map(n => norm(n.textContent)).join(' ')
          || (el.labels && el.labels[0] ? norm(el.labels[0].textContent) : '')
          || norm(el.getAttribute('aria-label')) || norm(el.textContent).slice(0, 60),
    group: (() => {
      const box = el.closest('[role=group][aria-labelledby], [role=radiogroup][aria-labelledby]');
      if (!box) return null;
      return box.getAttribute('aria-labelledby').split(' ').map(id => document.getElementById(id))
               .filter(Boolean).map(n => norm(n.textContent)).join(' ');
    })(),
    top: rect.top + window.scrollY, left: rect.left + window.scrollX, height: rect.height,
    visibleFocus: ringOf(el) || ringOf(el.parentElement),
  };
}"""


def _focus_info(center: PreferenceCenterPage) -> dict[str, Any] | None:
    # On the center's element handle: a role + name query over a center of hundreds of controls costs
    # more than the Tab press itself. A re-render that replaced the element is seen and located again.
    info = center.page.evaluate(_FOCUS_PROBE, center.root_element())
    if info == "stale":
        info = center.page.evaluate(_FOCUS_PROBE, center.root_element(fresh=True))
    return info


def _tab_to(center: PreferenceCenterPage, page: Page, role: str, name: str) -> None:
    for _ in range(_tab_budget(center.registry)):
        page.keyboard.press("Tab")
        info = _focus_info(center)
        if info and info["inside"] and info["role"] == role and info["name"] == _name(name):
            return
    raise AssertionError(f"Tab never reached the {role} {name!r}")


def test_keyboard_only_journey(shopper: Shopper, pytestconfig: pytest.Config) -> None:
    """Flow 3: Tab through the whole center: order follows the visual order, every control is reached
    and operable from the keyboard, and focus is always visible (``--prefkit-operate-every N``: operate
    every N-th control only; all are still reached)."""
    operate_every = max(1, pytestconfig.getoption("--prefkit-operate-every"))
    center = shopper.center().open()
    page = shopper.page
    registry = center.registry
    banner = shopper.banner()
    if registry.consents(switchable=True):
        banner.expect_shown()
        # The first-visit banner is a modal dialog holding the focus; Escape moves the focus to "Reject
        # all" (as easy a way out as accepting), Enter answers it.
        page.keyboard.press("Escape")
        expect(banner.reject_all_button).to_be_focused()
        page.keyboard.press("Enter")
        # Enable everything first (sliders and filters may require consents): "Accept all" by keyboard.
        _tab_to(center, page, "button", center.text("accept_all"))
        page.keyboard.press("Enter")
        for consent in registry.consents(switchable=True):
            center.consent(consent.key).expect_checked(True)
    banner.expect_gone()  # answered, or nothing to ask: no switchable consent

    page.locator("body").focus()  # start over from the top of the page
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    stops: list[dict[str, Any]] = []
    entered = False
    left_at: dict[str, Any] | None = None
    for _ in range(_tab_budget(registry)):
        page.keyboard.press("Tab")
        info = _focus_info(center)
        if info is None or not info["inside"]:
            if entered:
                left_at = info
                break
            continue
        entered = True
        stops.append(info)
        assert info["visibleFocus"], f"focus is not visible on {info['role']} {info['name']!r}"
        if (len(stops) - 1) % operate_every == 0:
            _operate_focused(center, page, shopper.api, info)
    else:
        where = f"got {len(stops)} stops into the center" if entered else "never entered the center"
        raise AssertionError(f"Tab {where} and did not leave it within {_tab_budget(registry)} presses")

    for before, after in itertools.pairwise(stops):
        same_row = abs(after["top"] - before["top"]) < max(before["height"], 8) / 2
        assert after["top"] >= before["top"] - 2 or (same_row and after["left"] > before["left"]), (
            f"Tab order jumps back up: {before['role']} {before['name']!r} (y={before['top']:.0f}) then "
            f"{after['role']} {after['name']!r} (y={after['top']:.0f})"
        )

    reached = {(stop["role"], stop["name"]) for stop in stops}
    journey = " -> ".join(f"{stop['role']} {stop['name']!r}" for stop in stops)
    journey += f" -> left the center to {left_at and (left_at['role'], left_at['name'])}"
    for pref in registry.preferences:
        for target in KINDS.of(pref).tab_targets(pref):
            assert target.reached_by(stops), (
                f"{target} ({pref.key}) not reachable by Tab; Tab went: {journey}"
            )
    assert ("button", _name(center.text("reject_all"))) in reached, (
        f"Reject all is not reachable by Tab; Tab went: {journey}"
    )


def _filter_of(center: PreferenceCenterPage, info: dict[str, Any]) -> PreferenceInfo:
    """The filter a focused checkbox or radio belongs to (by its group's name, then by its label)."""
    filters = center.registry.of_kind("filter")
    by_group = [p for p in filters if _name(p.title) == info["group"]]
    by_label = [p for p in by_group or filters if info["name"] in {_name(o.label) for o in p.options}]
    found = by_label or by_group
    assert found, f"the focused {info['role']} {info['name']!r} belongs to no filter of the registry"
    return found[0]


def _ledger_count(api: PrefkitApi, key: str) -> int:
    return len([e for e in api.history() if e["key"] == key])


def _operate_focused(center: PreferenceCenterPage, page: Page, api: PrefkitApi, info: dict[str, Any]) -> None:
    """Operate the focused control by keyboard and put it back, checking each change is reflected."""
    focused = page.locator("*:focus")
    if info["role"] == "switch":
        before = focused.get_attribute("aria-checked")
        flipped = "false" if before == "true" else "true"
        page.keyboard.press("Space")
        expect(focused).to_have_attribute("aria-checked", flipped)
        page.keyboard.press("Space")
        expect(focused).to_have_attribute("aria-checked", before or "false")
    elif info["role"] == "slider":
        before = focused.get_attribute("aria-valuenow")
        at_max = before == focused.get_attribute("aria-valuemax")
        page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
        expect(focused).not_to_have_attribute("aria-valuenow", before or "")
        page.keyboard.press("ArrowRight" if at_max else "ArrowLeft")
        expect(focused).to_have_attribute("aria-valuenow", before or "")
    elif info["role"] == "checkbox":
        pref = _filter_of(center, info)
        group = center.filter_group(pref.key).group
        events_before = _ledger_count(api, pref.key)
        chip = center.root.get_by_role("button", name=center.text("remove", label=info["name"]), exact=True)
        chips_before = chip.count()
        was_checked = focused.is_checked()
        page.keyboard.press("Space")
        expect(focused).to_be_checked(checked=not was_checked)
        # The re-render may have replaced the node: operate the same option again through the page.
        page.keyboard.press("Space")
        expect(group.get_by_role("checkbox", name=info["name"], exact=True).first).to_be_checked(
            checked=was_checked
        )
        # Let both saves settle before the next Tab: a late confirmation of the first one would show the
        # option's chip ("Remove <label>") just long enough for Tab to land on it before it goes away.
        eventually(
            lambda: _ledger_count(api, pref.key),
            lambda n: n >= events_before + 2,
            what=f"both changes of {info['name']!r} ({pref.key}) to be recorded",
        )
        expect(chip).to_have_count(chips_before)
    elif info["role"] == "radio":
        # Arrow keys move the choice inside a radio group (and select); the opposite arrow moves it back.
        pref = _filter_of(center, info)
        group = center.filter_group(pref.key).group
        events_before = _ledger_count(api, pref.key)
        page.keyboard.press("ArrowDown")
        moved = _focus_info(center)
        assert moved and moved["role"] == "radio" and moved["name"] != info["name"], (
            f"ArrowDown in the radio group {pref.title!r} did not move from {info['name']!r}: {moved}"
        )
        expect(group.get_by_role("radio", name=moved["name"], exact=True).first).to_be_checked()
        page.keyboard.press("ArrowUp")
        expect(group.get_by_role("radio", name=info["name"], exact=True).first).to_be_checked()
        eventually(
            lambda: _ledger_count(api, pref.key),
            lambda n: n >= events_before + 2,
            what=f"both choices in {pref.title!r} ({pref.key}) to be recorded",
        )


def test_slider_requires_consent(shopper: Shopper) -> None:
    """Flow 4: a slider whose required consent is not granted is disabled with the reason; granting the
    consent enables it, and then it moves."""
    registry = shopper.registry()
    sliders = [p for p in registry.of_kind("slider") if registry.consents_to_grant(p)]
    if not sliders:
        pytest.skip("the registry under test has no slider that requires a consent a shopper can refuse")
    pref = sliders[0]
    shopper.answer_banner_beforehand()  # refuses every switchable consent
    center = shopper.center().open()
    slider = center.slider(pref.key)
    slider.expect_disabled_with_reason(center.requires_hint(pref))
    slider.press("ArrowRight")
    slider.expect_value(pref.default)
    assert shopper.api.preference(pref.key)["source"] == "requires-unmet"

    grant_requirements(center, pref, shopper.api)
    slider.expect_enabled()
    assert pref.step is not None and pref.maximum is not None and pref.minimum is not None
    key, target = (
        ("ArrowRight", pref.on_step(pref.default + pref.step))
        if pref.default < pref.maximum
        else ("ArrowLeft", pref.on_step(pref.default - pref.step))
    )
    slider.press(key)
    slider.expect_value(target)
    state = eventually(
        lambda: shopper.api.preference(pref.key),
        lambda s: s["value"] == target,
        what=f"{pref.key} to be stored as {target}",
    )
    assert state["in_effect"] is True and state["missing_requirements"] == [], state


def test_two_tabs_stay_in_sync(shopper: Shopper) -> None:
    """Flow 6: a change in one tab shows up in the shopper's other tab without a reload."""
    registry = shopper.registry()
    pref = pick_operable(registry)
    if pref is None:
        pytest.skip("the registry under test declares nothing a shopper can change (no switchable consent, "
                    "slider or filter)")
    shopper.answer_banner_beforehand()
    first = shopper.center().open()
    second = shopper.center(shopper.new_tab()).open()
    grant_requirements(first, pref, shopper.api)
    current = shopper.api.preference(pref.key)["value"]
    expect_ui_value(second.root, pref, stored(pref, current))

    expected = change_by_keyboard(first.root, pref, current, no_choice_label=first.text("no_choice"))
    expect_ui_value(second.root, pref, expected)

    # And the other way round, with another kind of control when the registry has one.
    other = pick_operable(registry, kinds=tuple(k for k in ("filter", "slider", "consent") if k != pref.kind))
    if other is not None and other.key != pref.key:
        grant_requirements(second, other, shopper.api)
        current = shopper.api.preference(other.key)["value"]
        expected = change_by_keyboard(second.root, other, current, no_choice_label=second.text("no_choice"))
        expect_ui_value(first.root, other, expected)


def test_login_carries_choices_over(shopper: Shopper, new_shopper: ShopperFactory) -> None:
    """Flow 7: an anonymous shopper's choices carry over to the customer on login, and the customer sees
    them in another browser context."""
    if not shopper.server.shop_secret:
        pytest.skip("the shop secret is unknown (pass --prefkit-shop-secret for an external server)")
    pref = pick_operable(shopper.registry())
    if pref is None:
        pytest.skip("the registry under test declares nothing a shopper can change (no switchable consent, "
                    "slider or filter)")
    shopper.answer_banner_beforehand()
    center = shopper.center().open()
    grant_requirements(center, pref, shopper.api)
    current = shopper.api.preference(pref.key)["value"]
    expected = change_by_keyboard(center.root, pref, current, no_choice_label=center.text("no_choice"))
    eventually(
        lambda: shopper.api.preference(pref.key),
        lambda s: stored(pref, s["value"]) == expected,
        what=f"{pref.key} to be stored before login",
    )

    customer_id = f"qa-{uuid.uuid4().hex[:12]}"
    session = shopper.login(customer_id)
    assert session["subject_kind"] == "customer", session
    assert pref.key in session["merged_keys"], f"login did not merge {pref.key!r}: {session}"
    assert shopper.api.preferences()["subject_kind"] == "customer"
    center.reload()
    expect_ui_value(center.root, pref, expected)
    merges = [e for e in shopper.api.history() if e["method"] == "merge" and e["key"] == pref.key]
    assert merges, "the merge is not recorded in the customer's ledger"

    elsewhere = new_shopper()
    elsewhere.login(customer_id)  # the customer answered the banner already (as the anonymous shopper)
    other_center = elsewhere.center().open()
    expect_ui_value(other_center.root, pref, expected)
    state = elsewhere.api.preference(pref.key)
    assert stored(pref, state["value"]) == expected and state["source"] == "explicit", state
