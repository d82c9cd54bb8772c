"""The QA kit runs unchanged against a server it did not start (``--prefkit-base-url``).

Starts ``prefkit demo`` as a separate process, then runs a subset of the flows in a separate pytest
process from an unrelated folder, loading the plugin explicitly by its entry-point name (``-p prefkit``)
with plugin autoloading off, exactly as a shop's QA job would against staging.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from pathlib import Path

import pytest
from _kit_run import run_kit

from e2e.server import free_port, log_tail, prefkit_command, stop_process, wait_until_ready

pytestmark = pytest.mark.browser

EXAMPLE_HOST = Path(__file__).resolve().parents[2] / "examples" / "static-host"

SUBSET = "by_keyboard or grant_and_withdraw or two_tabs or login or static_host or registry_change"
"""Registry-driven flows, flows 2, 5 (must skip: not our registry file), 6, 7 and 11."""


@pytest.mark.timeout(600)  # a whole pytest run of flows in a subprocess
def test_flows_against_an_already_running_demo(tmp_path: Path) -> None:
    port, embed_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    shop_secret = secrets.token_urlsafe(32)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFKIT_")}
    env.update(
        PREFKIT_SHOP_SECRET=shop_secret,
        PREFKIT_ALLOWED_ORIGINS=f"http://127.0.0.1:{embed_port}",
        PREFKIT_WRITE_RATE_LIMIT="100000",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        demo = subprocess.Popen(
            prefkit_command(
                "demo",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database-url",
                f"sqlite:///{tmp_path / 'demo.db'}",
            ),
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_until_ready(base_url, timeout_s=60, process=demo, log_path=log_path)
        qa_project = tmp_path / "shop-qa"
        qa_project.mkdir()
        qa_env = {**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        qa_env.pop("PREFKIT_SHOP_SECRET")
        result = run_kit(
            qa_project,
            "-p",
            "prefkit",
            "-rs",
            "--pyargs",
            "e2e.flows.test_registry_driven",
            "e2e.flows.test_consents",
            "e2e.flows.test_center",
            "e2e.flows.test_hot_reload",
            "e2e.flows.test_embedding",
            "-k",
            SUBSET,
            f"--prefkit-base-url={base_url}",
            f"--prefkit-shop-secret={shop_secret}",
            f"--prefkit-embed-origin=http://127.0.0.1:{embed_port}",
            # The shop's own host page (the example copied by a shop): its mount points are read and
            # checked against the demo's registry, then each widget is exercised.
            f"--prefkit-static-host={EXAMPLE_HOST}",
            f"--prefkit-artifacts={qa_project / 'artifacts'}",
            env=qa_env,
        )
    finally:
        stop_process(demo)
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"the flows failed against the running demo:\n{output}\n--- demo log ---\n{log_tail(log_path, 40)}"
    )
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) >= 10, f"too few flows ran:\n{output}"
    assert re.search(
        r"SKIPPED .*registry file can only be edited when the plugin started the server", output
    ), f"the hot-reload flow must skip against a server the plugin did not start:\n{output}"
