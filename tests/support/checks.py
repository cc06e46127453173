"""Assertions shared by the end-to-end tests: what the database and a WebSocket client hold."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from etude_hub.app import create_app
from etude_hub.config import HubConfig


@dataclass
class StoredCounts:
    events: int
    distinct_events: int
    max_seq: int
    note_ons: int
    distinct_note_ons: int
    sessions: int


async def stored_counts(database_url: str, device_id: str = "piano-1") -> StoredCounts:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:

            async def one(sql: str) -> int:
                value = await conn.scalar(text(sql), {"d": device_id})
                return int(value or 0)

            return StoredCounts(
                events=await one("SELECT COUNT(*) FROM events WHERE device_id = :d"),
                distinct_events=await one(
                    "SELECT COUNT(DISTINCT seq) FROM events WHERE device_id = :d"
                ),
                max_seq=await one("SELECT MAX(seq) FROM events WHERE device_id = :d"),
                note_ons=await one(
                    "SELECT COUNT(*) FROM note_events WHERE device_id = :d AND is_on"
                ),
                distinct_note_ons=await one(
                    "SELECT COUNT(DISTINCT seq) FROM note_events WHERE device_id = :d AND is_on"
                ),
                sessions=await one("SELECT COUNT(*) FROM sessions WHERE device_id = :d"),
            )
    finally:
        await engine.dispose()


@dataclass
class LiveClient:
    """A WebSocket client of the live stream that reconnects with its last seq, like the page."""

    base_url: str
    device_id: str = "piano-1"
    events: list[dict[str, Any]] = field(default_factory=list)
    connections: int = 0
    _task: asyncio.Task[None] | None = None

    @property
    def last_seq(self) -> int:
        return max((e["seq"] for e in self.events), default=0)

    def note_on_seqs(self) -> list[int]:
        return [e["seq"] for e in self.events if e["kind"] == "note_on"]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        async with aiohttp.ClientSession() as http:
            while True:
                url = f"{self.base_url}/api/v1/devices/{self.device_id}/live?since={self.last_seq}"
                try:
                    async with http.ws_connect(url) as ws:
                        self.connections += 1
                        async for msg in ws:
                            data = msg.json()
                            if data["type"] == "event":
                                self.events.append(data["event"])
                except (aiohttp.ClientError, OSError):
                    pass
                await asyncio.sleep(0.3)

    async def wait_for_note_ons(self, expected: int, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.note_on_seqs()) < expected:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"WebSocket client got {len(self.note_on_seqs())} of {expected} notes"
                )
            await asyncio.sleep(0.1)


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 30, what: str = "a condition"
) -> None:
    """Poll an async check until it holds; fail with `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


async def _stored_at_least(
    database_url: str, expected: int, device_id: str, timeout: float, column: str
) -> StoredCounts:
    async def enough() -> bool:
        return getattr(await stored_counts(database_url, device_id), column) >= expected

    await eventually(enough, timeout, f"{expected} stored {column} of {device_id}")
    return await stored_counts(database_url, device_id)


async def note_ons_stored(
    database_url: str, expected: int, device_id: str = "piano-1", timeout: float = 30
) -> StoredCounts:
    """Wait until `expected` note-ons of a device are stored; return the final counts."""
    return await _stored_at_least(database_url, expected, device_id, timeout, "note_ons")


async def events_stored(
    database_url: str, expected: int, device_id: str = "piano-1", timeout: float = 30
) -> StoredCounts:
    """Wait until `expected` events of a device (all kinds) are stored; return the counts."""
    return await _stored_at_least(database_url, expected, device_id, timeout, "events")


@asynccontextmanager
async def in_process_hub(config: HubConfig) -> AsyncIterator[TestClient]:
    """The hub from its app factory, served in this process, once MQTT is connected."""
    async with TestServer(create_app(config)) as server, TestClient(server) as client:

        async def connected() -> bool:
            health = await (await client.get("/api/v1/health")).json()
            return bool(health["data"]["mqtt"] == "connected")

        await eventually(connected, 20, "the hub's MQTT connection")
        yield client
