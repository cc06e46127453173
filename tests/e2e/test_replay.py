"""A real performance, end to end: MIDI file → bridge → broker → hub → database → WebSocket.

Runs on both back-ends: PostgreSQL + Mosquitto, and SQLite + the embedded broker.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from support.checks import LiveClient, events_stored, eventually
from support.etude import count_note_ons, events_sent, performance, start_bridge, start_hub
from support.midi import VIENNA

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
        counts = await events_stored(backend.database_url, events_sent(bridge))  # type: ignore[attr-defined]
    finally:
        await client.stop()
        hub.proc.terminate()

    assert f"replay finished: {expected} notes" in bridge.log()
    assert counts.note_ons == counts.distinct_note_ons == expected
    assert counts.events == counts.distinct_events == counts.max_seq
    assert counts.sessions == 1
    seqs = client.note_on_seqs()
    assert len(seqs) == len(set(seqs)) == expected


async def test_a_finished_session_is_assessed_against_the_score_library(
    backend: object, tmp_path: Path
) -> None:
    """The bridge names the piece from its library, follows it live (each note's place in the
    score) and sends its analysis at the end; the hub stores it, serves it and pushes it all
    to the live stream."""
    library = tmp_path / "library"
    library.mkdir()
    for piece in ("Chopin_op10_no3", "Mozart_K331_1st-mov"):
        shutil.copy(VIENNA / "musicxml" / f"{piece}.musicxml", library)
    hub = await asyncio.to_thread(
        start_hub,
        tmp_path,
        backend.database_url,  # type: ignore[attr-defined]
        backend.mqtt_port,  # type: ignore[attr-defined]
        backend.env,  # type: ignore[attr-defined]
    )
    client = LiveClient(hub.url)
    client.start()
    try:
        bridge = start_bridge(
            tmp_path,
            backend.mqtt_port,  # type: ignore[attr-defined]
            performance("Chopin_op10_no3_p01"),
            speed=50,
            extra=["--score-library", str(library)],
            env=backend.env,  # type: ignore[attr-defined]
        )
        assert await asyncio.to_thread(bridge.popen.wait, 180) == 0, bridge.log()[-3000:]

        async def analysed() -> bool:
            return any(e["kind"] == "session_analysis" for e in client.events)

        await eventually(analysed, 60, "the session's analysis on the live stream")
        sessions = await asyncio.to_thread(hub.get, "/api/v1/devices/piano-1/sessions")
        analysis = await asyncio.to_thread(
            hub.get, f"/api/v1/sessions/{sessions[0]['id']}/analysis"
        )
    finally:
        await client.stop()
        hub.proc.terminate()

    assert sessions[0]["piece_name"] == analysis["piece"]
    assert analysis["score"] == "Chopin_op10_no3.musicxml"
    assert analysis["first_bar"] == 1 and analysis["pitch_accuracy"] > 0.9
    assert 0 < analysis["overall_score"] <= 100
    assert all(set(item) >= {"kind", "message"} for item in analysis["feedback"])
    named = next(e for e in client.events if e["kind"] == "piece_recognised")
    assert named["score"] == "Chopin_op10_no3.musicxml"
    placed = [e["position"] for e in client.events if e["kind"] == "note_on" and e["position"]]
    assert len(placed) > 300 and sum(p["label"] == "match" for p in placed) > 0.95 * len(placed)
    live = next(e for e in client.events if e["kind"] == "session_analysis")
    ended = next(e for e in client.events if e["kind"] == "session_ended")
    assert live["seq"] > ended["seq"] and live["session_id"] == sessions[0]["id"]
