"""Alembic environment: runs on the application's async engine (SQLite in batch mode)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from atende.db.engine import create_engine
from atende.db.tables import metadata
from atende.search.schema import ensure_sqlite, include_name

config = context.config


def _driver_pragma(connection: Connection, statement: str) -> None:
    """A PRAGMA on the driver's connection, outside SQLAlchemy's autobegin (the engine's "begin" hook would
    open a transaction first, and foreign_keys is a no-op inside one)."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _configure(connection: Connection) -> None:
    if connection.dialect.name != "sqlite" or connection.in_transaction():
        _migrate(connection)
        return
    # A batch-mode rebuild drops and recreates a table: with foreign keys on, that DROP cascades to every
    # row referencing it (the messages of conversations...). Off for the migration, checked, then on.
    _driver_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        _migrate(connection)
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"the migration left rows pointing nowhere: {broken[:5]}")
        connection.commit()
    finally:
        if connection.in_transaction():
            connection.rollback()
        _driver_pragma(connection, "PRAGMA foreign_keys=ON")


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            ensure_sqlite(connection)  # search triggers a batch-mode table rebuild may have dropped


async def _run_async(url: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_configure)
            await conn.commit()
    finally:
        await engine.dispose()


def run() -> None:
    connection: Any = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
