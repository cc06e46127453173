"""Malformed, oversized and mismatched MQTT payloads are refused with a logged reason and a
counter; the hub keeps running and the valid events around them are stored."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest
from aiohttp.test_utils import TestClient

from etude_hub.config import HubConfig
from etude_protocol import MAX_PAYLOAD_BYTES, NoteOn, SessionAnalysis, Topics, encode, utc_now
from support.checks import eventually, in_process_hub, stored_counts
from support.mqtt import publish_all
from support.servers import MosquittoServer


def note(seq: int, device: str = "bad-input") -> bytes:
    return encode(
        NoteOn(
            device_id=device, seq=seq, ts=utc_now(), pitch=60, velocity=64, session_time=seq / 10
        )
    )


@pytest.fixture
async def hub_client(pg_url: str, mosquitto: MosquittoServer) -> TestClient:  # type: ignore[misc]
    config = HubConfig(
        database_url=pg_url,
        mqtt_port=mosquitto.port,
        base_topic="badinput",
        mqtt_client_id="hub-badinput",
    )
    async with in_process_hub(config) as client:
        yield client


async def test_bad_payloads_are_rejected_counted_and_lose_nothing(
    hub_client: TestClient,
    mosquitto: MosquittoServer,
    pg_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topics = Topics("badinput")
    topic = topics.event("bad-input", "note_on")
    wrong_schema = json.loads(note(3))
    wrong_schema["pitch"] = 500
    messages = [
        (topic, note(1)),
        (topic, b"{this is not json"),
        (topic, b'{"v": 1, "pad": "' + b"x" * (MAX_PAYLOAD_BYTES + 10) + b'"}'),
        (topic, json.dumps(wrong_schema).encode()),
        (topics.event("bad-input", "note_off"), note(4)),  # kind does not match topic
        (topics.event("other-device", "note_on"), note(5)),  # device does not match topic
        ("badinput/Bad Device/events/note_on", note(6)),  # not our topic grammar
        (topic, b'{"v": 7, "kind": "note_on"}'),  # a protocol we do not speak
        (topic, note(2)),
    ]
    with caplog.at_level(logging.WARNING, logger="etude_hub"):
        await asyncio.to_thread(publish_all, mosquitto.port, messages)

        async def all_settled() -> bool:
            # "received" counts a message as it is parsed; "stored" only once its batch is
            # committed, so wait until every message is accounted for, not merely seen.
            ingest = (await (await hub_client.get("/api/v1/health")).json())["data"]["ingest"]
            settled = ingest["stored"] + ingest["duplicates"] + sum(ingest["rejected"].values())
            return bool(settled >= len(messages))

        await eventually(all_settled, 20, "every message stored or rejected")

    health = (await (await hub_client.get("/api/v1/health")).json())["data"]
    assert health["database"] == "ok"
    assert health["ingest"]["rejected"] == {
        "malformed_json": 1,
        "payload_too_large": 1,
        "invalid_schema": 1,
        "topic_mismatch": 2,
        "unknown_topic": 1,
        "unsupported_version": 1,
    }
    assert health["ingest"]["stored"] == 2
    counts = await stored_counts(pg_url, "bad-input")
    assert counts.note_ons == 2 and counts.max_seq == 2
    logged = caplog.text
    for reason in ("malformed_json", "payload_too_large", "invalid_schema", "topic_mismatch"):
        assert "rejected message on badinput/" in logged and reason in logged


async def test_redelivered_event_is_stored_once(
    hub_client: TestClient, mosquitto: MosquittoServer, pg_url: str
) -> None:
    topic = Topics("badinput").event("twice", "note_on")
    await asyncio.to_thread(
        publish_all, mosquitto.port, [(topic, note(1, "twice"))] * 3 + [(topic, note(2, "twice"))]
    )

    async def stored() -> bool:
        ingest = (await (await hub_client.get("/api/v1/health")).json())["data"]["ingest"]
        return bool(ingest["stored"] + ingest["duplicates"] >= 4)

    await eventually(stored, 20, "four messages stored or dropped as duplicates")
    health = (await (await hub_client.get("/api/v1/health")).json())["data"]
    assert health["ingest"]["duplicates"] == 2
    counts = await stored_counts(pg_url, "twice")
    assert counts.events == 2


async def test_a_bad_analysis_is_refused_and_the_good_one_kept(
    hub_client: TestClient, mosquitto: MosquittoServer
) -> None:
    device, session = "bad-analysis", uuid.uuid4()
    topic = Topics("badinput").event(device, "session_analysis")

    def analysis(seq: int, **fields: object) -> bytes:
        good = SessionAnalysis(
            device_id=device,
            seq=seq,
            ts=utc_now(),
            session_id=session,
            piece="K. 331",
            overall_score=90.0,
        )
        return json.dumps(json.loads(encode(good)) | fields).encode()

    too_many = [{"kind": "notes", "message": "m"}] * 11
    messages = [
        (topic, analysis(1, overall_score=250)),
        (topic, analysis(2, feedback=too_many)),
        (topic, analysis(3, feedback=[{"kind": "notes", "hand": "both", "message": "m"}])),
        (topic, analysis(4)),
    ]
    before = (await (await hub_client.get("/api/v1/health")).json())["data"]["ingest"]
    await asyncio.to_thread(publish_all, mosquitto.port, messages)

    async def served() -> bool:
        return (await hub_client.get(f"/api/v1/sessions/{session}/analysis")).status == 200

    await eventually(served, 20, "the valid analysis")
    after = (await (await hub_client.get("/api/v1/health")).json())["data"]["ingest"]
    refused = after["rejected"].get("invalid_schema", 0) - before["rejected"].get(
        "invalid_schema", 0
    )
    assert refused == 3
    data = (await (await hub_client.get(f"/api/v1/sessions/{session}/analysis")).json())["data"]
    assert data["overall_score"] == 90.0 and data["piece"] == "K. 331"
