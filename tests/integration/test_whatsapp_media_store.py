"""The local media store: content-addressed, idempotent, never outside its root."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from atende.media.policy import MediaRejected, check_upload, normalize_mime, safe_filename
from atende.media.store import LocalMediaStore, MediaStore


async def test_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    assert isinstance(store, MediaStore)
    first = await store.put(b"hello")
    again = await store.put(b"hello")
    other = await store.put(b"world")
    digest = hashlib.sha256(b"hello").hexdigest()
    assert first == again and first.sha256 == digest and first.size == 5
    assert first.key == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}" and other.key != first.key
    assert await store.get(first.key) == b"hello" and await store.exists(first.key)
    assert (tmp_path / first.key).is_file()
    leftovers = await asyncio.to_thread(lambda: list(tmp_path.rglob(".tmp-*")))
    assert not leftovers  # no temp file left behind
    await store.delete(first.key)
    assert not await store.exists(first.key)
    with pytest.raises(FileNotFoundError):
        await store.get(first.key)


@pytest.mark.parametrize("key", ["../etc/passwd", "sha256/../../x/y", "sha256/ab/cd/../../e", "/abs/path/x/y"])
async def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        await LocalMediaStore(tmp_path).get(key)


def test_upload_policy() -> None:
    assert check_upload("image/jpeg", 1000) == "image"
    assert check_upload("audio/ogg; codecs=opus", 1000) == "audio"
    assert normalize_mime("application/octet-stream", "nota.pdf") == "application/pdf"
    with pytest.raises(MediaRejected) as refused:
        check_upload("text/html", 10)
    assert refused.value.status_code == 415
    with pytest.raises(MediaRejected) as big:
        check_upload("image/png", 5 * 1024 * 1024 + 1)
    assert big.value.status_code == 413
    with pytest.raises(MediaRejected):
        check_upload("image/png", 0)
    assert safe_filename('../../etc/"pass\nwd".pdf') == "passwd.pdf"
    assert safe_filename("") is None
