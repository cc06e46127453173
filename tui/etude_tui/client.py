"""The hub's live stream, as typed protocol messages, resuming from the last seq it saw."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from pydantic import TypeAdapter, ValidationError

from etude_protocol import Live, LiveEvent

_LIVE: TypeAdapter[Live] = TypeAdapter(Live)


class LiveStream:
    def __init__(self, hub_url: str, device_id: str) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.device_id = device_id
        self.last_seq = 0
        self.connected = False

    def url(self) -> str:
        ws = self.hub_url.replace("http://", "ws://").replace("https://", "wss://")
        return f"{ws}/api/v1/devices/{self.device_id}/live?since={self.last_seq}"

    async def replay_start(self, http: aiohttp.ClientSession) -> int:
        """The seq before the device's second-newest session: the session being played and the
        last one's analysis, not the device's whole history (0 when the hub cannot say)."""
        url = f"{self.hub_url}/api/v1/devices/{self.device_id}/sessions"
        try:
            async with http.get(url) as reply:
                sessions = (await reply.json())["data"] if reply.status == 200 else []
        except (aiohttp.ClientError, OSError, ValueError, KeyError, TypeError):
            return 0
        firsts = [s.get("first_seq") for s in sessions[:2]]
        known = [int(q) for q in firsts if isinstance(q, int)]
        return max(0, min(known) - 1) if known else 0

    async def messages(self, retry_delay: float = 1.0) -> AsyncIterator[Live | None]:
        """Yield live messages forever; None marks a lost connection (then it reconnects)."""
        async with aiohttp.ClientSession() as http:
            if self.last_seq == 0:
                self.last_seq = await self.replay_start(http)
            while True:
                try:
                    async with http.ws_connect(self.url(), heartbeat=20) as ws:
                        self.connected = True
                        async for frame in ws:
                            if frame.type != aiohttp.WSMsgType.TEXT:
                                continue
                            try:
                                message = _LIVE.validate_json(frame.data)
                            except ValidationError:
                                continue  # a newer hub's message we do not know: skip it
                            if isinstance(message, LiveEvent):
                                self.last_seq = max(self.last_seq, message.event.seq)
                            yield message
                except (aiohttp.ClientError, OSError):
                    pass
                self.connected = False
                yield None
                await asyncio.sleep(retry_delay)
