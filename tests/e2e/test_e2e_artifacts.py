"""A failing flow leaves a screenshot of every open tab and a Playwright trace per browser context; a passing
one leaves nothing. Checked on a real pytest run in a subprocess (a deliberately failing test)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from _kit_run import run_kit

pytestmark = pytest.mark.browser

_FLOWS = """
def test_passes(shopper):
    shopper.page.goto(shopper.server.url("/demo/"))


def test_fails_on_purpose(shopper, new_shopper):
    shopper.page.goto(shopper.server.url("/demo/"))
    shopper.new_tab().goto(shopper.server.url("/demo/preferences"))
    new_shopper().page.goto(shopper.server.url("/demo/your-data"))
    assert False, "deliberate failure"
"""


@pytest.mark.timeout(300)
def test_failing_flow_leaves_screenshots_and_traces(tmp_path: Path) -> None:
    (tmp_path / "test_deliberate.py").write_text(_FLOWS)
    artifacts = tmp_path / "artifacts"
    result = run_kit(tmp_path, "test_deliberate.py", f"--prefkit-artifacts={artifacts}", timeout_s=240)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 failed, 1 passed" in output, output
    assert "prefkit artifacts" in output and "prefkit server log" in output, output

    failed = artifacts / "test_deliberate.py_test_fails_on_purpose"
    passed = artifacts / "test_deliberate.py_test_passes"
    assert not passed.exists(), "a passing test must not leave artifacts"
    shots = sorted(path.name for path in failed.glob("*.png"))
    assert shots == ["shopper1-tab1.png", "shopper1-tab2.png", "shopper2-tab1.png"], shots
    for shot in failed.glob("*.png"):
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot
    traces = sorted(path.name for path in failed.glob("*-trace.zip"))
    assert traces == ["shopper1-trace.zip", "shopper2-trace.zip"], traces
    with zipfile.ZipFile(failed / "shopper1-trace.zip") as trace:
        names = trace.namelist()
    assert any(name.endswith(".trace") for name in names), names
    assert (artifacts / "server.log").stat().st_size > 0
