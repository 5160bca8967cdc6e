"""Shared fixtures: a fresh fake Kolmeya per test, reached through httpx.ASGITransport."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import atende.channels.kolmeya as kolmeya_package
from atende.channels.base import OutboundMessage
from atende.channels.kolmeya import KolmeyaConfig, KolmeyaProvider
from atende.channels.kolmeya.client import KolmeyaClient
from atende.testing.fake_kolmeya import FakeKolmeya, create_fake_kolmeya

TOKEN = "test-token"
BASE_URL = "http://kolmeya.test/api/v1"
WEBHOOK_URL = "http://atende.test/webhooks/kolmeya/s3cr3t-path-token"
FIXTURES = Path(kolmeya_package.__file__).parent / "fixtures"


@pytest.fixture
def fake() -> FakeKolmeya:
    return create_fake_kolmeya({TOKEN})


@pytest.fixture
async def http(fake: FakeKolmeya) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://kolmeya.test") as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient) -> KolmeyaClient:
    return KolmeyaClient(http, token=TOKEN, base_url=BASE_URL)


@pytest.fixture
def make_provider(http: httpx.AsyncClient) -> Callable[..., KolmeyaProvider]:
    def build(**config: Any) -> KolmeyaProvider:
        values: dict[str, Any] = {"api_token": TOKEN, "base_url": BASE_URL, **config}
        return KolmeyaProvider(KolmeyaConfig(**values), http)

    return build


@pytest.fixture
def provider(make_provider: Callable[..., KolmeyaProvider]) -> KolmeyaProvider:
    return make_provider()


@pytest.fixture
def outbound() -> Callable[..., OutboundMessage]:
    def build(reference: str, to: str = "+5548991910234", text: str = "Olá!", **extra: Any) -> OutboundMessage:
        return OutboundMessage(
            reference=reference, to=to, text=text, webhook_url=extra.pop("webhook_url", WEBHOOK_URL), **extra
        )

    return build


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


@pytest.fixture
def load_fixture() -> Callable[[str], Any]:
    return fixture_json


@pytest.fixture
def load_fixture_bytes() -> Callable[[str], bytes]:
    return fixture_bytes
