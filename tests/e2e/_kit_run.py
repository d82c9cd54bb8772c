"""Running the QA kit as a shop's QA project does: ``python -m pytest ...`` in a folder of its own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["run_kit"]


def run_kit(
    folder: Path,
    *args: str,
    ini: str = "[pytest]\n",
    env: Mapping[str, str] | None = None,
    timeout_s: float = 540,
) -> subprocess.CompletedProcess[str]:
    """``pytest -p no:cacheprovider -q ARGS`` in ``folder`` with its own ``pytest.ini`` (so prefkit's
    configuration does not apply), with the interpreter running this suite; output captured."""
    (folder / "pytest.ini").write_text(ini)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        check=False,
        cwd=folder,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )
