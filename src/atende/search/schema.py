"""The search objects live outside db/tables.py (FTS5 tables and triggers, expression indexes):
migration 0009 creates them, and schema comparisons skip them by name."""

from __future__ import annotations

from typing import Any

SQLITE_TABLES = ("search_messages", "search_contacts", "search_numbers")
POSTGRES_INDEXES = ("ix_search_messages", "ix_search_contacts", "ix_search_numbers")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's include_name hook: leave the search objects (and FTS5's shadow tables) alone."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith("search_")
    if type_ == "index":
        return not name.startswith("ix_search_")
    return True
