"""Writing what the bridges send: idempotent on (device_id, seq) by a unique constraint."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from etude_hub.db.models import (
    AnalysisResult,
    Device,
    NoteEvent,
    Performance,
    PracticeSession,
    StoredEvent,
    utcnow,
)
from etude_protocol import (
    Event,
    NoteOff,
    NoteOn,
    PieceRecognised,
    SessionAnalysis,
    SessionEnded,
    SessionStarted,
)

# Column values per row; stay well under SQLite's bound-variable limit per statement.
_ROWS_PER_STATEMENT = 400


def _insert(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def ensure_devices(session: AsyncSession, device_ids: Iterable[str]) -> None:
    ids = sorted(set(device_ids))
    if not ids:
        return
    stmt = _insert(session, Device).values([{"id": i} for i in ids]).on_conflict_do_nothing()
    await session.execute(stmt)


async def store_events(session: AsyncSession, events: Sequence[Event]) -> list[Event]:
    """Insert events; return those that were new (a redelivered one is skipped by the DB)."""
    if not events:
        return []
    await ensure_devices(session, (e.device_id for e in events))
    received = utcnow()
    new_keys: set[tuple[str, int]] = set()
    for start in range(0, len(events), _ROWS_PER_STATEMENT):
        chunk = events[start : start + _ROWS_PER_STATEMENT]
        rows = [
            {
                "device_id": e.device_id,
                "seq": e.seq,
                "kind": e.kind,
                "ts": e.ts,
                "session_id": e.session_id,
                "received_at": received,
                "payload": e.model_dump(mode="json"),
            }
            for e in chunk
        ]
        stmt = (
            _insert(session, StoredEvent)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["device_id", "seq"])
            .returning(StoredEvent.device_id, StoredEvent.seq)
        )
        result = await session.execute(stmt)
        new_keys.update((row.device_id, row.seq) for row in result)
    fresh = [e for e in events if (e.device_id, e.seq) in new_keys]
    # A batch may carry the same redelivered event twice; keep the first.
    seen: set[tuple[str, int]] = set()
    unique_fresh = []
    for e in fresh:
        if (e.device_id, e.seq) not in seen:
            seen.add((e.device_id, e.seq))
            unique_fresh.append(e)
    await _store_notes(session, unique_fresh)
    await _store_sessions(session, unique_fresh)
    await _store_analyses(session, unique_fresh)
    await _touch_devices(session, unique_fresh, received)
    return unique_fresh


async def _store_notes(session: AsyncSession, events: Sequence[Event]) -> None:
    rows = [
        {
            "device_id": e.device_id,
            "seq": e.seq,
            "session_id": e.session_id,
            "is_on": isinstance(e, NoteOn),
            "pitch": e.pitch,
            "velocity": e.velocity,
            "channel": e.channel,
            "origin": e.origin,
            "session_time": e.session_time,
            "ts": e.ts,
        }
        for e in events
        if isinstance(e, NoteOn | NoteOff)
    ]
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        stmt = (
            _insert(session, NoteEvent)
            .values(rows[start : start + _ROWS_PER_STATEMENT])
            .on_conflict_do_nothing(index_elements=["device_id", "seq"])
        )
        await session.execute(stmt)


async def _store_sessions(session: AsyncSession, events: Sequence[Event]) -> None:
    for e in events:
        if isinstance(e, SessionStarted):
            owner = await session.scalar(select(Device.user_id).where(Device.id == e.device_id))
            stmt = _insert(session, PracticeSession).values(
                id=e.session_id,
                device_id=e.device_id,
                user_id=owner,
                source=e.source,
                piece_name=e.piece_name,
                started_at=e.ts,
            )
            await session.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
        elif isinstance(e, PieceRecognised):
            await session.execute(
                update(PracticeSession)
                .where(PracticeSession.id == e.session_id)
                .values(piece_name=e.piece)
            )
        elif isinstance(e, SessionEnded):
            await session.execute(
                update(PracticeSession)
                .where(PracticeSession.id == e.session_id)
                .values(
                    ended_at=e.ts,
                    duration_seconds=round(e.duration_seconds),
                    note_count=e.note_count,
                )
            )


async def _store_analyses(session: AsyncSession, events: Sequence[Event]) -> None:
    """A session's analysis goes to the seed's tables: one performance (the take) and its
    analysis_results row, the whole message kept as feedback_json."""
    for e in events:
        if not isinstance(e, SessionAnalysis):
            continue
        known = _insert(session, PracticeSession).values(
            id=e.session_id, device_id=e.device_id, started_at=e.ts
        )  # its session_started may have been rejected: keep the analysis all the same
        await session.execute(known.on_conflict_do_nothing(index_elements=["id"]))
        if e.piece is not None:
            await session.execute(
                update(PracticeSession)
                .where(PracticeSession.id == e.session_id)
                .values(piece_name=e.piece)
            )
        take = Performance(session_id=e.session_id)
        session.add(take)
        await session.flush()
        session.add(
            AnalysisResult(
                performance_id=take.id,
                pitch_accuracy=e.pitch_accuracy,
                rhythm_accuracy=e.rhythm_accuracy,
                dynamics_range=e.dynamics_range,
                overall_score=e.overall_score,
                feedback_json=e.model_dump(mode="json"),
                created_at=e.ts,
            )
        )
    await session.flush()


async def _touch_devices(session: AsyncSession, events: Sequence[Event], now: datetime) -> None:
    last: dict[str, int] = {}
    for e in events:
        last[e.device_id] = max(last.get(e.device_id, 0), e.seq)
    for device_id, seq in last.items():
        await session.execute(
            update(Device)
            .where(Device.id == device_id)
            .values(last_seq=_greatest(session, seq), last_seen_at=now)
        )


def _greatest(session: AsyncSession, seq: int) -> Any:
    dialect = session.get_bind().dialect.name
    fn = func.greatest if dialect == "postgresql" else func.max
    return fn(Device.last_seq, seq)
