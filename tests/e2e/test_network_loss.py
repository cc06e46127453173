"""Local-first: with the broker gone the bridge keeps playing into its outbox, and when the
broker is back every event reaches the hub exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.checks import events_stored, stored_counts
from support.etude import count_note_ons, events_sent, performance, start_bridge, start_hub
from support.servers import MosquittoServer, PostgresServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_broker() -> Iterator[MosquittoServer]:
    # A broker of this test's own, so stopping it disturbs no other test. Persistence keeps
    # the hub's session (and the messages queued for it) across the broker's restart.
    with MosquittoServer(persistence=True) as broker:
        yield broker


async def test_broker_outage_mid_replay_loses_nothing(
    postgres: PostgresServer, own_broker: MosquittoServer, tmp_path: Path
) -> None:
    url = postgres.create_database("etude_outage")
    midi = performance("Chopin_op10_no3_p02")
    expected = count_note_ons(midi)
    hub = await asyncio.to_thread(start_hub, tmp_path, url, own_broker.port)
    bridge = start_bridge(tmp_path, own_broker.port, midi, speed=10)
    try:
        while (await stored_counts(url)).note_ons < expected // 5:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(own_broker.stop_process)
        await asyncio.sleep(3)  # the replay goes on meanwhile, into the outbox
        during = await stored_counts(url)
        await asyncio.to_thread(own_broker.start)
        assert await asyncio.to_thread(bridge.popen.wait, 120) == 0, bridge.log()[-3000:]
        counts = await events_stored(url, events_sent(bridge))
    finally:
        hub.proc.terminate()
        if bridge.popen.poll() is None:
            bridge.kill()
    assert during.note_ons < expected
    assert "events wait in the outbox" in bridge.log()
    assert counts.note_ons == counts.distinct_note_ons == expected
    assert counts.events == counts.distinct_events == counts.max_seq


async def test_bridge_started_without_a_broker_delivers_later(
    postgres: PostgresServer, own_broker: MosquittoServer, tmp_path: Path
) -> None:
    url = postgres.create_database("etude_offline_start")
    midi = performance("Schubert_D783_no15_p03")
    expected = count_note_ons(midi)
    await asyncio.to_thread(own_broker.stop_process)
    bridge = start_bridge(tmp_path, own_broker.port, midi, speed=0, extra=["--drain-timeout", "60"])
    await asyncio.sleep(2)  # the whole take goes into the outbox with no network at all
    assert bridge.popen.poll() is None
    await asyncio.to_thread(own_broker.start)
    hub = await asyncio.to_thread(start_hub, tmp_path, url, own_broker.port)
    try:
        assert await asyncio.to_thread(bridge.popen.wait, 90) == 0, bridge.log()[-3000:]
        counts = await events_stored(url, events_sent(bridge))
    finally:
        hub.proc.terminate()
    assert counts.note_ons == counts.distinct_note_ons == expected
    assert counts.events == counts.max_seq
