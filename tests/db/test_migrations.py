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


async def test_0004_hashes_existing_webhook_tokens(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Connectors created before 0004 keep their URL: the token is hashed for lookup and sealed for admins."""
    import hashlib

    from sqlalchemy import text

    from atende.secrets import SecretBox

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    try:
        await upgrade(engine, "0003")
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO connectors (name, provider, channel, config_encrypted, webhook_token, state, "
                "created_at, updated_at) VALUES ('k', 'kolmeya', 'sms', 'x', 'old-token-123', '{}', "
                "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"))
        await upgrade(engine, secret_key="migration-key")
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT webhook_token_hash, webhook_token_encrypted FROM connectors"))).one()
    finally:
        await engine.dispose()
    assert row[0] == hashlib.sha256(b"old-token-123").hexdigest()
    assert SecretBox("migration-key").decrypt_text(row[1]) == "old-token-123"
