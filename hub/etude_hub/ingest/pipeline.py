"""From MQTT message to stored row to live WebSocket push.

Messages are taken in batches, validated against the protocol, committed in one
transaction and only then acknowledged to the broker. A payload that breaks the contract is
logged with its reason, counted and acknowledged (so it is not redelivered forever); the valid
events around it are stored as usual. When the database is away the batch is retried with
back-off and nothing is acknowledged, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from etude_hub.db.queries.devices import set_availability, set_info
from etude_hub.db.queries.ingest import store_events
from etude_hub.live import LiveHub
from etude_protocol import (
    Availability,
    DeviceInfo,
    Event,
    LiveAvailability,
    LiveEvent,
    ProtocolError,
    RejectReason,
    TopicError,
    decode,
    decode_event,
    utc_now,
)

from .mqtt import HubMqtt, Incoming

log = logging.getLogger(__name__)


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    database_errors: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "database_errors": self.database_errors,
        }


@dataclass
class _Batch:
    events: list[Event] = field(default_factory=list)
    availability: list[tuple[str, Availability]] = field(default_factory=list)
    infos: list[tuple[str, DeviceInfo]] = field(default_factory=list)


class IngestPipeline:
    def __init__(
        self,
        mqtt: HubMqtt,
        sessions: async_sessionmaker[AsyncSession],
        live: LiveHub,
        *,
        batch_size: int = 500,
        stats: IngestStats | None = None,
    ) -> None:
        self.mqtt = mqtt
        self.sessions = sessions
        self.live = live
        self.batch_size = batch_size
        self.stats = stats or IngestStats()

    async def run(self) -> None:
        queue = self.mqtt.queue
        while True:
            messages = [await queue.get()]
            while len(messages) < self.batch_size and not queue.empty():
                messages.append(queue.get_nowait())
            await self.process(messages)

    async def process(self, messages: list[Incoming]) -> None:
        batch = self._parse(messages)
        fresh = await self._commit(batch)
        for message in messages:
            self.mqtt.ack(message)
        for event in fresh:
            self.live.publish(event.device_id, LiveEvent(event=event).model_dump(mode="json"))
        for device_id, availability in batch.availability:
            change = LiveAvailability(device_id=device_id, state=availability.state)
            self.live.publish(device_id, change.model_dump(mode="json"))

    def _parse(self, messages: list[Incoming]) -> _Batch:
        batch = _Batch()
        for message in messages:
            self.stats.received += 1
            try:
                parsed = self.mqtt.topics.parse(message.topic)
                if parsed.device_id is None:
                    continue  # our own hub/state
                if not message.payload:
                    continue  # a cleared retained topic
                if parsed.channel == "events":
                    batch.events.append(
                        decode_event(message.payload, device_id=parsed.device_id, kind=parsed.kind)
                    )
                elif parsed.channel == "state":
                    batch.availability.append(
                        (parsed.device_id, decode(Availability, message.payload))
                    )
                elif parsed.channel == "info":
                    info = decode(DeviceInfo, message.payload)
                    if info.device_id != parsed.device_id:
                        raise ProtocolError(RejectReason.TOPIC_MISMATCH, "info of another device")
                    batch.infos.append((parsed.device_id, info))
            except TopicError as exc:
                self._reject(message, RejectReason.UNKNOWN_TOPIC, str(exc))
            except ProtocolError as exc:
                self._reject(message, exc.reason, exc.detail)
        return batch

    def _reject(self, message: Incoming, reason: RejectReason, detail: str) -> None:
        self.stats.rejected[reason.value] += 1
        log.warning(
            "rejected message on %s (%d bytes): %s: %s",
            message.topic,
            len(message.payload),
            reason.value,
            detail[:300],
        )

    async def _commit(self, batch: _Batch) -> list[Event]:
        delay = 0.5
        while True:
            try:
                async with self.sessions.begin() as session:
                    fresh = await store_events(session, batch.events)
                    now = utc_now()
                    for device_id, availability in batch.availability:
                        await set_availability(session, device_id, availability.state, now)
                    for device_id, info in batch.infos:
                        await set_info(
                            session,
                            device_id,
                            name=info.name,
                            software_version=info.software_version,
                            engine_version=info.engine_version,
                        )
            except (SQLAlchemyError, OSError) as exc:
                self.stats.database_errors += 1
                log.error("database write failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.stats.stored += len(fresh)
            self.stats.duplicates += len(batch.events) - len(fresh)
            return fresh
