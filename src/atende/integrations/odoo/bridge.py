"""The Odoo bridge of one process: its settings (reloaded every few seconds), one logged-in client
and the partner lookups already made, so a busy day asks Odoo once per phone number."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from atende.integrations.odoo import settings as odoo_settings
from atende.integrations.odoo.client import OdooClient, OdooError

if TYPE_CHECKING:
    from atende.runtime import Runtime

SETTINGS_TTL_S = 15.0
LOOKUP_TTL_S = 600.0
LOOKUP_MAX = 10_000


class TTLCache:
    """A small LRU with expiry: key → (value, stored at)."""

    def __init__(self, ttl_s: float, max_items: int) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._items: OrderedDict[Any, tuple[Any, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Any) -> tuple[bool, Any]:
        item = self._items.get(key)
        if item is None or time.monotonic() - item[1] > self.ttl_s:
            self._items.pop(key, None)
            self.misses += 1
            return False, None
        self._items.move_to_end(key)
        self.hits += 1
        return True, item[0]

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = (value, time.monotonic())
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


class OdooBridge:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._config: odoo_settings.OdooConfig | None = None
        self._loaded_at = -SETTINGS_TTL_S * 2
        self._client: OdooClient | None = None
        self.lookups = TTLCache(LOOKUP_TTL_S, LOOKUP_MAX)

    def forget(self) -> None:
        """Settings changed (saved here): reload them, log in again, ask Odoo afresh."""
        self._loaded_at = -SETTINGS_TTL_S * 2
        self._client = None
        self.lookups.clear()

    async def config(self) -> odoo_settings.OdooConfig | None:
        if time.monotonic() - self._loaded_at > SETTINGS_TTL_S:
            async with self.rt.read() as conn:
                config = await odoo_settings.load(conn, self.rt.secrets)
            if config != self._config:
                self._client = None
                self.lookups.clear()
            self._config = config
            self._loaded_at = time.monotonic()
        return self._config

    async def client(self) -> OdooClient:
        config = await self.config()
        if config is None:
            raise OdooError("A integração com o Odoo não está configurada", kind="config", transient=False)
        if self._client is None:
            self._client = config.client(self.rt.http)
        return self._client


def bridge(rt: Runtime) -> OdooBridge:
    if not isinstance(rt.odoo, OdooBridge):
        rt.odoo = OdooBridge(rt)
    return rt.odoo
