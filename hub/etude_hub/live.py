"""Fan-out of live events to WebSocket clients, per device.

Each client gets its own bounded queue. A client too slow to keep up is cut off rather than
letting memory grow; it reconnects with its last sequence number and replays from the store.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

ALL_DEVICES = "*"


@dataclass(eq=False)
class Subscriber:
    device_id: str
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=10_000)
    )
    overflowed: bool = False


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)

    def subscribe(self, device_id: str) -> Subscriber:
        sub = Subscriber(device_id)
        self._subscribers[device_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subscribers.get(sub.device_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.device_id]

    def publish(self, device_id: str, message: dict[str, Any]) -> None:
        for key in (device_id, ALL_DEVICES):
            for sub in self._subscribers.get(key, ()):
                try:
                    sub.queue.put_nowait(message)
                except asyncio.QueueFull:
                    sub.overflowed = True

    @property
    def client_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())


class OpenSockets:
    """The WebSockets open right now, so shutdown can close them (weak: closed ones vanish)."""

    def __init__(self) -> None:
        self._sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()

    def add(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    def __iter__(self) -> Iterator[web.WebSocketResponse]:
        return iter(list(self._sockets))
