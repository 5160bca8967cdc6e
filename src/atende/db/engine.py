"""Database engines: the same code on SQLite (embedded) and PostgreSQL (distributed).

SQLite: WAL, busy_timeout, foreign keys, and `BEGIN IMMEDIATE` for writes, so two writers
queue on the lock at BEGIN instead of failing with SQLITE_BUSY halfway through a transaction.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # aiosqlite wraps sqlite3; let SQLAlchemy emit BEGIN itself (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def create_engine(url: str, *, echo: bool = False, pool_size: int = 10) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
        engine = create_async_engine(
            url,
            echo=echo,
            hide_parameters=True,  # customer data never reaches a log or an error message
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=pool_size,
            max_overflow=0,
        )
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_on_connect)

        @event.listens_for(sync_engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # The flag is per checkout; a bare engine.begin() gets the safe default, IMMEDIATE.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.pop("write", True) else "BEGIN")

        return engine
    if parsed.get_backend_name() == "postgresql":
        # A server that is restarting can accept a connection and then not answer: without a connect
        # timeout (asyncpg's default is 60 s) such attempts hold every pool slot and requests queue for
        # pool_timeout long after the server is back. Fail them fast (503) and let the next one retry.
        return create_async_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                                   pool_timeout=10, connect_args={"timeout": 5}, hide_parameters=True)
    return create_async_engine(url, echo=echo, poolclass=NullPool, hide_parameters=True)


def private_dir(path: Path) -> None:
    """Create `path` (and parents) readable by its owner only; an existing folder is left as it is."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        folder.chmod(0o700)  # mkdir's mode is filtered by the umask


def private_file(path: Path) -> None:
    """The SQLite file (and its folder) created for its owner only: it holds CPFs and conversations."""
    private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


@asynccontextmanager
async def write_tx(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One write transaction (BEGIN IMMEDIATE on SQLite). Commits on success."""
    async with engine.connect() as conn:
        conn.sync_connection.info["write"] = True  # type: ignore[union-attr]
        async with conn.begin():
            yield conn


@asynccontextmanager
async def read_tx(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction: a plain BEGIN (deferred) so readers never wait on writers."""
    async with engine.connect() as conn:
        conn.sync_connection.info["write"] = False  # type: ignore[union-attr]
        async with conn.begin():
            yield conn


