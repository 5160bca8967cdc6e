"""Settings: ATENDE_* variables, and a per-installation secret key when none is given."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from atende.secrets import SecretBox
from atende.settings import Settings


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATENDE_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("ATENDE_PUBLIC_URL", "https://atende.example.com")
    s = Settings()
    assert s.database_url == "postgresql+asyncpg://u@h/db" and not s.is_sqlite
    assert s.public_url == "https://atende.example.com"


def test_unset_secret_key_is_generated_once_and_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ATENDE_SECRET_KEY", raising=False)
    first = Settings().resolved_secret_key()
    assert len(first) >= 40 and Settings().resolved_secret_key() == first
    key_file = tmp_path / "var" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = SecretBox(first).encrypt_json({"api_token": "x"})
    assert SecretBox(Settings().resolved_secret_key()).decrypt_json(token) == {"api_token": "x"}
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    assert Settings().resolved_secret_key() != first  # another installation, another key


def test_explicit_secret_key_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATENDE_SECRET_KEY", "from-the-environment")
    assert Settings().resolved_secret_key() == "from-the-environment"
    assert not (tmp_path / "var" / "secret.key").exists()
    with pytest.raises(ValueError, match="ATENDE_SECRET_KEY"):
        SecretBox("another").decrypt_json(SecretBox("from-the-environment").encrypt_json({"a": 1}))
