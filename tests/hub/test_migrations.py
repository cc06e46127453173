"""Alembic migrations run on PostgreSQL and on SQLite, and match the models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from etude_hub.db.engine import create_engine, migrate
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
