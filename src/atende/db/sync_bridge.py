"""Run a group-commit batch on SQLite in one thread hop instead of several per statement.

aiosqlite sends every cursor operation to its thread and back; at ~10 statements per message
that dominated ingest. Here the whole batch runs on a dedicated thread against a synchronous
connection, through a shim with the subset of AsyncConnection that actions use. Actions are
coroutines whose only awaits are on `tx.conn`, so the shim completes them without an event loop.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import Connection, make_url

from atende.db.engine import _sqlite_on_connect
from atende.db.prepared import HOT
from atende.db.raw_sqlite import RawRunner


class SyncConnection:
    """The awaitable surface of AsyncConnection that actions use, over a sync Connection."""

    def __init__(self, conn: Connection, raw: RawRunner | None = None) -> None:
        self.sync_connection = conn
        self.dialect = conn.dialect
        self._raw = raw

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if self._raw is not None and type(parameters) is dict and id(statement) in HOT:
            result = self._raw.execute(self.sync_connection, statement, parameters)
            if result is not None:
                return result
        return self.sync_connection.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    def begin_nested(self) -> Any:
        raise NotImplementedError("savepoints are not used on the group-commit path")


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """Drive a coroutine that never really suspends (every await hits SyncConnection)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a group-commit unit awaited something other than its transaction")


def create_sqlite_sync_engine(async_url: str) -> Engine:
    url = make_url(async_url).set(drivername="sqlite+pysqlite")
    engine = create_sync_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                pool_size=1, max_overflow=0)
    event.listen(engine, "connect", _sqlite_on_connect)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
