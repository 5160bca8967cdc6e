"""Apply Alembic migrations from code (`atende migrate`, and on start in embedded mode)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head", *, secret_key: str | None = None) -> None:
    """Upgrade the database behind `engine` (one connection, its own transaction). `secret_key`
    encrypts what a migration must keep secret (default: the settings' key)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    if secret_key:
        cfg.attributes["secret_key"] = secret_key

    def _run(sync_conn: object) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()


def upgrade_url(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)

