"""Preference center flows: keyboard-only journey (3), requirements (4), two tabs (6), login (7)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.api import PrefkitApi
from e2e.pages.center import PreferenceCenterPage
from e2e.plugin import ShopperFactory
from e2e.shopper import Shopper
from e2e.waiting import eventually

pytestmark = pytest.mark.browser

_MAX_TAB_STOPS = 300

# What the focused element is, where it is, and whether a focus indicator is drawn (outline or box-shadow
# on it or on the part that wraps it: themes may ring the whole switch rather than the native input).
_FOCUS_PROBE = """(root) => {
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
            .filter(Boolean).map(n => n.textContent.trim()).join(' ')
          || (el.labels && el.labels[0] ? el.labels[0].textContent.trim() : '')
          || el.getAttribute('aria-label') || el.textContent.trim().slice(0, 60),
    top: rect.top + window.scrollY, left: rect.left + window.scrollX, height: rect.height,
    visibleFocus: ringOf(el) || ringOf(el.parentElement),
  };
}"""


def _focus_info(center: PreferenceCenterPage) -> dict[str, Any] | None:
    return center.root.evaluate(_FOCUS_PROBE)


def _tab_to(center: PreferenceCenterPage, page: Page, role: str, name: str) -> None:
    for _ in range(_MAX_TAB_STOPS):
        page.keyboard.press("Tab")
        info = _focus_info(center)
        if info and info["inside"] and info["role"] == role and info["name"] == name:
            return
    raise AssertionError(f"Tab never reached the {role} {name!r}")


def test_keyboard_only_journey(shopper: Shopper) -> None:
    """Flow 3: Tab through the whole center: order follows the visual order, every control is reached
    and operable from the keyboard, and focus is always visible."""
    center = shopper.center().open()
    page = shopper.page
    registry = center.registry
    banner = shopper.banner()
    banner.expect_shown()
    # The first-visit banner is a modal dialog holding the focus; Escape moves the focus to "Reject all"
    # (as easy a way out as accepting), Enter answers it.
    page.keyboard.press("Escape")
    expect(banner.reject_all_button).to_be_focused()
    page.keyboard.press("Enter")
    banner.expect_gone()
    # Enable everything first (sliders and filters may require consents): "Accept all" by keyboard.
    _tab_to(center, page, "button", center.text("accept_all"))
    page.keyboard.press("Enter")
    for consent in registry.consents(switchable=True):
        center.consent(consent.key).expect_checked(True)

    page.locator("body").focus()  # start over from the top of the page
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    stops: list[dict[str, Any]] = []
    entered = False
    left_at: dict[str, Any] | None = None
    for _ in range(_MAX_TAB_STOPS):
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
        _operate_focused(center, page, shopper.api, info)
    assert stops, "Tab never entered the preference center"

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
        if pref.kind == "consent" and pref.switchable:
            assert ("switch", pref.title) in reached, (
                f"switch {pref.title!r} not reachable by Tab; Tab went: {journey}"
            )
        elif pref.kind == "slider":
            assert ("slider", pref.title) in reached, (
                f"slider {pref.title!r} not reachable by Tab; Tab went: {journey}"
            )
        elif pref.kind == "filter" and pref.multiple:
            labels = {stop["name"] for stop in stops if stop["role"] == "checkbox"}
            expected = {o.label for o in pref.options}
            assert expected <= labels, (
                f"options of {pref.title!r} not all reachable: {expected - labels}; Tab went: {journey}"
            )
        elif pref.kind == "filter":
            # A radio group is one Tab stop (its checked radio, or "no preference"); arrows move inside it.
            labels = {stop["name"] for stop in stops if stop["role"] == "radio"}
            choices = {o.label for o in pref.options} | {center.text("no_choice")}
            assert labels & choices, f"radio group {pref.title!r} not reachable by Tab; Tab went: {journey}"
    assert ("button", center.text("reject_all")) in reached, (
        "Reject all is not reachable by Tab; Tab went: {journey}"
    )


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
        key = next(p.key for p in center.registry.preferences if info["name"] in {o.label for o in p.options})
        events_before = len([e for e in api.history() if e["key"] == key])
        was_checked = focused.is_checked()
        page.keyboard.press("Space")
        expect(focused).to_be_checked(checked=not was_checked)
        # The re-render may have replaced the node: operate the same option again through the page.
        page.keyboard.press("Space")
        expect(center.root.get_by_role("checkbox", name=info["name"], exact=True).first).to_be_checked(
            checked=was_checked
        )
        # Let both saves settle before the next Tab: a late confirmation of the first one would show the
        # option's chip ("Remove <label>") just long enough for Tab to land on it before it goes away.
        eventually(
            lambda: len([e for e in api.history() if e["key"] == key]),
            lambda n: n >= events_before + 2,
            what=f"both changes of {info['name']!r} to be recorded",
        )
        chip = center.root.get_by_role("button", name=center.text("remove", label=info["name"]), exact=True)
        expect(chip).to_have_count(0 if not was_checked else 1)


def test_slider_requires_consent(shopper: Shopper) -> None:
    """Flow 4: a slider whose required consent is not granted is disabled with the reason; granting the
    consent enables it, and then it moves."""
    shopper.answer_banner_beforehand()
    center = shopper.center().open()
    sliders = [p for p in center.registry.preferences if p.kind == "slider" and p.requires]
    if not sliders:
        pytest.skip("the registry under test has no slider that requires a consent")
    pref = sliders[0]
    slider = center.slider(pref.key)
    slider.expect_disabled_with_reason(center.requires_hint(pref))
    slider.press("ArrowRight")
    slider.expect_value(pref.default)
    assert shopper.api.preference(pref.key)["source"] == "requires-unmet"

    for required in pref.requires:
        center.consent(required).toggle_with_keyboard()
        center.consent(required).expect_checked(True)
    slider.expect_enabled()
    assert pref.step is not None and pref.maximum is not None and pref.minimum is not None
    key, target = (
        ("ArrowRight", pref.default + pref.step)
        if pref.default < pref.maximum
        else ("ArrowLeft", pref.default - pref.step)
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
    shopper.answer_banner_beforehand()
    first = shopper.center().open()
    second = shopper.center(shopper.new_tab()).open()
    consent = first.registry.opt_in_consents()[0]
    second.consent(consent.key).expect_checked(False)

    first.consent(consent.key).toggle_with_keyboard()
    first.consent(consent.key).expect_checked(True)
    second.consent(consent.key).expect_checked(True)

    filters = [p for p in first.registry.preferences if p.kind == "filter" and p.multiple and not p.requires]
    if filters:
        group = filters[0]
        option = group.options[0].key
        second.filter_group(group.key).toggle_with_keyboard(option)
        first.filter_group(group.key).expect_selected(option)


def test_login_carries_choices_over(shopper: Shopper, new_shopper: ShopperFactory) -> None:
    """Flow 7: an anonymous shopper's choices carry over to the customer on login, and the customer sees
    them in another browser context."""
    if not shopper.server.shop_secret:
        pytest.skip("the shop secret is unknown (pass --prefkit-shop-secret for an external server)")
    shopper.answer_banner_beforehand()
    center = shopper.center().open()
    consent = center.registry.opt_in_consents()[0]
    center.consent(consent.key).toggle_with_keyboard()
    center.consent(consent.key).expect_checked(True)
    eventually(
        lambda: shopper.api.preference(consent.key),
        lambda s: s["value"] is True,
        what=f"{consent.key} to be stored before login",
    )

    customer_id = f"qa-{uuid.uuid4().hex[:12]}"
    session = shopper.login(customer_id)
    assert session["subject_kind"] == "customer", session
    assert consent.key in session["merged_keys"], f"login did not merge {consent.key!r}: {session}"
    assert shopper.api.preferences()["subject_kind"] == "customer"
    center.reload()
    center.consent(consent.key).expect_checked(True)
    merges = [e for e in shopper.api.history() if e["method"] == "merge" and e["key"] == consent.key]
    assert merges, "the merge is not recorded in the customer's ledger"

    elsewhere = new_shopper()
    elsewhere.login(customer_id)  # the customer answered the banner already (as the anonymous shopper)
    other_center = elsewhere.center().open()
    other_center.consent(consent.key).expect_checked(True)
    state = elsewhere.api.preference(consent.key)
    assert state["value"] is True and state["source"] == "explicit", state
