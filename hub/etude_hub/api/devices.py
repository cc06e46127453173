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


def session_json(
    s: PracticeSession, scores: dict[uuid.UUID, float | None], first_seqs: dict[uuid.UUID, int]
) -> dict[str, object]:
    return {
        "id": str(s.id),
        "device_id": s.device_id,
        "piece_name": s.piece_name,
        "source": s.source,
        "started_at": s.started_at.isoformat() if s.started_at else None,
        "ended_at": s.ended_at.isoformat() if s.ended_at else None,
        "duration_seconds": s.duration_seconds,
        "note_count": s.note_count,
        "analysed": s.id in scores,
        "overall_score": scores.get(s.id),
        "first_seq": first_seqs.get(s.id),
    }


def note_json(n: NoteEvent) -> dict[str, object]:
    return {
        "seq": n.seq,
        "on": n.is_on,
        "pitch": n.pitch,
        "velocity": n.velocity,
        "origin": n.origin,
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
        ids = [s.id for s in rows]
        scores = await q.overall_scores(session, ids)
        firsts = await q.first_seqs(session, ids)
    return ok([session_json(s, scores, firsts) for s in rows])


def _session_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["session_id"])
    except ValueError as exc:
        raise BadRequest("session id must be a UUID") from exc


async def session_notes(request: web.Request) -> web.Response:
    session_id = _session_id(request)
    async with request.app[DB_SESSIONS]() as session:
        notes = await q.session_notes(session, session_id)
    return ok([note_json(n) for n in notes])


async def session_analysis(request: web.Request) -> web.Response:
    """The engine's analysis of a session: the bridge's session_analysis message as stored."""
    session_id = _session_id(request)
    async with request.app[DB_SESSIONS]() as session:
        if await q.get_session(session, session_id) is None:
            raise NotFound(f"no session {session_id}")
        result = await q.session_analysis(session, session_id)
    if result is None:
        raise NotFound(f"session {session_id} has no analysis (yet, or it was too short)")
    doc = dict(result.feedback_json or {})
    for envelope in ("v", "device_id", "seq", "ts", "kind"):
        doc.pop(envelope, None)
    doc["analysed_at"] = result.created_at.isoformat() if result.created_at else None
    return ok(doc)
