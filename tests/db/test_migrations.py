"""The Alembic migrations produce exactly the schema in db/tables.py, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from atende.db.engine import create_engine
from atende.db.migrate import upgrade
from atende.db.tables import metadata
from atende.search.schema import include_name


async def _diff(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(
                    sync, opts={"compare_type": True, "include_name": include_name}), metadata))
    finally:
        await engine.dispose()


async def test_sqlite_schema_matches_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert await _diff(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}") == []


async def test_postgres_schema_matches_tables(postgres_url: str) -> None:
    assert await _diff(postgres_url) == []


async def test_upgrade_is_idempotent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    assert await _diff(url) == []
    assert await _diff(url) == []
