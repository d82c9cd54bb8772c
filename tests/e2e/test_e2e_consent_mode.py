"""The e2e.flows.test_consent_mode flows: skipped with the demo registry (it maps no consent to Consent Mode),
and run in a separate pytest process against a self-started server whose registry maps the demo's consents."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _kit_run import run_kit

from e2e.flows.test_consent_mode import *  # noqa: F403 - the flows themselves, against the demo registry

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo-shop.toml"
MAPPING = {
    'key = "analytics"': 'consent_mode = { grants = ["analytics_storage"], wait_for_update = 500 }',
    'key = "marketing_email"': 'consent_mode = { grants = ["ad_storage", "ad_user_data", "ad_personalization"] }',
}


@pytest.mark.timeout(600)  # a whole pytest run of flows in a subprocess
def test_consent_mode_flows_run_against_a_mapped_registry(tmp_path: Path) -> None:
    text = DEMO.read_text(encoding="utf-8")
    for anchor, line in MAPPING.items():
        assert anchor in text, f"the demo registry no longer declares {anchor}"
        text = text.replace(anchor, f"{anchor}\n{line}", 1)
    registry = tmp_path / "mapped.toml"
    registry.write_text(text, encoding="utf-8")
    result = run_kit(tmp_path, "-rA", "--pyargs", "e2e.flows.test_consent_mode", f"--prefkit-registry={registry}",
                     f"--prefkit-artifacts={tmp_path / 'artifacts'}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"Consent Mode flows failed:\n{output}"
    passed = re.search(r"(\d+) passed", output)
    skipped = re.search(r"(\d+) skipped", output)
    # The GPC flow runs only when a mapped consent has gpc = true; the demo's marketing_email has.
    assert passed and int(passed.group(1)) == 4 and not skipped, f"expected 4 passing flows:\n{output}"
