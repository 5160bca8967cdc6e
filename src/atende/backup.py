"""`atende backup` and `atende restore`: the database and the media folder in one archive.

An archive (`atende-backup-<UTC time>.tar.gz`) holds:
- `manifest.json`: format, creation time, database kind, schema revision, media file count;
- `database.sqlite` (SQLite's online backup API: a consistent copy while the service keeps writing)
  or `database.dump` (`pg_dump --format=custom`: one consistent snapshot, restored with pg_restore);
- `media/…`: the media folder, copied after the database snapshot, so every file a backed-up row
  points to is there.

The secret key (ATENDE_SECRET_KEY or var/secret.key) is NOT in the archive: it decrypts the provider
tokens stored in the database, so it is kept apart from the data; restore needs the same key.
PostgreSQL passwords reach pg_dump/pg_restore through PGPASSWORD, never the command line.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from atende import __version__
from atende.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite"
PG_FILE = "database.dump"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why (in Portuguese, for the CLI)."""


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    database: str
    revision: str | None
    media_files: int


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("banco SQLite em memória não tem o que copiar")
    return Path(url.database)


def pg_tool(name: str) -> str:
    """pg_dump / pg_restore: from PATH, else the newest Debian install (/usr/lib/postgresql/N/bin)."""
    found = shutil.which(name)
    if found:
        return found

    def major(path: str) -> int:
        match = re.search(r"/(\d+)/bin/", path)
        return int(match.group(1)) if match else 0

    for path in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=major, reverse=True):
        if os.access(path, os.X_OK):
            return path
    raise BackupError(f"{name} não encontrado: instale o cliente do PostgreSQL (Debian: postgresql-client)")


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq connection options and environment for a SQLAlchemy PostgreSQL URL (no password in argv)."""
    args = ["--dbname", str(url.database or "postgres")]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} falhou ({done.returncode}): {done.stderr.strip()[-2000:]}")


def _revision_sqlite(path: Path) -> str | None:
    with sqlite3.connect(path) as conn:
        try:
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            return None
    return str(row[0]) if row else None


def _add_media(tar: tarfile.TarFile, media_dir: Path) -> int:
    count = 0
    if not media_dir.is_dir():
        return 0
    for path in sorted(media_dir.rglob("*")):
        if path.is_file() and not path.name.startswith(".tmp"):
            tar.add(path, arcname=f"media/{path.relative_to(media_dir).as_posix()}", recursive=False)
            count += 1
    return count


def create_backup(settings: Settings, destination: Path) -> BackupInfo:
    """Write an archive into `destination` (a directory, or the archive's file name)."""
    url = make_url(settings.database_url)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = destination / f"atende-backup-{stamp}.tar.gz" if destination.is_dir() else destination
    target.parent.mkdir(parents=True, exist_ok=True)
    backend = url.get_backend_name()
    with tempfile.TemporaryDirectory(prefix="atende-backup-", dir=target.parent) as tmp:
        work = Path(tmp)
        if backend == "sqlite":
            snapshot = work / SQLITE_FILE
            source = sqlite3.connect(_sqlite_path(url), timeout=30)
            copy = sqlite3.connect(snapshot)
            try:
                source.backup(copy)  # one step: a consistent snapshot; writers go on (WAL)
            finally:
                copy.close()
                source.close()
            revision = _revision_sqlite(snapshot)
        elif backend == "postgresql":
            snapshot = work / PG_FILE
            args, env = _pg_args(url)
            _run([pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(snapshot),
                  *args], env)
            revision = None  # read back at restore time (the dump holds alembic_version)
        else:
            raise BackupError(f"banco não suportado para backup: {backend}")
        partial = target.with_name(target.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(snapshot, arcname=snapshot.name)
            media_files = _add_media(tar, Path(settings.media_dir))
            manifest = json.dumps({
                "format": FORMAT, "created_at": datetime.now(UTC).isoformat(), "atende_version": __version__,
                "database": backend, "revision": revision, "media_files": media_files,
            }, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(manifest)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, fileobj=_bytes(manifest))
        partial.replace(target)  # never a half-written archive under the final name
    return BackupInfo(target, backend, revision, media_files)


def _bytes(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:*") as tar:
            member = tar.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest: dict[str, Any] = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"arquivo de backup inválido: {archive} ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"formato de backup desconhecido: {manifest.get('format')!r}")
    return manifest


def restore_backup(settings: Settings, archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Put an archive's database and media in place of this installation's (empty unless `force`).
    Run `atende migrate` (or start the service) afterwards when the archive is from an older version."""
    manifest = read_manifest(archive)
    url = make_url(settings.database_url)
    backend = url.get_backend_name()
    if manifest["database"] != backend:
        raise BackupError(f"o backup é de {manifest['database']}, mas ATENDE_DATABASE_URL aponta para {backend}")
    media_dir = Path(settings.media_dir)
    with tempfile.TemporaryDirectory(prefix="atende-restore-") as tmp:
        work = Path(tmp)
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(work, filter="data")  # no absolute paths, links out or devices
        if backend == "sqlite":
            path = _sqlite_path(url)
            if path.exists() and path.stat().st_size > 0 and not force:
                raise BackupError(f"{path} já existe: use --force para substituí-lo")
            path.parent.mkdir(parents=True, exist_ok=True)
            for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copyfile(work / SQLITE_FILE, path)
        else:
            args, env = _pg_args(url)
            cmd = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
            if force:
                cmd += ["--clean", "--if-exists"]
            _run([*cmd, *args, str(work / PG_FILE)], env)
        restored_media = 0
        source_media = work / "media"
        if source_media.is_dir():
            for path in source_media.rglob("*"):
                if path.is_file():
                    dest = media_dir / path.relative_to(source_media)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, dest)
                    restored_media += 1
    return {**manifest, "media_restored": restored_media}
