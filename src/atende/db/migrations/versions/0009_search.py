"""full-text search: messages' text, contacts' names and phone numbers

Revision ID: 0009
Revises: 0003

SQLite: FTS5 tables with external content (the text stays in its own table; the index holds only
the terms), unicode61 with remove_diacritics 2 for words and trigram for number fragments, kept in
step by triggers in the writer's own transaction (every writer, present and future), and filled
from existing rows in batches.
PostgreSQL: the 'atende_pt' text search configuration (portuguese + unaccent), GIN expression
indexes (PostgreSQL maintains them in the writer's transaction; building one reads existing rows)
and a pg_trgm index for number fragments.

Everything here is named search_* / ix_search_*: db/tables.py does not describe it, and the schema
comparison skips those names (atende.search.schema.include_name).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 20_000

SQLITE_TABLES = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_messages USING fts5("
    "text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_contacts USING fts5("
    "name, content='contacts', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_numbers USING fts5("
    "value, content='contact_identities', content_rowid='id', tokenize='trigram')",
]

# External-content FTS5: a row leaves the index with the 'delete' command and its OLD values.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS search_messages_ai AFTER INSERT ON messages
       WHEN new.text IS NOT NULL AND new.text <> '' BEGIN
         INSERT INTO search_messages(rowid, text) VALUES (new.id, new.text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_messages_ad AFTER DELETE ON messages
       WHEN old.text IS NOT NULL AND old.text <> '' BEGIN
         INSERT INTO search_messages(search_messages, rowid, text) VALUES ('delete', old.id, old.text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_messages_au AFTER UPDATE OF text ON messages
       WHEN old.text IS NOT new.text BEGIN
         INSERT INTO search_messages(search_messages, rowid, text)
           SELECT 'delete', old.id, old.text WHERE old.text IS NOT NULL AND old.text <> '';
         INSERT INTO search_messages(rowid, text)
           SELECT new.id, new.text WHERE new.text IS NOT NULL AND new.text <> '';
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_contacts_ai AFTER INSERT ON contacts BEGIN
         INSERT INTO search_contacts(rowid, name) VALUES (new.id, new.name);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_contacts_ad AFTER DELETE ON contacts BEGIN
         INSERT INTO search_contacts(search_contacts, rowid, name) VALUES ('delete', old.id, old.name);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_contacts_au AFTER UPDATE OF name ON contacts
       WHEN old.name IS NOT new.name BEGIN
         INSERT INTO search_contacts(search_contacts, rowid, name) VALUES ('delete', old.id, old.name);
         INSERT INTO search_contacts(rowid, name) VALUES (new.id, new.name);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_numbers_ai AFTER INSERT ON contact_identities
       WHEN new.kind = 'phone' BEGIN
         INSERT INTO search_numbers(rowid, value) VALUES (new.id, new.value);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_numbers_ad AFTER DELETE ON contact_identities
       WHEN old.kind = 'phone' BEGIN
         INSERT INTO search_numbers(search_numbers, rowid, value) VALUES ('delete', old.id, old.value);
       END""",
    """CREATE TRIGGER IF NOT EXISTS search_numbers_au AFTER UPDATE OF kind, value ON contact_identities BEGIN
         INSERT INTO search_numbers(search_numbers, rowid, value)
           SELECT 'delete', old.id, old.value WHERE old.kind = 'phone';
         INSERT INTO search_numbers(rowid, value) SELECT new.id, new.value WHERE new.kind = 'phone';
       END""",
]

SQLITE_BACKFILL = [
    ("messages", "INSERT INTO search_messages(rowid, text) SELECT id, text FROM messages "
                 "WHERE id > :lo AND id <= :hi AND text IS NOT NULL AND text <> ''"),
    ("contacts", "INSERT INTO search_contacts(rowid, name) SELECT id, name FROM contacts WHERE id > :lo AND id <= :hi"),
    ("contact_identities", "INSERT INTO search_numbers(rowid, value) SELECT id, value FROM contact_identities "
                           "WHERE id > :lo AND id <= :hi AND kind = 'phone'"),
]

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TEXT SEARCH CONFIGURATION atende_pt (COPY = pg_catalog.portuguese)",
    "ALTER TEXT SEARCH CONFIGURATION atende_pt"
    " ALTER MAPPING FOR hword, hword_part, word WITH unaccent, portuguese_stem",
    "CREATE INDEX ix_search_messages ON messages USING gin (to_tsvector('atende_pt'::regconfig, coalesce(text, '')))",
    "CREATE INDEX ix_search_contacts ON contacts USING gin (to_tsvector('atende_pt'::regconfig, coalesce(name, '')))",
    "CREATE INDEX ix_search_numbers ON contact_identities USING gin (value gin_trgm_ops)",
]


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
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS atende_pt")
        return
    for trigger in ("messages_ai", "messages_ad", "messages_au", "contacts_ai", "contacts_ad", "contacts_au",
                    "numbers_ai", "numbers_ad", "numbers_au"):
        op.execute(f"DROP TRIGGER IF EXISTS search_{trigger}")
    for table in ("search_messages", "search_contacts", "search_numbers"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
