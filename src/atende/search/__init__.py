"""Full-text search over messages, contacts' names and phone numbers (SQLite FTS5, PostgreSQL tsvector).

terms: what a query means (pure); schema: the objects outside db/tables.py; queries: the reads.
"""
