"""The database goes away while events arrive: the hub keeps running, acknowledges nothing
it has not stored, and stores everything once the database is back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from etude_hub.config import HubConfig
from etude_protocol import NoteOn, Topics, encode, utc_now
from support.checks import eventually, in_process_hub, note_ons_stored, stored_counts
from support.mqtt import publish_all
from support.servers import MosquittoServer, PostgresServer


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    # A commit must be durable before the hub acknowledges it: the session-wide test server
    # runs with synchronous_commit off for speed, which an immediate stop would expose.
    with PostgresServer(settings={"synchronous_commit": "on"}) as server:
        yield server


def notes(first: int, last: int) -> list[tuple[str, bytes]]:
    topic = Topics("dbout").event("outage", "note_on")
    return [
        (
            topic,
            encode(
                NoteOn(
                    device_id="outage",
                    seq=s,
                    ts=utc_now(),
                    pitch=40 + s % 40,
                    velocity=90,
                    session_time=s * 0.1,
                )
            ),
        )
        for s in range(first, last + 1)
    ]


async def test_database_outage_loses_nothing(
    own_postgres: PostgresServer, mosquitto: MosquittoServer
) -> None:
    url = own_postgres.create_database("outage")
    config = HubConfig(
        database_url=url, mqtt_port=mosquitto.port, base_topic="dbout", mqtt_client_id="hub-dbout"
    )
    async with in_process_hub(config) as client:
        await asyncio.to_thread(publish_all, mosquitto.port, notes(1, 50))
        await note_ons_stored(url, 50, "outage")

        await asyncio.to_thread(own_postgres.pause)
        await asyncio.to_thread(publish_all, mosquitto.port, notes(51, 150))

        async def write_failed() -> bool:
            health = (await (await client.get("/api/v1/health")).json())["data"]
            return bool(health["ingest"]["database_errors"] >= 1)

        await eventually(write_failed, 20, "a failed database write")
        reply = await client.get("/api/v1/health")
        assert reply.status == 503
        health = (await reply.json())["data"]
        assert health["database"].startswith("error")

        await asyncio.to_thread(own_postgres.resume)
        await note_ons_stored(url, 150, "outage")
        health = (await (await client.get("/api/v1/health")).json())["data"]
    counts = await stored_counts(url, "outage")
    assert counts.note_ons == counts.distinct_note_ons == 150
    assert health["database"] == "ok"
