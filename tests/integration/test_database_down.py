"""Security §5: with the database down, requests answer 503 with Retry-After, never a 500."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from atende.app import create_app
from atende.realtime.bus import MemoryBus
from atende.runtime import Runtime
from atende.settings import Settings
from tests.support.services import free_port


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_requests_answer_503_when_the_database_is_unreachable(tmp_path: Path, kind: str) -> None:
    if kind == "postgres":
        url = f"postgresql+asyncpg://atende:x@127.0.0.1:{free_port()}/atende"  # nobody listens there
    else:
        (tmp_path / "db-is-a-folder").mkdir()  # SQLite cannot open a directory as its file
        url = f"sqlite+aiosqlite:///{tmp_path / 'db-is-a-folder'}"
    settings = Settings(database_url=url, secret_key="k", public_url="http://atende.test",
                        run_migrations_on_start=False, media_dir=tmp_path / "media")
    rt = Runtime.create(settings, bus=MemoryBus())
    app = create_app(rt=rt, run_worker=False)
    app.state.rt = rt
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://atende.test") as client:
        for method, path, headers in (("GET", "/api/v1/conversations", {"Authorization": "Bearer atd_x"}),
                                      ("GET", "/api/v1/me", {"Authorization": "Bearer atd_x"}),
                                      ("POST", "/webhooks/" + "t" * 43, {}),
                                      ("GET", "/board", {"Cookie": "atende_session=abc"}),
                                      ("GET", "/healthz", {})):
            r = await client.request(method, path, headers=headers)
            assert r.status_code == 503, (kind, path, r.status_code, r.text[:200])
            assert r.headers.get("retry-after"), path
    await rt.close()
