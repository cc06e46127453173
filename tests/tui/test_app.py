"""The terminal client follows a real hub: events published over MQTT show up in the TUI."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from etude_hub.app import create_app
from etude_hub.config import HubConfig
from etude_protocol import (
    FeedbackItem,
    NoteOff,
    NoteOn,
    PositionRevision,
    PositionsRevised,
    ScorePosition,
    SessionAnalysis,
    SessionStarted,
    Topics,
    encode,
    utc_now,
)
from etude_tui.app import EtudeApp
from etude_tui.client import LiveStream
from etude_tui.widgets import AnalysisPanel, Keyboard, NoteLog, SessionPanel
from etude_tui.widgets.analysis_panel import describe
from etude_tui.widgets.note_log import note_name
from support.checks import eventually
from support.events import named_session
from support.mqtt import publish_all
from support.servers import MosquittoServer

NS = "tuitest"


@pytest.fixture
async def hub_url(tmp_path: object, mosquitto: MosquittoServer) -> AsyncIterator[str]:
    config = HubConfig(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/hub.db",
        mqtt_port=mosquitto.port,
        base_topic=NS,
        mqtt_client_id="hub-tuitest",
    )
    async with TestServer(create_app(config)) as server, TestClient(server) as client:

        async def connected() -> bool:  # MQTT subscription in place
            health = await (await client.get("/api/v1/health")).json()
            return bool(health["data"]["mqtt"] == "connected")

        await eventually(connected, 20, "the hub's MQTT connection")
        yield str(server.make_url("/"))


def events(device: str) -> list[tuple[str, bytes]]:
    topics, now, sid = Topics(NS), utc_now(), uuid.uuid4()
    out = [SessionStarted(device_id=device, seq=1, ts=now, session_id=sid, source="test")]
    seq = 1
    for i, pitch in enumerate([60, 64, 67]):
        seq += 1
        out.append(
            NoteOn(
                device_id=device,
                seq=seq,
                ts=now,
                session_id=sid,
                pitch=pitch,
                velocity=80 + i,
                session_time=1.0 + i,
            )
        )
    seq += 1
    out.append(
        NoteOff(device_id=device, seq=seq, ts=now, session_id=sid, pitch=60, session_time=4.0)
    )
    return [(topics.event(device, e.kind), encode(e)) for e in out]


async def test_tui_shows_live_notes(hub_url: str, mosquitto: MosquittoServer) -> None:
    app = EtudeApp(hub_url, "tui-room")
    async with app.run_test() as pilot:
        panel = app.query_one(SessionPanel)
        for _ in range(100):
            if panel.connected:
                break
            await pilot.pause(0.05)
        assert panel.connected
        await asyncio.to_thread(publish_all, mosquitto.port, events("tui-room"))
        for _ in range(200):
            if panel.notes == 3 and app.query_one(Keyboard).sounding == {64, 67}:
                break
            await pilot.pause(0.05)
        assert panel.notes == 3 and panel.in_session
        assert app.query_one(Keyboard).sounding == {64, 67}  # 60 was released
        assert app.query_one(NoteLog).row_count == 3
        assert app.stream.last_seq == 5
        await pilot.press("c")
        assert app.query_one(NoteLog).row_count == 0


def test_note_names() -> None:
    assert [note_name(p) for p in (21, 60, 61, 108)] == ["A0", "C4", "C♯4", "C8"]


def analysis(device: str, seq: int, **fields: object) -> SessionAnalysis:
    return SessionAnalysis(
        device_id=device, seq=seq, ts=utc_now(), session_id=uuid.uuid4(), **fields
    )


async def test_tui_shows_the_session_analysis(hub_url: str, mosquitto: MosquittoServer) -> None:
    app = EtudeApp(hub_url, "tui-analysis")
    event = analysis(
        "tui-analysis",
        1,
        piece="Mozart K. 331",
        first_bar=12,
        last_bar=20,
        overall_score=87.0,
        pitch_accuracy=0.93,
        rhythm_accuracy=0.81,
        missed=4,
        feedback=[
            FeedbackItem(
                kind="notes",
                bars=(12, 14),
                hand="left",
                message="Bars 12–14, left hand: 3 missed notes",
            )
        ],
    )
    async with app.run_test() as pilot:
        panel = app.query_one(AnalysisPanel)
        assert not panel.has_class("shown")
        topic = Topics(NS).event("tui-analysis", event.kind)
        await asyncio.to_thread(publish_all, mosquitto.port, [(topic, encode(event))])
        for _ in range(200):
            if panel.has_class("shown"):
                break
            await pilot.pause(0.05)
        assert panel.has_class("shown")
    text = describe(event).plain
    assert "Mozart K. 331, bars 12–20" in text and "score 87" in text and "pitch 93%" in text
    assert "1. Bars 12–14, left hand: 3 missed notes" in text


def test_free_play_analysis_text() -> None:
    text = describe(
        analysis("room", 1, tempo_bpm=96.4, tempo_stability=0.9, evenness=0.75, dynamics_range=0.2)
    ).plain
    assert text.startswith("Free play") and "tempo 96 bpm" in text and "evenness 75%" in text
    assert "well played" not in text


async def test_tui_follows_the_piece(hub_url: str, mosquitto: MosquittoServer) -> None:
    device, sid, now = "tui-follow", uuid.uuid4(), utc_now()
    topics = Topics(NS)
    out: list[object] = [*named_session(device, sid, now, "Mozart K. 331", "k331.xml")]
    for seq, (bar, label) in enumerate([(1, "match"), (2, "match"), (2, "extra")], start=3):
        position = ScorePosition(bar=bar, beat=1.0, label=label)
        out.append(
            NoteOn(
                device_id=device,
                seq=seq,
                ts=now,
                session_id=sid,
                pitch=60 + seq,
                velocity=70,
                session_time=float(seq),
                position=position,
            )
        )
    app = EtudeApp(hub_url, device)
    async with app.run_test() as pilot:
        panel = app.query_one(SessionPanel)
        for _ in range(100):
            if panel.connected:
                break
            await pilot.pause(0.05)
        messages = [(topics.event(device, e.kind), encode(e)) for e in out]  # type: ignore[attr-defined]
        await asyncio.to_thread(publish_all, mosquitto.port, messages)
        for _ in range(200):
            if panel.notes == 3:
                break
            await pilot.pause(0.05)
        assert panel.piece == "Mozart K. 331" and panel.bar == 2
        assert "Mozart K. 331, bar 2" in str(panel.render())
        log = app.query_one(NoteLog)
        assert [log.get_row_at(k)[3] for k in range(3)] == ["bar 1 beat 1", "bar 2 beat 1", "extra"]
        # The follower places the extra note anew (it was the next beat's, played early).
        again = PositionsRevised(
            device_id=device,
            seq=6,
            ts=now,
            session_id=sid,
            revisions=[
                PositionRevision(seq=5, position=ScorePosition(bar=2, beat=2.5, label="match"))
            ],
        )
        await asyncio.to_thread(
            publish_all, mosquitto.port, [(topics.event(device, again.kind), encode(again))]
        )

        async def placed_anew() -> bool:
            return bool(log.get_row_at(2)[3] == "bar 2 beat 2.5")

        await eventually(placed_anew, 10, "the revised position in the note log")
        assert log.get_row_at(1)[3] == "bar 2 beat 1"


async def test_the_stream_starts_at_the_second_newest_session(
    hub_url: str, mosquitto: MosquittoServer
) -> None:
    device, topics = "tui-history", Topics(NS)
    messages, seq = [], 0
    for take in range(3):
        sid, ts = uuid.uuid4(), utc_now() + timedelta(seconds=take)
        seq += 1
        start = SessionStarted(device_id=device, seq=seq, ts=ts, session_id=sid, source="test")
        seq += 1
        note = NoteOn(
            device_id=device,
            seq=seq,
            ts=ts,
            session_id=sid,
            pitch=60,
            velocity=70,
            session_time=0.0,
        )
        messages += [(topics.event(device, e.kind), encode(e)) for e in (start, note)]
    await asyncio.to_thread(publish_all, mosquitto.port, messages)
    stream = LiveStream(hub_url, device)
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            if await stream.replay_start(http) == 2:  # take 2 starts at seq 3
                break
            await asyncio.sleep(0.1)
        assert await stream.replay_start(http) == 2
        assert await LiveStream(hub_url, "nobody-here").replay_start(http) == 0
