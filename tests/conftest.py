"""Shared fixtures: real services (PostgreSQL, Redis) and the engine wired to fake providers."""

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.harness import Harness, close_harness, make_harness
from tests.support.services import (  # noqa: F401 (fixtures used by name)
    postgres_server,
    postgres_url,
    redis_server,
    redis_url,
)

# Property tests run the same examples on every run (reproducible CI: a red build is a real, repeatable
# failure); HYPOTHESIS_PROFILE=explore draws new random examples, more of them, to hunt for new ones.
hypothesis_settings.register_profile("repeatable", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, max_examples=500, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# postgres_server (session) -> PostgresServer; postgres_url -> URL of a fresh database;
# redis_server (session) -> redis://127.0.0.1:PORT/0; redis_url -> the same, after FLUSHALL.


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    """The engine + fakes, on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}"
    h = await make_harness(url)
    try:
        yield h
    finally:
        await close_harness(h)


@pytest.fixture
async def sqlite_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """SQLite only, for tests about the embedded mode itself."""
    h = await make_harness(f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}")
    try:
        yield h
    finally:
        await close_harness(h)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread for
    the rest of the session, which would break every asyncio test collected after it."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)
