"""INSERT … ON CONFLICT DO NOTHING for both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignore(table: Table, dialect: str, **values: Any) -> Any:
    mod = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(table).values(**values).on_conflict_do_nothing()
