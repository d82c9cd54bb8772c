"""Schemathesis against the live OpenAPI document of the real app (``prefkit serve`` on a free port,
SQLite file): every generated request — valid (positive) and schema-violating (negative) — is answered
with a status the document declares and the content type it declares, never with a 5xx.

Bounded: a fixed number of examples per operation and mode keeps the run well under three minutes.
(The strategies are driven by Hypothesis directly: schemathesis' own pytest integration does not run on
pytest 9.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from _bff_app import write_registry
from _live_server import ADMIN_KEY, API_KEY, LiveServer
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

EXAMPLES = 60
HEADERS = {"X-Prefkit-CSRF": "1", "X-Admin-Key": ADMIN_KEY, "X-API-Key": API_KEY}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    workdir = tmp_path_factory.mktemp("fuzz")
    registry = write_registry(workdir)
    # Rate limit off: the fuzzer's burst is not an attack (the limit itself is tested in test_security.py).
    with LiveServer(registry, f"sqlite:///{workdir / 'fuzz.db'}", log_path=workdir / "server.log") as server:
        yield server, workdir / "server.log"


def _operations(server: LiveServer) -> list[Any]:
    schema = schemathesis.openapi.from_url(server.url + "/schema/openapi.json", timeout=30)
    schema.config.update(base_url=server.url)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
def test_every_generated_request_gets_a_documented_non_5xx_answer(
    live_api: tuple[LiveServer, Path], mode: GenerationMode
) -> None:
    server, log = live_api
    operations = _operations(server)
    assert len(operations) >= 15, [op.label for op in operations]
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(base_url=server.url, headers=HEADERS, timeout=30, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # an operation without inputs has no invalid input
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report all
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    text = log.read_text()
    assert "Traceback" not in text and "unhandled error" not in text, text[-4000:]
