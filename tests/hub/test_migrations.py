"""Alembic migrations run on PostgreSQL and on SQLite, and match the models exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from etude_hub.db.engine import alembic_config, create_engine, migrate
from etude_hub.db.models import Base


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite+aiosqlite:///{tmp_path}/m.db"


async def test_migrations_build_the_schema_and_leave_no_drift(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        await migrate(engine)  # running again is a no-op

        def check(sync_conn: object) -> tuple[list[object], set[str], dict[str, list[str]]]:
            context = MigrationContext.configure(sync_conn)  # type: ignore[arg-type]
            diff = compare_metadata(context, Base.metadata)
            inspector = inspect(sync_conn)
            tables = set(inspector.get_table_names())
            indexes = {t: [i["name"] for i in inspector.get_indexes(t)] for t in tables}
            return diff, tables, indexes

        async with engine.connect() as conn:
            diff, tables, indexes = await conn.run_sync(check)
    finally:
        await engine.dispose()
    assert diff == []
    assert {
        "users",
        "sessions",
        "performances",
        "analysis_results",
        "devices",
        "events",
        "note_events",
    } <= tables
    assert "ix_sessions_user_id" in indexes["sessions"]
    assert "ix_performances_session_id" in indexes["performances"]
    assert "ix_analysis_results_performance_id" in indexes["analysis_results"]


async def test_notes_stored_before_origin_was_kept_are_played_notes(database_url: str) -> None:
    engine = create_engine(database_url)

    def to(revision: str) -> Callable[[Connection], None]:
        def upgrade(connection: Connection) -> None:
            cfg = alembic_config()
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)

        return upgrade

    try:
        async with engine.begin() as conn:
            await conn.run_sync(to("0001"))
            await conn.execute(
                text(
                    "INSERT INTO devices (id, availability, last_seq, created_at) "
                    "VALUES ('room-1', 'online', 1, CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO note_events (device_id, seq, is_on, pitch, velocity, channel, "
                    "session_time, ts) VALUES ('room-1', 1, true, 60, 70, 0, 0.5, "
                    "CURRENT_TIMESTAMP)"
                )
            )
        await migrate(engine)
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT pitch, origin FROM note_events"))).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [(60, "midi")]
