"""Where media bytes live. Content-addressed: the key of a file is derived from its SHA-256, so the
same bytes are stored once, writes are idempotent and a key never points at different content.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from atende.db.engine import private_dir


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str  # storage key, e.g. "sha256/ab/cd/abcd…"
    sha256: str  # hex digest of the content
    size: int


@runtime_checkable
class MediaStore(Protocol):
    """A place to keep media bytes. Implementations: `LocalMediaStore`; S3 and the like later."""

    async def put(self, data: bytes) -> StoredFile:
        """Store `data` (idempotent: the same bytes give the same key)."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; FileNotFoundError when missing."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...


def key_for(sha256_hex: str) -> str:
    return f"sha256/{sha256_hex[:2]}/{sha256_hex[2:4]}/{sha256_hex}"


class LocalMediaStore:
    """Files under `root`, named by their SHA-256 (written atomically: temp file, fsync, rename)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        private_dir(self.root)  # customers' documents: the owner only

    def __repr__(self) -> str:
        return f"LocalMediaStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        parts = key.split("/")
        # Keys are ours ("sha256/ab/cd/<hex>"), but never let one escape the root.
        if len(parts) != 4 or parts[0] != "sha256" or not all(p.isalnum() for p in parts[1:]):
            raise ValueError(f"invalid media key: {key!r}")
        return self.root.joinpath(*parts)

    async def put(self, data: bytes) -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        key = key_for(digest)
        await asyncio.to_thread(self._write, self.path(key), data)
        return StoredFile(key=key, sha256=digest, size=len(data))

    @staticmethod
    def _write(target: Path, data: bytes) -> None:
        if target.exists() and target.stat().st_size == len(data):
            return  # content-addressed: already there
        if not target.parent.exists():
            private_dir(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self.path(key).read_bytes)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, True)
