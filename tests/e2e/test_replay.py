"""A real performance, end to end: MIDI file → bridge → broker → hub → database → WebSocket.

Runs on both back-ends: PostgreSQL + Mosquitto, and SQLite + the embedded broker.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from support.checks import LiveClient, stored_counts
from support.etude import count_note_ons, performance, start_bridge, start_hub

pytestmark = pytest.mark.e2e


async def test_every_note_is_stored_once_and_reaches_a_websocket_client(
    backend: object, tmp_path: Path
) -> None:
    midi = performance("Chopin_op10_no3_p01")
    expected = count_note_ons(midi)
    hub = await asyncio.to_thread(
        start_hub,
        tmp_path,
        backend.database_url,
        backend.mqtt_port,
        backend.env,  # type: ignore[attr-defined]
    )
    client = LiveClient(hub.url)
    client.start()
    try:
        bridge = start_bridge(tmp_path, backend.mqtt_port, midi, speed=25, env=backend.env)  # type: ignore[attr-defined]
        assert await asyncio.to_thread(bridge.popen.wait, 120) == 0, bridge.log()[-3000:]
        await client.wait_for_note_ons(expected, timeout=60)
        counts = await stored_counts(backend.database_url)  # type: ignore[attr-defined]
    finally:
        await client.stop()
        hub.proc.terminate()

    assert f"replay finished: {expected} notes" in bridge.log()
    assert counts.note_ons == counts.distinct_note_ons == expected
    assert counts.events == counts.distinct_events == counts.max_seq
    assert counts.sessions == 1
    seqs = client.note_on_seqs()
    assert len(seqs) == len(set(seqs)) == expected
