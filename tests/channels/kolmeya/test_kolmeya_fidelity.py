"""Kolmeya shapes that used to lose information (issue 13 §1), one fixture each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from atende.channels.base import OutboundMessage, ProviderError
from atende.channels.kolmeya import KolmeyaConfig, KolmeyaProvider
from atende.channels.kolmeya.client import KolmeyaClient
from atende.channels.kolmeya.parse import parse_replys_page, parse_webhook_body
from conftest import BASE_URL, TOKEN, fixture_bytes, fixture_json


def answering(status: int, body: bytes) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def test_invalid_item_with_reason_keeps_kolmeyas_words(outbound: Callable[..., OutboundMessage]) -> None:
    async with answering(200, fixture_bytes("store_response_invalid_reason.json")) as http:
        provider = KolmeyaProvider(KolmeyaConfig(api_token=TOKEN, base_url=BASE_URL), http)
        result = await provider.send(outbound("3001", to="+5548991910234"))
    assert result.status == "failed" and result.error_code == "invalid"
    assert result.error == "Número de telefone incompleto"


def test_flat_reply_links_by_original_message_id() -> None:
    (m,) = parse_webhook_body(fixture_bytes("flat_reply_original_id.json")).messages
    assert m.text == "Quero sim, pode mandar"
    assert m.reply_to_provider_id == "08201a45-c934-4b7e-ba2d-ed898b938058"
    assert m.attributes["request_id"] == "bd067220-a777-46b4-91d7-c834c773538d"
    assert m.address == "+5548991910234"


def test_flat_item_in_a_replys_page_is_kept() -> None:
    page = parse_replys_page(fixture_json("replys_page_flat_item.json"))
    assert not page.batch.events, page.batch.events
    nested, flat = page.batch.messages
    assert nested.text == "Ok, obrigado"
    assert flat.text == "Pode ligar depois das 18h?"
    assert flat.provider_message_id == "reply:602"
    assert flat.reply_to_provider_id == "08201a45-c934-4b7e-ba2d-ed898b938058"
    assert flat.address == "+5548991910234"


async def test_422_keeps_every_field_and_message() -> None:
    async with answering(422, fixture_bytes("error_422.json")) as http:
        client = KolmeyaClient(http, token=TOKEN, base_url=BASE_URL)
        with pytest.raises(ProviderError) as caught:
            await client.store([{"phone": "5548991910234", "message": "Oi", "reference": "1"}], webhook_url=None)
    error = caught.value
    assert error.code == "validation" and error.status_code == 422 and not error.transient
    assert "The given data was invalid." in error.message
    assert "messages.0.phone" in error.message and "é obrigatório" in error.message
    assert "centro de custo selecionado é inválido" in error.message


async def test_429_body_retry_after_is_used() -> None:
    async with answering(429, fixture_bytes("error_429.json")) as http:
        client = KolmeyaClient(http, token=TOKEN, base_url=BASE_URL)
        with pytest.raises(ProviderError) as caught:
            await client.balance()
    assert caught.value.transient and caught.value.code == "rate_limited"
    assert caught.value.retry_after == 42


@pytest.mark.parametrize("body", [{"retry_after": "nan"}, {"retry_after": True}, {"retry_after": -5}, [1, 2]])
async def test_odd_retry_after_bodies_never_break(body: Any) -> None:
    import json

    async with answering(429, json.dumps(body).encode()) as http:
        client = KolmeyaClient(http, token=TOKEN, base_url=BASE_URL)
        with pytest.raises(ProviderError) as caught:
            await client.balance()
    assert caught.value.transient
    assert caught.value.retry_after in (None, 0.0)
