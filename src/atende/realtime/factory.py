"""Pick the event bus for the deployment: Redis if configured, else PostgreSQL NOTIFY, else memory."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from atende.realtime.bus import EventBus, MemoryBus


def make_bus(database_url: str, redis_url: str | None) -> EventBus:
    """Redis pub/sub when `redis_url` is set; LISTEN/NOTIFY when the database is PostgreSQL;
    otherwise (SQLite: one process) the in-memory bus. The caller starts and closes it."""
    if redis_url:
        from atende.realtime.redis_bus import RedisBus

        return RedisBus(redis_url)
    if make_url(database_url).get_backend_name() == "postgresql":
        from atende.realtime.pg_bus import PostgresBus

        return PostgresBus(database_url)
    return MemoryBus()
