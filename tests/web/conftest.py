"""Page tests: an httpx client per user, signed in through the login form like a browser."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.support.harness import Harness
from tests.web.pagekit import PageClient


async def _signed_in(h: Harness) -> AsyncIterator[Callable[[str], Awaitable[PageClient]]]:
    clients: list[PageClient] = []

    async def make(who: str) -> PageClient:
        client = PageClient(h)
        response = await client.login(who)
        assert response.status_code == 303, response.text
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def pages(harness: Harness) -> AsyncIterator[Callable[[str], Awaitable[PageClient]]]:
    """`await pages("ana")` → a PageClient signed in as that harness user."""
    async for make in _signed_in(harness):
        yield make


@pytest.fixture
async def sqlite_pages(sqlite_harness: Harness) -> AsyncIterator[Callable[[str], Awaitable[PageClient]]]:
    """The same, on SQLite only."""
    async for make in _signed_in(sqlite_harness):
        yield make
