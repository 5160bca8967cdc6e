"""The search objects live outside db/tables.py (FTS5 tables and triggers, expression indexes):
migration 0009 creates them, and schema comparisons skip them by name."""

from __future__ import annotations

from typing import Any

POSTGRES_INDEXES = ("ix_search_messages", "ix_search_contacts", "ix_search_numbers")

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
    # Stored, so that walking the newest messages can test each one cheaply (see search/queries.py).
    "ALTER TABLE messages ADD COLUMN search_vector tsvector"
    " GENERATED ALWAYS AS (to_tsvector('atende_pt'::regconfig, coalesce(text, ''))) STORED",
    "CREATE INDEX ix_search_messages ON messages USING gin (search_vector)",
    "CREATE INDEX ix_search_contacts ON contacts USING gin (to_tsvector('atende_pt'::regconfig, coalesce(name, '')))",
    "CREATE INDEX ix_search_numbers ON contact_identities USING gin (value gin_trgm_ops)",
]


def ensure_sqlite(conn: Any) -> bool:
    """Re-create missing search triggers (a later migration that rebuilt `messages`, `contacts` or
    `contact_identities` in SQLite batch mode drops them) and rebuild the indexes they fed, so search
    never silently goes stale. Returns True if anything had to be repaired. Run after migrations."""
    from sqlalchemy import text

    names = {row[0] for row in conn.execute(text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'search_%'"))}
    if not {row[0] for row in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'search_messages'"))}:
        return False  # before migration 0009
    wanted = {stmt.split("IF NOT EXISTS ")[1].split()[0]: stmt for stmt in SQLITE_TRIGGERS}
    missing = set(wanted) - names
    if not missing:
        return False
    for name in sorted(missing):
        conn.execute(text(wanted[name]))
    for table in {name.split("_")[1] for name in missing}:  # messages | contacts | numbers
        conn.execute(text(f"INSERT INTO search_{table}(search_{table}) VALUES ('rebuild')"))
    return True


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's include_name hook: leave the search objects (and FTS5's shadow tables) alone."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith("search_")
    if type_ == "index":
        return not name.startswith("ix_search_")
    if type_ == "column":
        return name != "search_vector"  # PostgreSQL's stored tsvector on messages
    return True
