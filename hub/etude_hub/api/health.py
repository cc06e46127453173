"""Liveness and ingest counters, for operators and tests."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import text

from etude_hub import __version__
from etude_hub.keys import DB_SESSIONS, INGEST_STATS, LIVE, MQTT

from .envelope import ok


async def health(request: web.Request) -> web.Response:
    database = "ok"
    try:
        async with request.app[DB_SESSIONS]() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # report, don't fail the probe itself
        database = f"error: {exc.__class__.__name__}"
    # 503 tells a load balancer or orchestrator to route around this instance.
    return ok(
        {
            "version": __version__,
            "database": database,
            "mqtt": "connected" if request.app[MQTT].connected.is_set() else "disconnected",
            "websocket_clients": request.app[LIVE].client_count,
            "ingest": request.app[INGEST_STATS].as_dict(),
        },
        status=200 if database == "ok" else 503,
    )
