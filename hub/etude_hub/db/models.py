"""Tables. The seed's four (users, sessions, performances, analysis_results) keep their
columns; devices, events and note_events hold what the bridges send.

Every type works on PostgreSQL (asyncpg) and SQLite (aiosqlite): JSON becomes JSONB on
PostgreSQL, big integer keys become SQLite's INTEGER rowid.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JsonDoc = JSON().with_variant(JSONB(), "postgresql")
RowId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    skill_level: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Device(Base):
    """A practice-room bridge. Its id is the one in its MQTT topics."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    availability: Mapped[str] = mapped_column(String(16), default="unknown")
    software_version: Mapped[str | None] = mapped_column(String(64))
    engine_version: Mapped[str | None] = mapped_column(String(64))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column()


class PracticeSession(Base):
    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id"), index=True)
    piece_name: Mapped[str | None] = mapped_column(String(255))
    genre: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    note_count: Mapped[int | None] = mapped_column(Integer)


class Performance(Base):
    __tablename__ = "performances"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sessions.id"), index=True)
    audio_path: Mapped[str | None] = mapped_column(String(500))
    midi_path: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnalysisResult(Base):
    __tablename__ = "analysis_results"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    performance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("performances.id"), index=True)
    pitch_accuracy: Mapped[float | None] = mapped_column(Float)
    rhythm_accuracy: Mapped[float | None] = mapped_column(Float)
    dynamics_range: Mapped[float | None] = mapped_column(Float)
    overall_score: Mapped[float | None] = mapped_column(Float)
    feedback_json: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredEvent(Base):
    """Every accepted event, once: the log that WebSocket clients replay from."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("device_id", "seq", name="uq_events_device_seq"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column()
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)


class NoteEvent(Base):
    """A performed note-on or note-off, in columns the assessment can query."""

    __tablename__ = "note_events"
    __table_args__ = (
        UniqueConstraint("device_id", "seq", name="uq_note_events_device_seq"),
        Index("ix_note_events_session_time", "session_id", "session_time"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    is_on: Mapped[bool] = mapped_column()
    pitch: Mapped[int] = mapped_column(SmallInteger)
    velocity: Mapped[int] = mapped_column(SmallInteger)
    channel: Mapped[int] = mapped_column(SmallInteger, default=0)
    # "midi" (the piano's keys) or "audio" (heard by the microphone): a teacher weighs a
    # heard note's mistakes differently from a played one's.
    origin: Mapped[str] = mapped_column(String(8), default="midi", server_default="midi")
    session_time: Mapped[float] = mapped_column(Float)
    ts: Mapped[datetime] = mapped_column()
