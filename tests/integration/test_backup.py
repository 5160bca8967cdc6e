"""`atende backup` / `atende restore`: an archive made under load restores into a fresh place with
every message acknowledged before it began, and the media files (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select

from atende.backup import BackupError, create_backup, read_manifest, restore_backup
from atende.db.engine import create_engine
from atende.db.tables import messages
from atende.settings import Settings
from tests.support.harness import Harness

MEDIA = b"%PDF-1.4 comprovante " * 64


async def post_reply(h: Harness, path: str, ref: str) -> int:
    body = {"reply": {"id": ref, "reply": f"mensagem {ref}", "received_at": "16/11/2025 14:30:00",
                      "message": {"id": f"m-{ref}", "reference": None, "phone": "5511987654321", "content": "x"}}}
    r = await h.client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    return r.status_code


async def test_backup_under_load_restores_every_message(harness: Harness, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    h = harness
    c = await h.kolmeya_connector()
    path = c["webhook_url"].removeprefix("http://atende.test")
    stored_media = await h.rt.media_store.put(MEDIA)
    acked: list[str] = []
    stop = asyncio.Event()

    async def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            ref = f"b{worker}-{n}"
            n += 1
            if await post_reply(h, path, ref) == 200:
                acked.append(ref)
            await asyncio.sleep(0.005)

    loaders = [asyncio.create_task(load(i)) for i in range(3)]
    async with asyncio.timeout(60):
        while True:  # a busy machine: wait for some traffic, not for a fixed time
            if len(acked) >= 30:
                break
            await asyncio.sleep(0.05)
    before = list(acked)  # acknowledged before the backup began: all must come back
    info = await asyncio.to_thread(create_backup, h.rt.settings, tmp_path)
    mark = len(acked)
    async with asyncio.timeout(60):
        while True:  # the load goes on after the snapshot
            if len(acked) >= mark + 5:
                break
            await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*loaders)
    assert len(acked) > len(before)

    manifest = read_manifest(info.path)
    assert manifest["database"] == h.rt.engine.dialect.name and manifest["media_files"] >= 1
    with tarfile.open(info.path) as tar:
        names = tar.getnames()
    assert f"media/{stored_media.key}" in names

    if h.rt.engine.dialect.name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'atende.db'}"
    else:
        url = request.getfixturevalue("postgres_server").fresh_database("restored")
    fresh = Settings(database_url=url, media_dir=tmp_path / "fresh" / "media", secret_key="test-secret-key")
    done = await asyncio.to_thread(restore_backup, fresh, info.path)
    assert done["media_restored"] == manifest["media_files"]
    assert (tmp_path / "fresh" / "media" / stored_media.key).read_bytes() == MEDIA

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            ids = (await conn.execute(select(messages.c.provider_message_id))).scalars()
            refs = {str(v).rsplit(":", 1)[-1] for v in ids}
    finally:
        await engine.dispose()
    missing = [ref for ref in before if ref not in refs]
    assert not missing, f"{len(missing)} messages missing from the restore, e.g. {missing[:5]}"
    assert len(refs) <= len(acked) + 1

    with pytest.raises(BackupError):  # an existing database is not overwritten by accident
        await asyncio.to_thread(restore_backup, fresh, info.path)
    await asyncio.to_thread(restore_backup, fresh, info.path, force=True)


async def test_cli_backup_and_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from atende.cli import main
    from atende.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATENDE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    monkeypatch.setenv("ATENDE_SECRET_KEY", "k")
    monkeypatch.setenv("ATENDE_MEDIA_DIR", str(tmp_path / "media"))
    get_settings.cache_clear()
    try:
        await asyncio.to_thread(main, ["users", "create", "--email", "a@example.com", "--password", "s3nha-forte-1",
                                       "--name", "A", "--role", "admin"])
        await asyncio.to_thread(main, ["backup", "-o", str(tmp_path / "bk")])
        [archive] = list((tmp_path / "bk").glob("atende-backup-*.tar.gz"))
        monkeypatch.setenv("ATENDE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
        get_settings.cache_clear()
        await asyncio.to_thread(main, ["restore", str(archive)])
        import sqlite3

        with sqlite3.connect(tmp_path / "b.db") as conn:
            assert conn.execute("SELECT email FROM users").fetchall() == [("a@example.com",)]
        with pytest.raises(SystemExit, match="--force"):
            await asyncio.to_thread(main, ["restore", str(archive)])
        with pytest.raises(SystemExit, match="inválido"):
            await asyncio.to_thread(main, ["restore", str(tmp_path / "a.db")])
    finally:
        get_settings.cache_clear()
