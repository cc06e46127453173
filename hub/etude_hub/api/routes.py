"""Every route, in one place."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import devices, health, live, page

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/", page.index),
            web.get("/api/v1/health", health.health),
            web.get("/api/v1/devices", devices.list_devices),
            web.get("/api/v1/devices/{device_id}", devices.get_device),
            web.get("/api/v1/devices/{device_id}/sessions", devices.list_sessions),
            web.get("/api/v1/devices/{device_id}/live", live.live),
            web.get("/api/v1/sessions/{session_id}/notes", devices.session_notes),
            web.get("/api/v1/sessions/{session_id}/analysis", devices.session_analysis),
            web.static("/static", STATIC_DIR),
        ]
    )
