"""The real app and the fake Kolmeya, each under uvicorn on 127.0.0.1, in a background thread.

The browser talks to the app over TCP; the fake posts its webhooks to the app's real URL; the app's
worker sends to the fake over TCP. Tests drive the fake (replies, statuses) through `call()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn

from atende.actions import users as user_actions
from atende.app import create_app
from atende.runtime import Runtime
from atende.settings import Settings
from atende.testing.fake_kolmeya import FakeKolmeya, create_fake_kolmeya, serve_fake_kolmeya

T = TypeVar("T")
TOKEN = "e2e-token"
PASSWORD = "s3nha-forte"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveStack:
    def __init__(self, workdir: Path, **settings: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            database_url=f"sqlite+aiosqlite:///{workdir / 'atende.db'}",
            public_url=self.url,
            secret_key="e2e-secret-key",
            auto_assign=False,
            auto_release_after_s=0,
            auto_close_after_s=0,
            job_poll_s=0.2,
            allow_http_loopback_providers=True,  # the fake Kolmeya listens on 127.0.0.1
            **settings,
        )
        self.loop = asyncio.new_event_loop()
        self.fake: FakeKolmeya | None = None
        self.kolmeya_url = ""
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="live-stack", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> LiveStack:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the live stack did not start in time")
        if self._error is not None:
            raise RuntimeError("the live stack failed to start") from self._error
        return self

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        webhook_http = httpx.AsyncClient(timeout=10)
        self.fake = create_fake_kolmeya([TOKEN], webhook_http=webhook_http)
        app = create_app(self.settings)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                               access_log=False, lifespan="on"))
        async with serve_fake_kolmeya(self.fake) as kolmeya_url:
            self.kolmeya_url = kolmeya_url
            task = asyncio.create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped during startup")
                await asyncio.sleep(0.02)
            self.rt: Runtime = app.state.rt
            self._ready.set()
            await self._stop.wait()
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 15)
        await webhook_http.aclose()

    # -- helpers for tests ---------------------------------------------------------------------------
    def call(self, factory: Callable[[], Coroutine[Any, Any, T]] | Awaitable[T], timeout: float = 20) -> T:
        coro = factory() if callable(factory) else factory
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def create_user(self, email: str, name: str, role: str = "admin") -> int:
        async def run() -> int:
            async with self.rt.write() as tx:
                return await user_actions.create_user(tx, email=email, password=PASSWORD, name=name, role=role)

        return self.call(run)

    def api_token(self, user_id: int) -> str:
        async def run() -> str:
            async with self.rt.write() as tx:
                return await user_actions.create_api_token(tx, user_id, "e2e")

        return self.call(run)
