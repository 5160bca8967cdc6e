"""The hottest prebuilt statements run straight on sqlite3 by the group-commit writer thread.

SQLAlchemy spends more CPU preparing each execution (cache key, parameter processing, result setup)
than SQLite spends running it. For statements marked `hot` (db/prepared.py), the writer thread lets
SQLAlchemy compile the statement once per set of parameter names, keeps its SQL text, parameter
order and SQLAlchemy's own bind and result processors, and afterwards only converts the values.
What reaches the database and what comes back is what SQLAlchemy would send and return (the parity
test runs every hot statement both ways). Anything this does not cover (executemany, Python-side
column defaults, an empty IN list) goes through SQLAlchemy as before.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound

_Processor = Callable[[Any], Any] | None


class RawResult:
    """The part of SQLAlchemy's Result the actions use, over fully fetched rows."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return list(self._rows)

    fetchall = all

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:  # SQLAlchemy's own errors, so callers handle both paths alike
            error = NoResultFound if not self._rows else MultipleResultsFound
            raise error(f"expected one row, got {len(self._rows)}")
        return self._rows[0]

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise MultipleResultsFound(f"expected at most one row, got {len(self._rows)}")
        return self._rows[0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> list[Any]:
        return [r[0] for r in self._rows]


def _row_type(names: Sequence[str]) -> Any:
    base = namedtuple("Row", names, rename=False)  # type: ignore[misc]

    class Row(base):
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return dict(self._asdict())

    return Row


class RawStatement:
    """One hot statement compiled for one set of parameter names."""

    __slots__ = ("_binds", "_expanding", "_processors", "_row", "_sql_by_sizes", "sql")

    def __init__(self, sql: str, binds: list[tuple[str, _Processor, bool, Any]],
                 columns: list[tuple[str, _Processor]]) -> None:
        self.sql = sql
        self._binds = binds  # (name, processor, expanding, default value)
        self._expanding = any(b[2] for b in binds)
        self._sql_by_sizes: dict[tuple[int, ...], str] = {}
        self._processors = [p for _, p in columns]
        self._row = _row_type([n for n, _ in columns]) if columns else None

    @classmethod
    def build(cls, statement: Any, keys: Sequence[str], dialect: Dialect) -> RawStatement | None:
        """None when the statement needs something only SQLAlchemy's execution path does."""
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        if (compiled.insert_prefetch or compiled.update_prefetch or compiled.literal_execute_params
                or compiled.escaped_bind_names or not compiled.positional or compiled.positiontup is None):
            return None
        binds = []
        for name in compiled.positiontup:
            param = compiled.binds[name]
            if param.type._is_tuple_type or (name not in keys and (param.required or param.callable)):
                return None
            binds.append((name, param.type._cached_bind_processor(dialect), bool(param.expanding),
                          param.value))
        columns = []
        for keyname, _name, _objects, type_ in compiled._result_columns:
            columns.append((keyname, type_._cached_result_processor(dialect, None)))
        if len({n for n, _ in columns}) != len(columns):
            return None
        return cls(compiled.string, binds, columns)

    def _sql_for(self, sizes: tuple[int, ...]) -> str:
        sql = self._sql_by_sizes.get(sizes)
        if sql is None:
            sql = self.sql
            expanding = [b[0] for b in self._binds if b[2]]
            for name, size in zip(expanding, sizes, strict=True):
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * size))
            self._sql_by_sizes[sizes] = sql
        return sql

    def execute(self, dbapi_conn: sqlite3.Connection, parameters: dict[str, Any]) -> RawResult | None:
        """None when these parameters need SQLAlchemy (an empty IN list)."""
        values: list[Any] = []
        sizes: list[int] = []
        for name, process, expanding, default in self._binds:
            value = parameters.get(name, default)
            if expanding:
                if not value:
                    return None
                sizes.append(len(value))
                values.extend(value if process is None else [process(v) for v in value])
            else:
                values.append(value if process is None else process(value))
        sql = self._sql_for(tuple(sizes)) if self._expanding else self.sql
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(sql, values)
            rows = cursor.fetchall() if self._row is not None else []
            rowcount = cursor.rowcount
        finally:
            cursor.close()
        if rows:
            processors, make = self._processors, self._row._make  # type: ignore[union-attr]
            rows = [make([v if p is None else p(v) for p, v in zip(processors, row, strict=True)]) for row in rows]
        return RawResult(rows, rowcount)


class RawRunner:
    """Per SQLite engine: hot statements compiled once per set of parameter names."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._compiled: dict[tuple[int, frozenset[str]], RawStatement | None] = {}  # None: SQLAlchemy's

    def execute(self, conn: Connection, statement: Any, parameters: dict[str, Any]) -> RawResult | None:
        key = (id(statement), frozenset(parameters))
        if key in self._compiled:
            raw = self._compiled[key]
        else:
            raw = self._compiled[key] = RawStatement.build(statement, list(parameters), self.dialect)
        if raw is None:
            return None
        try:
            return raw.execute(conn.connection.driver_connection, parameters)  # type: ignore[arg-type]
        except sqlite3.Error as exc:
            # Raised as SQLAlchemy would (IntegrityError → 409, OperationalError → 503), values hidden.
            raise DBAPIError.instance(raw.sql, None, exc, sqlite3.Error, hide_parameters=True,
                                      dialect=self.dialect) from exc
