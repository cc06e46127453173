"""WebSocket live stream of one device's events.

``GET /api/v1/devices/{device_id}/live?since=N`` first replays the stored events with
seq > N, oldest first, then sends ``{"type": "replay_done", "last_seq": ...}`` and streams
new events as they are committed. A client that reconnects with the last seq it saw gets
exactly what it missed. Live events are subscribed to *before* the replay starts, and any
that the replay already sent are skipped, so nothing falls between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import WSMsgType, web

from etude_hub.db.queries.devices import events_after
from etude_hub.errors import BadRequest
from etude_hub.keys import DB_SESSIONS, LIVE, WEBSOCKETS
from etude_protocol import LiveReplayDone, check_device_id


def _since(request: web.Request) -> int:
    try:
        since = int(request.query.get("since", "0"))
    except ValueError as exc:
        raise BadRequest("since must be an integer sequence number") from exc
    if since < 0:
        raise BadRequest("since must be >= 0")
    return since


async def live(request: web.Request) -> web.WebSocketResponse:
    device_id = request.match_info["device_id"]
    try:
        check_device_id(device_id)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    since = _since(request)
    ws = web.WebSocketResponse(heartbeat=20)
    await ws.prepare(request)
    request.app[WEBSOCKETS].add(ws)
    live_hub = request.app[LIVE]
    sub = live_hub.subscribe(device_id)
    reader = asyncio.create_task(_drain_incoming(ws))
    try:
        last = since
        async for seq, payload in events_after(request.app[DB_SESSIONS], device_id, since):
            await ws.send_json({"type": "event", "event": payload})
            last = seq
        await ws.send_json(LiveReplayDone(last_seq=last).model_dump(mode="json"))
        while not ws.closed:
            get = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({get, reader}, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                break
            message: dict[str, Any] = get.result()
            if message.get("type") == "event":
                seq = int(message["event"]["seq"])
                if seq <= last:
                    continue
                last = seq
            await ws.send_json(message)
            if sub.overflowed:
                await ws.close(code=1013, message=b"too slow: reconnect with since=last_seq")
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        live_hub.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        await ws.close()
    return ws


async def _drain_incoming(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) client frames, so pings are answered and a close is noticed."""
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            break
