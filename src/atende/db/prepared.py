"""Statements built once and executed with parameter dicts, for the hot paths.

Building `insert(t).values(**row)` per call costs more CPU than SQLite spends running it
(value coercion and cache keys); a prebuilt statement with bound parameters skips all that.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite

S = TypeVar("S")
# Statements the SQLite writer thread runs straight on the driver (db/raw_sqlite.py), by id; the
# values keep them alive so an id is never reused.
HOT: dict[int, Any] = {}


def hot(statement: S) -> S:
    """Mark a prebuilt statement as hot: on the group-commit path it bypasses SQLAlchemy's execution."""
    HOT[id(statement)] = statement
    return statement


@cache
def insert_returning_id(table: Table) -> Any:
    return hot(insert(table).returning(table.c.id))


@cache
def insert_ignore_returning_id(table: Table, dialect: str) -> Any:
    mod = postgresql if dialect == "postgresql" else sqlite
    return hot(mod.insert(table).on_conflict_do_nothing().returning(table.c.id))


@cache
def insert_ignore_stmt(table: Table, dialect: str) -> Any:
    mod = postgresql if dialect == "postgresql" else sqlite
    return hot(mod.insert(table).on_conflict_do_nothing())


@cache
def update_by_id(table: Table, keys: frozenset[str], increments: frozenset[str] = frozenset()) -> Any:
    """UPDATE table SET k = :v_k …, n = n + 1 … WHERE id = :_id (parameters named v_<column>)."""
    values: dict[str, Any] = {k: bindparam(f"v_{k}", type_=table.c[k].type) for k in keys}
    values.update({k: table.c[k] + 1 for k in increments})
    return hot(update(table).where(table.c.id == bindparam("_id")).values(values))


def by_id_params(row_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"_id": row_id, **{f"v_{k}": v for k, v in values.items()}}


@cache
def upsert_add(table: Table, dialect: str, keys: tuple[str, ...], counters: frozenset[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c, for counter rows: executed with the
    key columns, any other columns of a new row, and the amounts to add."""
    mod = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(table)
    return hot(stmt.on_conflict_do_update(index_elements=list(keys),
                                          set_={c: table.c[c] + stmt.excluded[c] for c in sorted(counters)}))
