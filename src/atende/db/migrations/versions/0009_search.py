"""full-text search: messages' text, contacts' names and phone numbers

Revision ID: 0009
Revises: 0006

SQLite: FTS5 tables with external content (the text stays in its own table; the index holds only
the terms), unicode61 with remove_diacritics 2 for words and trigram for number fragments, kept in
step by triggers in the writer's own transaction (every writer, present and future), and filled
from existing rows in batches.
PostgreSQL: the 'atende_pt' text search configuration (portuguese + unaccent), a stored generated
tsvector on messages with a GIN index, a GIN expression index on contacts' names (PostgreSQL keeps
both in the writer's transaction; adding the column fills it for existing rows) and a pg_trgm index
for number fragments.

Everything here is named search_* / ix_search_*: db/tables.py does not describe it, and the schema
comparison skips those names (atende.search.schema.include_name).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from atende.search.schema import POSTGRES, SQLITE_BACKFILL, SQLITE_TABLES, SQLITE_TRIGGERS

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 20_000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in POSTGRES:
            op.execute(statement)
        return
    for statement in [*SQLITE_TABLES, *SQLITE_TRIGGERS]:
        op.execute(statement)
    for table, statement in SQLITE_BACKFILL:  # in id ranges: bounded statements on big databases
        top = bind.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one()
        for lo in range(0, int(top), BATCH):
            bind.execute(sa.text(statement), {"lo": lo, "hi": lo + BATCH})


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for name in ("ix_search_messages", "ix_search_contacts", "ix_search_numbers"):
            op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute("ALTER TABLE messages DROP COLUMN IF EXISTS search_vector")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS atende_pt")
        return
    for trigger in ("messages_ai", "messages_ad", "messages_au", "contacts_ai", "contacts_ad", "contacts_au",
                    "numbers_ai", "numbers_ad", "numbers_au"):
        op.execute(f"DROP TRIGGER IF EXISTS search_{trigger}")
    for table in ("search_messages", "search_contacts", "search_numbers"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
