"""schemathesis against a real ``prefkit serve`` over HTTP: the OpenAPI document says what the server does.

Every check schemathesis has (positive data accepted, negative data refused, status codes, content types,
response schemas and headers, ``Allow`` on 405/OPTIONS, unsupported methods, auth...) runs over the examples,
coverage and fuzzing phases, in both generation modes, with deterministic generation and a small budget per
operation so the run is repeatable and takes seconds. ``max_response_time`` stays off: timings belong in
``bench/``.

The registry is the test registry of ``_bff_app`` (every value rule, a notice-only consent, float and integer
sliders, single and multiple filters). The admin endpoints get the admin key through a header, so they are
exercised too; no write rate limit, so 429s do not hide answers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from _bff_app import REGISTRY_TOML
from _live_server import ADMIN_KEY, LiveServer

pytest.importorskip("schemathesis")

MAX_EXAMPLES = 8
"""Per operation and phase: enough for the coverage phase's boundary cases plus some fuzzing."""

CONFIG = f"""
workers = 1
continue-on-failure = true
request-timeout = 30

[headers]
X-Admin-Key = "{ADMIN_KEY}"
# A cookie-authenticated write without Origin needs this header (bff/api/security.py); a browser sends Origin.
X-Prefkit-CSRF = "1"

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"

[phases]
examples.enabled = true
coverage.enabled = true
fuzzing.enabled = true
stateful.enabled = false

[checks]
enabled = true

# A registry document's semantic rules (a `requires` naming a consent, a default naming an option, duplicate
# keys) are beyond JSON Schema: a well-formed upload may be refused with 422 listing every error. Every other
# check still runs on this operation.
[[operations]]
include-path = "/api/v1/admin/registry"
include-method = "PUT"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "422", "429"]
"""


def test_the_openapi_document_matches_the_live_server(tmp_path: Path) -> None:
    registry = tmp_path / "registry.toml"
    registry.write_text(REGISTRY_TOML, encoding="utf-8")
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    log = tmp_path / "server.log"
    with LiveServer(registry, f"sqlite:///{tmp_path / 'st.db'}", log_path=log) as server:
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color", "run",
             f"{server.url}/schema/openapi.json"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )
    report = run.stdout[-20_000:] + run.stderr[-5_000:]
    assert run.returncode == 0, report
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace"), log.read_text()[-5_000:]
