"""The registry-driven flows cover any registry, not just the demo's.

Runs the kit in a separate pytest process against a server it starts itself with
``tests/e2e/registries/qa-shop.yaml`` (YAML, English default, no sections, an ``opt_out`` consent, a
radio-group filter, a fractional slider requiring a consent): one generated test per declared type,
plus the keyboard journey and the hot-reload flow (which edits that YAML file's private copy).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _kit_run import run_kit

pytestmark = pytest.mark.browser

REGISTRY = Path(__file__).parent / "registries" / "qa-shop.yaml"


@pytest.mark.timeout(600)  # a whole pytest run of flows in a subprocess
def test_registry_driven_flows_follow_another_registry(tmp_path: Path) -> None:
    result = run_kit(
        tmp_path,
        "-rA",
        "--pyargs",
        "e2e.flows.test_registry_driven",
        "e2e.flows.test_center",
        "e2e.flows.test_hot_reload",
        "-k",
        "by_keyboard or keyboard_only or registry_change",
        f"--prefkit-registry={REGISTRY}",
        f"--prefkit-artifacts={tmp_path / 'artifacts'}",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"flows failed with {REGISTRY.name}:\n{output}"
    for generated in ("consent-order_updates", "consent-newsletter", "filter-size", "slider-discount_focus"):
        assert re.search(rf"PASSED \S*test_preference_by_keyboard_persists\[{generated}\]", output), (
            f"no passing generated test for {generated}:\n{output}"
        )
    passed = re.search(r"(\d+) passed", output)
    # 4 generated (one per declared type) + keyboard journey + hot reload.
    assert passed and int(passed.group(1)) == 6, f"expected 6 passing flows:\n{output}"
