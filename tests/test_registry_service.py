"""The live registry: atomic swaps, rejected edits keep the last good version, file watching."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from preference_registry import RegistryLoadError, RegistryService, load_registry

from test_registry_load import CONTRACT

NEW_TYPE = """
[[preferences]]
key = "gift_wrap"
kind = "filter"
title = { pl = "Pakowanie na prezent", en = "Gift wrapping" }
options = [{ key = "yes", label = { pl = "Tak", en = "Yes" } }]
"""


def test_submit_swaps_and_notifies_subscribers() -> None:
    service = RegistryService(load_registry(CONTRACT, "toml"))
    seen: list[str] = []
    service.subscribe(lambda snapshot: seen.append(snapshot.version))
    old = service.current
    new = service.submit(CONTRACT + NEW_TYPE, "toml", "edit")
    assert service.current is new and "gift_wrap" in new and "gift_wrap" not in old
    assert seen == [new.version]
    assert service.submit(CONTRACT + NEW_TYPE, "toml") is not None and seen == [new.version]  # same version: no-op


def test_rejected_document_keeps_the_last_good_registry_and_is_observable() -> None:
    service = RegistryService(load_registry(CONTRACT, "toml"))
    good = service.current
    with pytest.raises(RegistryLoadError):
        service.submit(CONTRACT.replace("max = 2", "max = 0"), "toml", "broken.toml")
    assert service.current is good
    rejection = service.status().last_rejection
    assert rejection is not None and rejection.source == "broken.toml"
    assert [e.path for e in rejection.errors] == ["preferences[1].max"]
    assert service.status().version == good.version


def test_a_failing_subscriber_does_not_block_the_swap_or_other_subscribers() -> None:
    service = RegistryService(load_registry(CONTRACT, "toml"))
    seen: list[str] = []

    def broken(_snapshot) -> None:
        raise RuntimeError("subscriber bug")

    service.subscribe(broken)
    service.subscribe(lambda snapshot: seen.append(snapshot.version))
    new = service.submit(CONTRACT + NEW_TYPE, "toml")
    assert service.current is new and seen == [new.version]


def test_readers_only_ever_see_whole_snapshots_during_reloads() -> None:
    service = RegistryService(load_registry(CONTRACT, "toml"))
    versions = {load_registry(text, "toml").version: text for text in (CONTRACT, CONTRACT + NEW_TYPE)}
    stop = threading.Event()
    torn: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            snapshot = service.current
            # A whole snapshot: its keys match exactly the document of its version.
            expected_new = "gift_wrap" in versions[snapshot.version]
            if ("gift_wrap" in snapshot) != expected_new:
                torn.append(snapshot.version)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for index in range(40):
        service.submit(CONTRACT + (NEW_TYPE if index % 2 == 0 else ""), "toml")
    stop.set()
    for thread in threads:
        thread.join()
    assert torn == []


def test_file_watch_picks_up_edits_and_ignores_broken_ones(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(CONTRACT, encoding="utf-8")
    service = RegistryService.from_file(path)
    first = service.current

    async def scenario() -> None:
        stop = asyncio.Event()
        activated = asyncio.Queue()
        loop = asyncio.get_running_loop()
        service.subscribe(lambda snapshot: loop.call_soon_threadsafe(activated.put_nowait, snapshot))
        watcher = asyncio.create_task(service.watch(stop))
        try:
            # The watcher may start after the first write; keep rewriting until an activation arrives.
            async def wait_for_activation():
                while True:
                    path.write_text(CONTRACT + NEW_TYPE, encoding="utf-8")
                    try:
                        return await asyncio.wait_for(activated.get(), timeout=1.0)
                    except TimeoutError:
                        continue

            snapshot = await asyncio.wait_for(wait_for_activation(), timeout=20)
            assert "gift_wrap" in snapshot and service.current is snapshot

            # An editor saving via rename; the content is broken: the old registry stays live.
            broken = tmp_path / "registry.toml.tmp"
            broken.write_text(CONTRACT + '[[preferences]]\nkey = "x"\nkind = "toggle"\n', encoding="utf-8")
            broken.replace(path)
            deadline = loop.time() + 20
            while service.last_rejection is None:
                assert loop.time() < deadline, "broken edit never noticed"
                await asyncio.sleep(0.05)
            assert service.current is snapshot
            assert service.last_rejection.errors[0].path == "preferences[4].kind"
        finally:
            stop.set()
            await asyncio.wait_for(watcher, timeout=10)

    asyncio.run(scenario())
    assert service.current.version != first.version


def test_unreadable_file_keeps_the_registry(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(CONTRACT, encoding="utf-8")
    service = RegistryService.from_file(path)
    good = service.current
    path.write_bytes(b"\xff\xfe not utf-8")
    assert service.reload() is None and service.current is good
    assert "cannot read" in service.last_rejection.errors[0].message
