"""Installation settings kept in the database (edited in the UI): reads, defaults and a short cache.

Each key holds one JSON document. Processes cache what they read for a few seconds, so hot paths
(previews on every board render, every event streamed) never query for it; the process that saves a
setting forgets its copy at once, the others within `TTL_S`.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.tables import app_settings
from atende.domain import retention

TTL_S = 10.0
PRIVACY = "privacy"
RETENTION = "retention"
DEFAULTS: dict[str, dict[str, Any]] = {
    PRIVACY: {"mask_previews": True},
    RETENTION: retention.RetentionPolicy().to_json(),
}


async def get(conn: AsyncConnection, key: str) -> dict[str, Any]:
    """The stored document merged over its defaults."""
    value = await conn.scalar(select(app_settings.c.value).where(app_settings.c.key == key))
    return {**DEFAULTS.get(key, {}), **(value if isinstance(value, dict) else {})}


async def retention_policy(conn: AsyncConnection) -> retention.RetentionPolicy:
    value = await conn.scalar(select(app_settings.c.value).where(app_settings.c.key == RETENTION))
    return retention.load(value)


class SettingsCache:
    """Per-process copies of the settings documents, refreshed after `ttl` seconds."""

    def __init__(self, ttl: float = TTL_S) -> None:
        self.ttl = ttl
        self._values: dict[str, tuple[float, dict[str, Any]]] = {}

    async def get(self, rt: Any, key: str) -> dict[str, Any]:
        cached = self._values.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        async with rt.read() as conn:
            value = await get(conn, key)
        self._values[key] = (now, value)
        return value

    def forget(self, key: str | None = None) -> None:
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)

    def peek(self, key: str) -> dict[str, Any]:
        """The cached document (or the defaults), without I/O: for sync code such as templates."""
        cached = self._values.get(key)
        return cached[1] if cached is not None else DEFAULTS.get(key, {})

    async def mask_previews(self, rt: Any) -> bool:
        return bool((await self.get(rt, PRIVACY)).get("mask_previews", True))

    def peek_mask_previews(self) -> bool:
        return bool(self.peek(PRIVACY).get("mask_previews", True))
