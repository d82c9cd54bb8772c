"""HTTP load from ``wrk``, an external C client, so the figures measure the server and not the load generator.

On a 2-core machine a Python client competes with the server for the CPU and mostly measures itself; wrk
(Debian's package) drives keep-alive connections from one epoll thread at a fraction of that cost.

``ensure_wrk()`` installs it with apt-get when it is missing (root, or sudo without a password), which is the
benchmarks' setup step; ``run_wrk()`` runs one bounded load and returns what wrk measured.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["WrkResult", "ensure_wrk", "run_wrk"]

_MARK = "PREFKIT_WRK "

# Requests rotate over the given cookies and bodies, so a run spreads over many subjects and each subject
# alternates values; `done` prints one JSON line that run_wrk() parses (wrk's own summary is for people).
_SCRIPT = """
local method, path = %(method)s, %(path)s
local cookies, bodies = %(cookies)s, %(bodies)s
local base = %(headers)s
local counter = 0
local threads, next_index = %(threads)d, 0

-- Each thread takes every threads-th cookie: with per-thread counters over shared cookies, two threads would
-- send one subject the same value in turn and a PUT would repeat it instead of changing it.
setup = function(thread)
  thread:set("thread_index", next_index)
  next_index = next_index + 1
end

init = function(args)
  if threads > 1 and #cookies >= threads then
    local own = {}
    for i, cookie in ipairs(cookies) do
      if (i - 1) %% threads == thread_index then own[#own + 1] = cookie end
    end
    cookies = own
  end
end

request = function()
  counter = counter + 1
  local headers = {}
  for name, value in pairs(base) do headers[name] = value end
  if #cookies > 0 then headers["Cookie"] = cookies[(counter %% #cookies) + 1] end
  local body = nil
  if #bodies > 0 then
    -- A subject's turn comes every #cookies requests: step the body once per full turn, so each subject
    -- alternates values (true, false, ...) and every PUT is a real change, never a repeat of its value.
    body = bodies[(math.floor(counter / math.max(#cookies, 1)) %% #bodies) + 1]
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, path, headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: completed requests over the measured seconds, latency percentiles, failed requests."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    """Connect/read/write errors, timeouts and responses with a status of 400 or more."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str:
    """The path of ``wrk``, installing Debian's package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if not shutil.which("apt-get"):
        raise SystemExit("wrk is missing and there is no apt-get here: install wrk by hand")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("wrk missing: installing Debian's package 'wrk'", flush=True)
    install = [*sudo, "apt-get", "install", "-y", "-q", "--no-install-recommends", "wrk"]
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run([*sudo, "apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get install wrk did not provide a wrk command")
    return found


def _lua(value: object) -> str:
    """A Lua literal for a string, a list of strings or a string-to-string table (JSON strings are valid
    Lua strings for the ASCII we send, and escape quotes and backslashes)."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in value.items()) + "}"
    assert isinstance(value, list)
    return "{" + ", ".join(json.dumps(item) for item in value) + "}"


def run_wrk(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    bodies: list[bytes] | None = None,
    connections: int = 32,
    threads: int = 1,
    seconds: float = 5.0,
) -> WrkResult:
    """Run ``wrk`` against ``url`` for ``seconds`` with ``connections`` keep-alive connections."""
    from urllib.parse import urlsplit

    wrk = ensure_wrk()
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    script = _SCRIPT % {
        "method": _lua(method),
        "path": _lua(path or "/"),
        "cookies": _lua(list(cookies or [])),
        "bodies": _lua([body.decode("ascii") for body in bodies or []]),
        "headers": _lua(dict(headers or {})),
        "mark": _MARK,
        "threads": threads,
    }
    with tempfile.TemporaryDirectory(prefix="prefkit-wrk-") as tmp:
        script_path = Path(tmp) / "load.lua"
        script_path.write_text(script)
        # wrk counts whole seconds only below 1 s poorly: keep at least one second per run.
        duration = max(1, round(seconds))
        completed = subprocess.run(
            [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
             "-s", str(script_path), f"{parts.scheme}://{parts.netloc}/"],
            capture_output=True,
            text=True,
            check=False,
        )
    line = next((row for row in completed.stdout.splitlines() if row.startswith(_MARK)), None)
    if completed.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed (exit {completed.returncode}): {completed.stderr or completed.stdout}")
    data = json.loads(line[len(_MARK):])
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=data["errors"],
    )
