"""Everything a process shares: engine, bus, secrets, HTTP client, provider instances, and the
engine's services (media store, send pacer, group committer).

Built once by the app (or a test) and passed explicitly; no module-level globals.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from atende.auth.tokens import token_hash
from atende.channels.base import Provider
from atende.channels.registry import provider_type
from atende.db.engine import create_engine, read_tx
from atende.db.group_commit import GroupCommitter
from atende.db.tables import connectors
from atende.db.tx import Tx, transaction
from atende.jobs.pacing import LocalPacer, SendPacer
from atende.jobs.shared_pacing import make_limiter
from atende.media.store import LocalMediaStore, MediaStore
from atende.realtime.bus import EventBus, MemoryBus
from atende.realtime.hub import Hub
from atende.secrets import SecretBox
from atende.settings import Settings

CONNECTORS_TOPIC = "connectors"  # payload: the id of a connector that changed


@dataclass(slots=True)
class LoadedConnector:
    id: int
    name: str
    provider_name: str
    channel: str
    webhook_token: str  # the URL token, decrypted (the database keeps its hash)
    webhook_token_hash: str
    active: bool
    config: BaseModel
    provider: Provider
    loaded_at: float


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    bus: EventBus
    secrets: SecretBox
    http: httpx.AsyncClient
    media_store: MediaStore  # where files customers send and agents attach are kept
    pacer: SendPacer  # how fast sends may go, per number and per recipient
    _connectors: dict[int, LoadedConnector] = field(default_factory=dict)
    _by_token: dict[str, int] = field(default_factory=dict)  # webhook token hash → connector id
    connector_ttl_s: float = 30.0
    _watcher: asyncio.Task[None] | None = None
    _committer: GroupCommitter | None = None
    _hub: Hub | None = None
    # The Odoo bridge (`atende.integrations.odoo.bridge.OdooBridge`), made on first use there.
    odoo: object | None = None

    @property
    def committer(self) -> GroupCommitter:
        """The group committer for webhook ingest (one per process)."""
        if self._committer is None:
            self._committer = GroupCommitter(
                self.engine, self.bus, self.settings.database_url, max_batch=self.settings.ingest_batch_max,
                max_wait_ms=self.settings.ingest_batch_wait_ms, transaction=self.write, settings=self.settings)
        return self._committer

    @property
    def hub(self) -> Hub:
        """The live-update hub: one events reader fanned out to this process's SSE streams."""
        if self._hub is None:
            self._hub = Hub(self)
        return self._hub

    @classmethod
    def create(cls, settings: Settings, *, bus: EventBus | None = None,
               http: httpx.AsyncClient | None = None, media_store: MediaStore | None = None,
               pacer: SendPacer | None = None) -> Runtime:
        if bus is None:
            from atende.realtime.factory import make_bus

            bus = make_bus(settings.database_url, settings.redis_url)
        return cls(
            settings=settings,
            engine=create_engine(settings.database_url),
            bus=bus or MemoryBus(),
            secrets=SecretBox(settings.resolved_secret_key()),
            http=http or httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=10.0)),
            media_store=media_store or LocalMediaStore(settings.media_dir),
            # Shared by every worker process through Redis when it is configured.
            pacer=pacer or make_limiter(LocalPacer(), settings.redis_url),
        )

    def watch_connectors(self) -> None:
        """Forget connectors other processes changed (a rotated webhook token must 404 at once)."""
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        async for payload in self.bus.subscribe(CONNECTORS_TOPIC):
            if payload.isdigit():
                self.forget(int(payload))

    async def connector_changed(self, connector_id: int) -> None:
        """After a commit that changed a connector: forget it here and in every other process."""
        self.forget(connector_id)
        await self.bus.publish(CONNECTORS_TOPIC, str(connector_id))

    async def close(self) -> None:
        if self._hub is not None:
            await self._hub.close()
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._committer is not None:
            await self._committer.close()
        await self.pacer.aclose()
        await self.bus.close()
        await self.http.aclose()
        await self.engine.dispose()

    def write(self) -> AbstractAsyncContextManager[Tx]:
        """`async with rt.write() as tx:` — one write transaction, announced on commit."""
        return transaction(self.engine, self.bus,
                           (self.settings.send_quota_per_hour, self.settings.send_quota_per_day), self.settings)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with read_tx(self.engine) as conn:
            yield conn

    # Connectors ---------------------------------------------------------------------------
    def build(self, row: Any) -> LoadedConnector:
        cls = provider_type(row.provider)
        config = cls.config_model.model_validate(self.secrets.decrypt_json(row.config_encrypted))
        return LoadedConnector(
            id=row.id, name=row.name, provider_name=row.provider, channel=row.channel,
            webhook_token=self.secrets.decrypt_text(row.webhook_token_encrypted),
            webhook_token_hash=row.webhook_token_hash, active=row.active, config=config,
            provider=cls(config, self.http), loaded_at=time.monotonic(),
        )

    def forget(self, connector_id: int) -> None:
        loaded = self._connectors.pop(connector_id, None)
        if loaded is not None:
            self._by_token.pop(loaded.webhook_token_hash, None)

    async def connector(self, connector_id: int, conn: AsyncConnection | None = None) -> LoadedConnector | None:
        cached = self._connectors.get(connector_id)
        if cached is not None and time.monotonic() - cached.loaded_at < self.connector_ttl_s:
            return cached
        return await self._load(connectors.c.id == connector_id, conn)

    async def connector_by_token(self, token: str) -> LoadedConnector | None:
        digest = token_hash(token)
        connector_id = self._by_token.get(digest)
        if connector_id is not None:
            loaded = await self.connector(connector_id)
            if loaded is not None and loaded.webhook_token_hash == digest:
                return loaded
            self._by_token.pop(digest, None)  # rotated since: ask the database
        return await self._load(connectors.c.webhook_token_hash == digest, None)

    async def _load(self, where: ColumnElement[bool], conn: AsyncConnection | None) -> LoadedConnector | None:
        if conn is None:
            async with self.read() as c:
                row = (await c.execute(select(connectors).where(where))).first()
        else:
            row = (await conn.execute(select(connectors).where(where))).first()
        if row is None:
            return None
        loaded = self.build(row)
        previous = self._connectors.get(loaded.id)
        if previous is not None and previous.webhook_token_hash != loaded.webhook_token_hash:
            self._by_token.pop(previous.webhook_token_hash, None)
        self._connectors[loaded.id] = loaded
        self._by_token[loaded.webhook_token_hash] = loaded.id
        return loaded

    def webhook_url(self, token: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}/webhooks/{token}"

    def webhook_url_of(self, row: Any) -> str:
        """The webhook URL of a `connectors` row (admins only: it is a secret)."""
        return self.webhook_url(self.secrets.decrypt_text(row.webhook_token_encrypted))

