"""Statements built once and executed with parameter dicts, for the hot paths.

Building `insert(t).values(**row)` per call costs more CPU than SQLite spends running it
(value coercion and cache keys); a prebuilt statement with bound parameters skips all that.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite


@cache
def insert_returning_id(table: Table) -> Any:
    return insert(table).returning(table.c.id)


@cache
def insert_ignore_returning_id(table: Table, dialect: str) -> Any:
    mod = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(table).on_conflict_do_nothing().returning(table.c.id)


@cache
def insert_ignore_stmt(table: Table, dialect: str) -> Any:
    mod = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(table).on_conflict_do_nothing()


@cache
def update_by_id(table: Table, keys: frozenset[str], increments: frozenset[str] = frozenset()) -> Any:
    """UPDATE table SET k = :v_k …, n = n + 1 … WHERE id = :_id (parameters named v_<column>)."""
    values: dict[str, Any] = {k: bindparam(f"v_{k}", type_=table.c[k].type) for k in keys}
    values.update({k: table.c[k] + 1 for k in increments})
    return update(table).where(table.c.id == bindparam("_id")).values(values)


def by_id_params(row_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return {"_id": row_id, **{f"v_{k}": v for k, v in values.items()}}


@cache
def upsert_add(table: Table, dialect: str, keys: tuple[str, ...], counters: frozenset[str]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET c = c + excluded.c, for counter rows: executed with the
    key columns, any other columns of a new row, and the amounts to add."""
    mod = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(table)
    return stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in sorted(counters)})
