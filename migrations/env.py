"""Alembic environment: runs on PostgreSQL (asyncpg) and SQLite (aiosqlite).

The hub calls migrations with an open connection (config.attributes["connection"]); the
`alembic` command line builds its own engine from ETUDE_HUB_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from etude_hub.db.models import Base

target_metadata = Base.metadata


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "ETUDE_HUB_DATABASE_URL", "sqlite+aiosqlite:///data/etude.db"
    )
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_with)
        await connection.commit()
    await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
elif (conn := context.config.attributes.get("connection")) is not None:
    run_with(conn)
else:
    asyncio.run(run_online())
