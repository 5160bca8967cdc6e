from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from wa_helpers import APP_SECRET, make_config

from atende.channels.whatsapp_cloud.provider import WhatsAppCloudProvider
from atende.testing.fake_graph import FakeGraph, create_fake_graph


@pytest.fixture
def fake() -> FakeGraph:
    return create_fake_graph(app_secret=APP_SECRET)


@pytest.fixture
async def http(fake: FakeGraph) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), timeout=5) as client:
        yield client


@pytest.fixture
def provider(fake: FakeGraph, http: httpx.AsyncClient) -> WhatsAppCloudProvider:
    return WhatsAppCloudProvider(make_config(fake), http)
