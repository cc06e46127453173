"""The REST API and the WebSocket live stream, in-process through the app factory."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient

from etude_hub.config import HubConfig
from etude_protocol import (
    Availability,
    NoteOff,
    NoteOn,
    SessionAnalysis,
    SessionEnded,
    SessionStarted,
    Topics,
    encode,
    utc_now,
)
from support.checks import eventually, in_process_hub
from support.mqtt import publish_all
from support.servers import MosquittoServer

NS = "apitest"
TOPICS = Topics(NS)
SESSION = uuid.uuid4()


def take(device: str, first_seq: int, notes: int, heard: bool = False) -> list[tuple[str, bytes]]:
    """A short session: start, `notes` note on/off pairs, end; with `heard`, every other note
    comes from the microphone."""
    out: list[tuple[str, bytes]] = []
    seq = first_seq
    now = utc_now()

    def add(event: object) -> None:
        out.append((TOPICS.event(device, event.kind), encode(event)))  # type: ignore[attr-defined]

    add(SessionStarted(device_id=device, seq=seq, ts=now, session_id=SESSION, source="test"))
    for i in range(notes):
        origin = "audio" if heard and i % 2 else "midi"
        seq += 1
        add(
            NoteOn(
                device_id=device,
                seq=seq,
                ts=now,
                session_id=SESSION,
                pitch=60 + i % 12,
                velocity=70,
                session_time=i * 0.5,
                origin=origin,
            )
        )
        seq += 1
        add(
            NoteOff(
                device_id=device,
                seq=seq,
                ts=now,
                session_id=SESSION,
                pitch=60 + i % 12,
                session_time=i * 0.5 + 0.25,
                origin=origin,
            )
        )
    seq += 1
    add(
        SessionEnded(
            device_id=device,
            seq=seq,
            ts=now,
            session_id=SESSION,
            duration_seconds=notes * 0.5,
            note_count=notes,
        )
    )
    return out


@pytest.fixture
async def client(sqlite_url: str, mosquitto: MosquittoServer) -> AsyncIterator[TestClient]:
    config = HubConfig(
        database_url=sqlite_url,
        mqtt_port=mosquitto.port,
        base_topic=NS,
        mqtt_client_id=f"hub-{uuid.uuid4().hex[:8]}",
    )
    async with in_process_hub(config) as c:
        yield c


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/hub.db"


async def test_websocket_resumes_from_the_last_seq_it_saw(
    client: TestClient, mosquitto: MosquittoServer
) -> None:
    device = "ws-resume"
    messages = take(device, 1, 20)  # 42 events
    await asyncio.to_thread(publish_all, mosquitto.port, messages[:20])

    first: list[int] = []
    async with client.ws_connect(f"/api/v1/devices/{device}/live?since=0") as ws:
        while len(first) < 20:
            data = await ws.receive_json(timeout=10)
            if data["type"] == "event":
                first.append(data["event"]["seq"])
    assert first == list(range(1, 21))

    # Disconnected: the rest arrives meanwhile. Reconnecting with since=20 gets exactly it.
    await asyncio.to_thread(publish_all, mosquitto.port, messages[20:])
    second: list[int] = []
    replay_done = None
    async with client.ws_connect(f"/api/v1/devices/{device}/live?since=20") as ws:
        while len(second) < 22:
            data = await ws.receive_json(timeout=10)
            if data["type"] == "event":
                second.append(data["event"]["seq"])
            elif data["type"] == "replay_done":
                replay_done = data["last_seq"]
    assert second == list(range(21, 43))
    assert replay_done is not None and replay_done <= 42


async def test_live_events_follow_the_replay_without_gaps(
    client: TestClient, mosquitto: MosquittoServer
) -> None:
    device = "ws-live"
    messages = take(device, 1, 30)
    async with client.ws_connect(f"/api/v1/devices/{device}/live") as ws:
        assert (await ws.receive_json(timeout=10)) == {"type": "replay_done", "last_seq": 0}
        await asyncio.to_thread(publish_all, mosquitto.port, messages)
        seen: list[int] = []
        while len(seen) < len(messages):
            data = await ws.receive_json(timeout=10)
            if data["type"] == "event":
                seen.append(data["event"]["seq"])
    assert seen == list(range(1, len(messages) + 1))


async def test_devices_sessions_and_notes_api(
    client: TestClient, mosquitto: MosquittoServer
) -> None:
    device = "api-dev"
    await asyncio.to_thread(
        publish_all,
        mosquitto.port,
        [
            (TOPICS.device_state(device), encode(Availability(state="online"))),
            *take(device, 1, 5, heard=True),
        ],
    )

    async def stored() -> bool:
        reply = await (await client.get(f"/api/v1/devices/{device}")).json()
        return reply["status"] == "ok" and reply["data"]["last_seq"] == 12

    await eventually(stored, 20, "the device's 12 events")
    devices = (await (await client.get("/api/v1/devices")).json())["data"]
    assert [d["id"] for d in devices if d["id"] == device] == [device]
    assert next(d for d in devices if d["id"] == device)["availability"] == "online"
    sessions = (await (await client.get(f"/api/v1/devices/{device}/sessions")).json())["data"]
    assert len(sessions) == 1 and sessions[0]["note_count"] == 5
    assert sessions[0]["ended_at"] is not None
    notes = (await (await client.get(f"/api/v1/sessions/{sessions[0]['id']}/notes")).json())["data"]
    assert [n["on"] for n in notes] == [True, False] * 5
    # Played on the keys or heard by the microphone: each note says which.
    assert [n["origin"] for n in notes] == [o for o in ["midi", "audio"] * 3 for _ in (0, 1)][:10]


async def test_api_errors_use_the_envelope(client: TestClient) -> None:
    reply = await client.get("/api/v1/devices/nobody")
    assert reply.status == 404
    assert (await reply.json())["error"]["code"] == "not_found"
    reply = await client.get("/api/v1/sessions/not-a-uuid/notes")
    assert reply.status == 400
    reply = await client.get("/api/v1/devices/Bad%20Id/live")
    assert reply.status == 400
    reply = await client.get("/api/v1/devices/ok/live?since=-4")
    assert reply.status == 400
    reply = await client.get("/api/v1/nothing-here")
    assert reply.status == 404 and (await reply.json())["status"] == "error"


async def test_page_is_served_with_security_headers(client: TestClient) -> None:
    reply = await client.get("/")
    assert reply.status == 200
    assert "<canvas" in await reply.text()
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in reply.headers["Content-Security-Policy"]
    assert (await client.get("/static/roll.js")).status == 200


def analysis(device: str, seq: int, session_id: uuid.UUID = SESSION) -> tuple[str, bytes]:
    event = SessionAnalysis(
        device_id=device,
        seq=seq,
        ts=utc_now(),
        session_id=session_id,
        piece="Mozart K. 331",
        score="mozart.musicxml",
        confidence=0.97,
        first_bar=1,
        last_bar=18,
        pitch_accuracy=0.95,
        rhythm_accuracy=0.8,
        dynamics_range=0.3,
        overall_score=88.5,
        matched=300,
        missed=12,
        feedback=[
            {
                "kind": "notes",
                "bars": (12, 14),
                "hand": "left",
                "message": "Bars 12–14, left hand: 3 missed notes",
            }
        ],
    )
    return TOPICS.event(device, event.kind), encode(event)


async def test_a_session_analysis_is_stored_and_served(
    client: TestClient, mosquitto: MosquittoServer
) -> None:
    device = "api-analysis"
    messages = [*take(device, 1, 5), analysis(device, 13)]
    await asyncio.to_thread(publish_all, mosquitto.port, messages)

    async def analysed() -> bool:
        reply = await client.get(f"/api/v1/sessions/{SESSION}/analysis")
        return reply.status == 200

    await eventually(analysed, 20, "the session's analysis")
    data = (await (await client.get(f"/api/v1/sessions/{SESSION}/analysis")).json())["data"]
    assert data["piece"] == "Mozart K. 331" and data["overall_score"] == 88.5
    assert data["feedback"][0]["bars"] == [12, 14] and data["feedback"][0]["hand"] == "left"
    assert data["session_id"] == str(SESSION) and "seq" not in data
    sessions = (await (await client.get(f"/api/v1/devices/{device}/sessions")).json())["data"]
    assert sessions[0]["piece_name"] == "Mozart K. 331"
    assert sessions[0]["analysed"] is True and sessions[0]["overall_score"] == 88.5
    assert sessions[0]["first_seq"] == 1  # its session_started: where to replay it from
    # The live stream carries it too, after the notes.
    async with client.ws_connect(f"/api/v1/devices/{device}/live?since=12") as ws:
        data = await ws.receive_json(timeout=10)
    assert data["type"] == "event" and data["event"]["kind"] == "session_analysis"


async def test_analysis_errors(client: TestClient, mosquitto: MosquittoServer) -> None:
    assert (await client.get("/api/v1/sessions/not-a-uuid/analysis")).status == 400
    reply = await client.get(f"/api/v1/sessions/{uuid.uuid4()}/analysis")
    assert reply.status == 404 and "no session" in (await reply.json())["error"]["message"]
    # A session without an analysis (too short, or not sent yet): 404 saying so.
    other = uuid.uuid4()
    start = SessionStarted(device_id="api-short", seq=1, ts=utc_now(), session_id=other, source="t")
    await asyncio.to_thread(
        publish_all, mosquitto.port, [(TOPICS.event("api-short", start.kind), encode(start))]
    )

    async def stored() -> bool:
        return (await client.get("/api/v1/devices/api-short/sessions")).status == 200 and bool(
            (await (await client.get("/api/v1/devices/api-short/sessions")).json())["data"]
        )

    await eventually(stored, 20, "the short session")
    reply = await client.get(f"/api/v1/sessions/{other}/analysis")
    assert reply.status == 404 and "no analysis" in (await reply.json())["error"]["message"]
