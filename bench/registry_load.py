"""Registry validation and activation cost for 10, 100 and 1,000 preference types.

Run: ``python bench/registry_load.py [--repeat N]``

Prints, per size: full load (parse + decode + validate + snapshot) and swap, the cost of a reload that
changes one type, and the ratio to a baseline measured in the same run (parsing the same TOML text into
plain dicts, i.e. the work no registry can avoid). Then it measures reads of the live registry while a
thread reloads it continuously, against reads with no reload running: reads must never block.
Target: 1,000 types validated and swapped in under 300 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._support import percentile  # noqa: E402
from preference_registry import RegistryService, load_registry  # noqa: E402

__all__ = ["make_registry"]


def make_registry(types: int, *, variant: str = "") -> str:
    """A valid TOML registry with ``types`` preference types: a third each of consents, sliders, filters."""
    lines = ['[shop]\nname = "Bench"\ndefault_locale = "pl"\nlocales = ["pl", "en"]\n',
             '[[sections]]\nkey = "main"\ntitle = { pl = "Główne", en = "Main" }\n']
    for index in range(types):
        text = f'title = {{ pl = "Preferencja {index}{variant if index == 0 else ""}", en = "Preference {index}" }}\n'
        text += f'description = {{ pl = "Opis {index}", en = "Description {index}" }}\n'
        kind = index % 3
        if kind == 0 or index < 1:
            lines.append(f'[[preferences]]\nkey = "consent_{index}"\nkind = "consent"\npurpose = "purpose_{index}"\n'
                         f'section = "main"\ngpc = true\nexpires_after_days = 365\n{text}'
                         'data_used = { pl = ["e-mail"], en = ["e-mail"] }\nbenefit = { pl = "Korzyść", en = "Benefit" }\n')
        elif kind == 1:
            lines.append(f'[[preferences]]\nkey = "slider_{index}"\nkind = "slider"\nmin = 0\nmax = 10\nstep = 1\n'
                         f'default = 5\nrequires = ["consent_0"]\nsection = "main"\n{text}'
                         'stops = [{ value = 0, label = { pl = "Nic", en = "None" } }, '
                         '{ value = 10, label = { pl = "Dużo", en = "Lots" } }]\n')
        else:
            lines.append(f'[[preferences]]\nkey = "filter_{index}"\nkind = "filter"\nmultiple = true\ndefault = []\n'
                         f'section = "main"\napplies_to = {{ attribute = "attr_{index}", rule = "prefer" }}\n{text}'
                         'options = [{ key = "a", label = { pl = "A", en = "A" } }, '
                         '{ key = "b", label = { pl = "B", en = "B" } }]\n')
    return "\n".join(lines)


def timed(fn, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def read_latencies(service: RegistryService, duration: float) -> list[float]:
    samples = []
    deadline = time.perf_counter() + duration
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        snapshot = service.current
        snapshot.get("consent_0")
        samples.append((time.perf_counter() - start) * 1_000_000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'types':>6} {'baseline parse ms':>18} {'load+swap ms':>13} {'ratio':>6} {'reload-one ms':>14} {'ratio':>6}")
    for size in (10, 100, 1000):
        text = make_registry(size)
        edited = make_registry(size, variant=" (nowe)")
        baseline = statistics.median(timed(lambda: tomllib.loads(text), args.repeat))
        start_snapshot = load_registry(make_registry(1), "toml")
        fresh = [RegistryService(start_snapshot) for _ in range(args.repeat)]
        load = statistics.median(timed(lambda: fresh.pop().activate(load_registry(text, "toml")), args.repeat))
        service = RegistryService(load_registry(text, "toml"))
        toggles = iter(range(10**9))
        reload_one = statistics.median(timed(
            lambda: service.submit(edited if next(toggles) % 2 == 0 else text, "toml"), args.repeat))
        print(f"{size:>6} {baseline:>18.2f} {load:>13.2f} {load / baseline:>6.1f} {reload_one:>14.2f}"
              f" {reload_one / baseline:>6.1f}")
        if size == 1000:
            verdict = "OK" if load < 300 else "OVER TARGET"
            print(f"  target: 1,000 types validated+swapped < 300 ms -> {load:.1f} ms ({verdict})")

    service = RegistryService(load_registry(make_registry(1000), "toml"))
    quiet = read_latencies(service, 1.0)
    stop = threading.Event()
    texts = [make_registry(1000), make_registry(1000, variant=" v2")]
    reloads = [0]

    def reloader() -> None:
        while not stop.is_set():
            service.submit(texts[reloads[0] % 2], "toml")
            reloads[0] += 1

    thread = threading.Thread(target=reloader)
    thread.start()
    busy = read_latencies(service, 2.0)
    stop.set()
    thread.join()
    print(f"\nreads of the live registry (µs): quiet p50 {percentile(quiet, .5):.2f} p99 {percentile(quiet, .99):.2f}; "
          f"during {reloads[0]} reloads of 1,000 types p50 {percentile(busy, .5):.2f} p99 {percentile(busy, .99):.2f} "
          f"(p99 ratio {percentile(busy, .99) / percentile(quiet, .99):.1f}x; the GIL, not a lock, is what readers share)")


if __name__ == "__main__":
    main()
