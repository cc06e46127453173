"""The hub is killed mid-replay and started again: every note is still stored exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from support.checks import LiveClient, events_stored, stored_counts
from support.etude import count_note_ons, events_sent, performance, start_bridge, start_hub
from support.servers import MosquittoServer, PostgresServer

pytestmark = pytest.mark.e2e


async def test_hub_killed_mid_replay_still_stores_every_note_once(
    postgres: PostgresServer, mosquitto: MosquittoServer, tmp_path: Path
) -> None:
    url = postgres.create_database("etude_restart")
    env = {
        "ETUDE_HUB_BASE_TOPIC": "restart",
        "ETUDE_BRIDGE_BASE_TOPIC": "restart",
        "ETUDE_HUB_MQTT_CLIENT_ID": "hub-restart",
    }
    midi = performance("Chopin_op10_no3_p01")
    expected = count_note_ons(midi)

    hub = await asyncio.to_thread(start_hub, tmp_path, url, mosquitto.port, env, "hub-1")
    client = LiveClient(hub.url)
    client.start()
    bridge = start_bridge(tmp_path, mosquitto.port, midi, speed=8, env=env)
    try:
        while (await stored_counts(url)).note_ons < expected // 4:
            assert bridge.popen.poll() is None, "the replay ended before the hub was killed"
            await asyncio.sleep(0.05)
        hub.proc.kill()  # SIGKILL: no clean shutdown, no chance to flush anything
        at_kill = await stored_counts(url)
        await asyncio.sleep(1.5)
        hub = await asyncio.to_thread(start_hub, tmp_path, url, mosquitto.port, env, "hub-2")
        client.base_url = hub.url
        assert await asyncio.to_thread(bridge.popen.wait, 120) == 0, bridge.log()[-3000:]
        await client.wait_for_note_ons(expected, timeout=60)
        counts = await events_stored(url, events_sent(bridge))
    finally:
        await client.stop()
        hub.proc.terminate()
        if bridge.popen.poll() is None:
            bridge.kill()

    assert at_kill.note_ons < expected, "the hub must be killed while notes are still coming"
    assert "hub is offline: holding events in the outbox" in bridge.log()
    assert counts.note_ons == counts.distinct_note_ons == expected
    assert counts.events == counts.distinct_events == counts.max_seq
    seqs = client.note_on_seqs()
    assert len(seqs) == len(set(seqs)) == expected
    assert client.connections >= 2
