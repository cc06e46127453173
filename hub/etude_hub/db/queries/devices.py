"""Reading devices, sessions and the event log for the API and the live stream."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from etude_hub.db.models import (
    AnalysisResult,
    Device,
    NoteEvent,
    Performance,
    PracticeSession,
    StoredEvent,
)

from .ingest import ensure_devices


async def list_devices(session: AsyncSession) -> list[Device]:
    return list((await session.scalars(select(Device).order_by(Device.id))).all())


async def get_device(session: AsyncSession, device_id: str) -> Device | None:
    return await session.get(Device, device_id)


async def set_availability(
    session: AsyncSession, device_id: str, availability: str, seen_at: datetime
) -> None:
    await ensure_devices(session, [device_id])
    await session.execute(
        update(Device)
        .where(Device.id == device_id)
        .values(availability=availability, last_seen_at=seen_at)
    )


async def set_info(
    session: AsyncSession,
    device_id: str,
    *,
    name: str,
    software_version: str,
    engine_version: str | None,
) -> None:
    await ensure_devices(session, [device_id])
    await session.execute(
        update(Device)
        .where(Device.id == device_id)
        .values(name=name or None, software_version=software_version, engine_version=engine_version)
    )


async def list_sessions(session: AsyncSession, device_id: str) -> list[PracticeSession]:
    stmt = (
        select(PracticeSession)
        .where(PracticeSession.device_id == device_id)
        .order_by(PracticeSession.started_at.desc())
    )
    return list((await session.scalars(stmt)).all())


async def first_seqs(session: AsyncSession, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each session's first event (its session_started): where a client replays it from."""
    if not session_ids:
        return {}
    stmt = (
        select(StoredEvent.session_id, func.min(StoredEvent.seq).label("first"))
        .where(StoredEvent.session_id.in_(session_ids))
        .group_by(StoredEvent.session_id)
    )
    return {row.session_id: int(row.first) for row in await session.execute(stmt)}


async def overall_scores(
    session: AsyncSession, session_ids: list[uuid.UUID]
) -> dict[uuid.UUID, float | None]:
    """Each analysed session's overall score (its latest analysis); free play maps to None."""
    if not session_ids:
        return {}
    stmt = (
        select(Performance.session_id, AnalysisResult.overall_score)
        .join(AnalysisResult, AnalysisResult.performance_id == Performance.id)
        .where(Performance.session_id.in_(session_ids))
        .order_by(AnalysisResult.created_at)
    )
    return {row.session_id: row.overall_score for row in await session.execute(stmt)}


async def session_notes(session: AsyncSession, session_id: uuid.UUID) -> list[NoteEvent]:
    stmt = (
        select(NoteEvent)
        .where(NoteEvent.session_id == session_id)
        .order_by(NoteEvent.session_time, NoteEvent.seq)
    )
    return list((await session.scalars(stmt)).all())


async def session_analysis(session: AsyncSession, session_id: uuid.UUID) -> AnalysisResult | None:
    """The latest analysis of a session, or None."""
    stmt = (
        select(AnalysisResult)
        .join(Performance, AnalysisResult.performance_id == Performance.id)
        .where(Performance.session_id == session_id)
        .order_by(AnalysisResult.created_at.desc())
        .limit(1)
    )
    return await session.scalar(stmt)


async def get_session(session: AsyncSession, session_id: uuid.UUID) -> PracticeSession | None:
    return await session.get(PracticeSession, session_id)


async def events_after(
    sessions: async_sessionmaker[AsyncSession], device_id: str, after_seq: int, page: int = 1000
) -> AsyncIterator[tuple[int, dict[str, Any]]]:
    """Stored events of a device with seq > after_seq, oldest first, a page at a time."""
    last = after_seq
    while True:
        async with sessions() as session:
            stmt = (
                select(StoredEvent.seq, StoredEvent.payload)
                .where(StoredEvent.device_id == device_id, StoredEvent.seq > last)
                .order_by(StoredEvent.seq)
                .limit(page)
            )
            rows = (await session.execute(stmt)).all()
        for seq, payload in rows:
            yield seq, payload
            last = seq
        if len(rows) < page:
            return
