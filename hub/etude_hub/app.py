"""The application factory. Resources (database, MQTT ingest) live in cleanup contexts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.typedefs import Handler

from etude_protocol import Topics

from .api.routes import setup_routes
from .config import HubConfig
from .db.engine import create_engine, migrate, sessionmaker
from .errors import error_middleware
from .ingest.mqtt import HubMqtt
from .ingest.pipeline import IngestPipeline, IngestStats
from .keys import CONFIG, DB_ENGINE, DB_SESSIONS, INGEST_STATS, LIVE, MQTT, WEBSOCKETS
from .live import LiveHub, OpenSockets

log = logging.getLogger(__name__)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:",
    )
    return response


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    engine = create_engine(config.database_url)
    if config.migrate_on_start:
        await migrate(engine)
    app[DB_ENGINE] = engine
    app[DB_SESSIONS] = sessionmaker(engine)
    yield
    await engine.dispose()


async def ingest_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    mqtt = app[MQTT]
    pipeline = IngestPipeline(
        mqtt,
        app[DB_SESSIONS],
        app[LIVE],
        batch_size=config.ingest_batch_size,
        stats=app[INGEST_STATS],
    )
    task = asyncio.create_task(pipeline.run(), name="mqtt-ingest")
    mqtt.start()
    yield
    await mqtt.stop()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def close_websockets(app: web.Application) -> None:
    for ws in app[WEBSOCKETS]:
        await ws.close(code=1001, message=b"hub shutting down")


def create_app(config: HubConfig | None = None) -> web.Application:
    config = config or HubConfig()
    app = web.Application(middlewares=[error_middleware, security_headers])
    app[CONFIG] = config
    app[LIVE] = LiveHub()
    app[INGEST_STATS] = IngestStats()
    app[WEBSOCKETS] = OpenSockets()
    app[MQTT] = HubMqtt(
        host=config.mqtt_host,
        port=config.mqtt_port,
        client_id=config.mqtt_client_id,
        topics=Topics(config.base_topic),
        username=config.mqtt_username,
        password=config.mqtt_password,
    )
    app.cleanup_ctx.extend([database_ctx, ingest_ctx])
    app.on_shutdown.append(close_websockets)
    setup_routes(app)
    return app
