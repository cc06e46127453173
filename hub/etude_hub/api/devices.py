"""Devices and their practice sessions."""

from __future__ import annotations

import uuid

from aiohttp import web

from etude_hub.db.models import Device, NoteEvent, PracticeSession
from etude_hub.db.queries import devices as q
from etude_hub.errors import BadRequest, NotFound
from etude_hub.keys import DB_SESSIONS

from .envelope import ok


def device_json(d: Device) -> dict[str, object]:
    return {
        "id": d.id,
        "name": d.name,
        "availability": d.availability,
        "software_version": d.software_version,
        "engine_version": d.engine_version,
        "last_seq": d.last_seq,
        "last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None,
    }


def session_json(s: PracticeSession) -> dict[str, object]:
    return {
        "id": str(s.id),
        "device_id": s.device_id,
        "piece_name": s.piece_name,
        "source": s.source,
        "started_at": s.started_at.isoformat() if s.started_at else None,
        "ended_at": s.ended_at.isoformat() if s.ended_at else None,
        "duration_seconds": s.duration_seconds,
        "note_count": s.note_count,
    }


def note_json(n: NoteEvent) -> dict[str, object]:
    return {
        "seq": n.seq,
        "on": n.is_on,
        "pitch": n.pitch,
        "velocity": n.velocity,
        "session_time": n.session_time,
    }


async def list_devices(request: web.Request) -> web.Response:
    async with request.app[DB_SESSIONS]() as session:
        return ok([device_json(d) for d in await q.list_devices(session)])


async def get_device(request: web.Request) -> web.Response:
    device_id = request.match_info["device_id"]
    async with request.app[DB_SESSIONS]() as session:
        device = await q.get_device(session, device_id)
    if device is None:
        raise NotFound(f"no device {device_id!r}")
    return ok(device_json(device))


async def list_sessions(request: web.Request) -> web.Response:
    async with request.app[DB_SESSIONS]() as session:
        rows = await q.list_sessions(session, request.match_info["device_id"])
    return ok([session_json(s) for s in rows])


async def session_notes(request: web.Request) -> web.Response:
    try:
        session_id = uuid.UUID(request.match_info["session_id"])
    except ValueError as exc:
        raise BadRequest("session id must be a UUID") from exc
    async with request.app[DB_SESSIONS]() as session:
        notes = await q.session_notes(session, session_id)
    return ok([note_json(n) for n in notes])
