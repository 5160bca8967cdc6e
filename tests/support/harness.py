"""The engine wired to fake providers, in-process: one per test, on SQLite or PostgreSQL."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from atende.actions import users as user_actions
from atende.app import create_app
from atende.db.migrate import upgrade
from atende.jobs.handlers import DEAD_HOOKS, HANDLERS
from atende.jobs.worker import Worker
from atende.realtime.bus import MemoryBus
from atende.runtime import Runtime
from atende.settings import Settings
from atende.testing.fake_graph import FakeGraph, create_fake_graph
from atende.testing.fake_kolmeya import FakeKolmeya, create_fake_kolmeya
from atende.testing.transport import HostRouter

APP_HOST = "atende.test"
KOLMEYA_BASE = "http://kolmeya.test/api/v1"
KOLMEYA_TOKEN = "test-token"
GRAPH_HOST = "graph.test"
GRAPH_BASE = f"http://{GRAPH_HOST}"
WHATSAPP_VERIFY_TOKEN = "verify-me"
MESSENGER_PAGE = "105264925201234"
INSTAGRAM_ACCOUNT = "17841400123456789"


@dataclass
class Harness:
    rt: Runtime
    app: FastAPI
    router: HostRouter
    client: httpx.AsyncClient
    worker: Worker
    kolmeya: FakeKolmeya
    graph: FakeGraph
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def get(self, path: str, who: str = "admin", **kw: Any) -> httpx.Response:
        return await self.client.get(path, headers=self.auth(who), **kw)

    async def post(self, path: str, json: Any = None, who: str = "admin", **kw: Any) -> httpx.Response:
        return await self.client.post(path, json=json, headers=self.auth(who), **kw)

    async def drain(self) -> int:
        return await self.worker.drain()

    async def kolmeya_connector(self, **config: Any) -> dict[str, Any]:
        body = {
            "name": "SMS Kolmeya",
            "provider": "kolmeya",
            "config": {"api_token": KOLMEYA_TOKEN, "base_url": KOLMEYA_BASE, "cost_per_segment": "0.08", **config},
        }
        response = await self.post("/api/v1/connectors", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def whatsapp_connector(self, **config: Any) -> dict[str, Any]:
        """A WhatsApp Cloud connector on the fake Graph API (no pair pacing unless asked)."""
        body = {
            "name": "WhatsApp",
            "provider": "whatsapp_cloud",
            "config": {
                "access_token": self.graph.access_token, "phone_number_id": self.graph.phone_number_id,
                "app_secret": self.graph.app_secret, "verify_token": WHATSAPP_VERIFY_TOKEN,
                "waba_id": self.graph.waba_id, "base_url": GRAPH_BASE, "api_version": self.graph.api_version,
                "pair_interval_s": 0, **config,
            },
        }
        response = await self.post("/api/v1/connectors", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def messenger_connector(self, page_id: str = MESSENGER_PAGE, **config: Any) -> dict[str, Any]:
        """A Messenger connector for a page of the fake Graph API."""
        self.graph.messaging.add_page(page_id, platform="page", name="Loja Exemplo",
                                      human_agent=bool(config.get("human_agent_tag")))
        return await self._meta_connector("Messenger", "messenger", {"page_id": page_id, **config})

    async def instagram_connector(self, ig_user_id: str = INSTAGRAM_ACCOUNT, **config: Any) -> dict[str, Any]:
        """An Instagram connector for an account of the fake Graph API (its linked page when `page_id`)."""
        self.graph.messaging.add_page(ig_user_id, platform="instagram", name="Loja Exemplo", username="loja.exemplo",
                                      human_agent=bool(config.get("human_agent_tag")))
        if config.get("page_id"):
            self.graph.messaging.add_page(str(config["page_id"]), platform="page", name="Loja Exemplo",
                                          human_agent=bool(config.get("human_agent_tag")))
        return await self._meta_connector("Instagram", "instagram", {"ig_user_id": ig_user_id, **config})

    async def _meta_connector(self, name: str, provider: str, config: dict[str, Any]) -> dict[str, Any]:
        body = {"name": name, "provider": provider, "config": {
            "page_access_token": self.graph.access_token, "app_secret": self.graph.app_secret,
            "verify_token": WHATSAPP_VERIFY_TOKEN, "base_url": GRAPH_BASE, "api_version": self.graph.api_version,
            **config}}
        response = await self.post("/api/v1/connectors", body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def add_user(self, name: str, role: str) -> None:
        async with self.rt.write() as tx:
            uid = await user_actions.create_user(
                tx, email=f"{name}@example.com", password="s3nha-forte", name=name.title(), role=role
            )
            self.tokens[name] = await user_actions.create_api_token(tx, uid)
        self.user_ids[name] = uid


async def make_harness(database_url: str, **settings: Any) -> Harness:
    if "media_dir" not in settings:  # keep downloaded media out of the working tree
        settings["media_dir"] = Path(tempfile.mkdtemp(prefix="atende-media-"))
    config = Settings(
        database_url=database_url,
        public_url=f"http://{APP_HOST}",
        secret_key="test-secret-key",
        run_migrations_on_start=False,
        auto_release_after_s=0,
        auto_close_after_s=0,
        allow_http_loopback_providers=True,  # the fakes live at http://kolmeya.test, http://graph.test
        **settings,
    )
    router = HostRouter()
    http = httpx.AsyncClient(transport=router, timeout=10)
    rt = Runtime.create(config, bus=MemoryBus(), http=http)
    await upgrade(rt.engine)
    app = create_app(rt=rt, run_worker=False)
    app.state.rt = rt
    router.add(APP_HOST, app)
    kolmeya = create_fake_kolmeya([KOLMEYA_TOKEN], webhook_http=http)
    router.add("kolmeya.test", kolmeya.app)
    graph = create_fake_graph()
    router.add(GRAPH_HOST, graph.app)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{APP_HOST}")
    h = Harness(
        rt=rt,
        app=app,
        router=router,
        client=client,
        worker=Worker(rt, HANDLERS, dead_hooks=DEAD_HOOKS),
        kolmeya=kolmeya,
        graph=graph,
    )
    for name, role in (("admin", "admin"), ("supervisor", "supervisor"), ("ana", "agent"), ("bruno", "agent")):
        await h.add_user(name, role)
    return h


async def close_harness(h: Harness) -> None:
    await h.client.aclose()
    await h.rt.close()
    if h.rt.settings.media_dir.name.startswith("atende-media-"):
        shutil.rmtree(h.rt.settings.media_dir, ignore_errors=True)
