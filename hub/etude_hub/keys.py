"""Typed application state: every shared object lives under one of these keys."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .config import HubConfig
from .ingest.mqtt import HubMqtt
from .ingest.pipeline import IngestStats
from .live import LiveHub, OpenSockets

CONFIG = web.AppKey("config", HubConfig)
DB_ENGINE = web.AppKey("db_engine", AsyncEngine)
DB_SESSIONS = web.AppKey("db_sessions", async_sessionmaker[AsyncSession])
LIVE = web.AppKey("live", LiveHub)
INGEST_STATS = web.AppKey("ingest_stats", IngestStats)
MQTT = web.AppKey("mqtt", HubMqtt)
WEBSOCKETS = web.AppKey("websockets", OpenSockets)
