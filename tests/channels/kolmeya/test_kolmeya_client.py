"""KolmeyaClient against the fake (and httpx.MockTransport for network failures)."""

from __future__ import annotations

import logging
import socket
import ssl
from decimal import Decimal

import httpx
import pytest

from atende.channels.base import ProviderError
from atende.channels.kolmeya.client import KolmeyaClient
from atende.testing.fake_kolmeya import FakeKolmeya, create_fake_kolmeya

TOKEN = "test-token"
BASE_URL = "http://kolmeya.test/api/v1"
WEBHOOK_URL = "http://atende.test/webhooks/kolmeya/s3cr3t-path-token"


def raising_client(exc: Exception, base_url: str = "https://kolmeya.com.br/api/v1") -> KolmeyaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return KolmeyaClient(httpx.AsyncClient(transport=httpx.MockTransport(handler)), token=TOKEN, base_url=base_url)


async def test_store_sends_the_documented_body_and_headers(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    response = await client.store(
        [{"phone": "5548991910234", "message": "Olá", "reference": "10"}],
        webhook_url=WEBHOOK_URL,
        reference="10",
        tenant_segment_id=109,
    )
    call = fake.state.calls_to("/sms/store")[0]
    assert call.method == "POST"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.headers["accept"] == "application/json"
    assert call.headers["content-type"] == "application/json"
    assert call.body == {
        "messages": [{"phone": "5548991910234", "message": "Olá", "reference": "10"}],
        "reference": "10",
        "tenant_segment_id": 109,
        "webhook_url": WEBHOOK_URL,
    }
    valid = response["valids"][0]
    assert valid["phone"] == 48991910234  # echoed as a national-format int
    assert valid["id"] == fake.state.sent[0].id
    assert response["id"] == fake.state.sent[0].request_id


async def test_store_omits_optional_keys(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    await client.store([{"phone": "5548991910234", "message": "Olá"}], webhook_url=None)
    assert set(fake.state.calls_to("/sms/store")[0].body) == {"messages"}


async def test_store_refuses_more_than_1000_messages_locally(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    with pytest.raises(ValueError):
        await client.store([{"phone": "5548991910234", "message": "x"}] * 1001, webhook_url=None)
    assert fake.state.calls == []


async def test_missing_token_is_401_token_invalid(http: httpx.AsyncClient) -> None:
    client = KolmeyaClient(http, token="", base_url=BASE_URL)
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.status_code == 401
    assert info.value.transient is False
    assert "token" in info.value.message.lower() and "inválido" in info.value.message


async def test_wrong_token_is_403_token_refused_or_ip(http: httpx.AsyncClient) -> None:
    client = KolmeyaClient(http, token="not-the-token", base_url=BASE_URL)
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.status_code == 403
    assert info.value.transient is False
    assert "IP não liberado no painel Kolmeya" in info.value.message
    assert "not-the-token" not in info.value.message


async def test_ip_not_allowed_is_403() -> None:
    fake = create_fake_kolmeya({TOKEN}, allowed=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as http:
        with pytest.raises(ProviderError) as info:
            await KolmeyaClient(http, token=TOKEN, base_url=BASE_URL).segments()
    assert info.value.code == "forbidden"


async def test_missing_phone_is_422_with_kolmeya_text(client: KolmeyaClient) -> None:
    with pytest.raises(ProviderError) as info:
        await client.store([{"to": "5548991910234", "message": "Olá"}], webhook_url=None)
    assert info.value.status_code == 422
    assert info.value.transient is False
    assert 'Undefined array key "phone"' in info.value.message


async def test_429_is_transient_with_retry_after(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    fake.fail_next(429, {"errors": ["Too Many Attempts."]}, headers={"Retry-After": "30"})
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.transient is True
    assert info.value.retry_after == 30.0
    assert info.value.code == "rate_limited"


async def test_fake_rate_limit_answers_429_and_headers(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    fake.state.rate_limit = 2
    await client.balance()
    assert client.rate_limit_limit == 2 and client.rate_limit_remaining == 1
    await client.balance()
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.status_code == 429 and info.value.transient
    assert info.value.retry_after is not None and 0 < info.value.retry_after <= 60


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_transient(client: KolmeyaClient, fake: FakeKolmeya, status: int) -> None:
    fake.fail_next(status, "<html><body>Bad gateway</body></html>")
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.transient is True
    assert info.value.status_code == status
    assert "<html" not in info.value.message


async def test_other_4xx_is_permanent(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    fake.fail_next(400, {"message": "Bad request body"})
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.transient is False
    assert "Bad request body" in info.value.message


async def test_non_json_success_is_a_clear_permanent_error(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    fake.fail_next(200, "<html>login</html>")
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.code == "bad_response" and not info.value.transient


@pytest.mark.parametrize(
    ("body", "expected"),
    [({"balance": "R$9.397,30"}, Decimal("9397.30")), ({"balance": "1500.50"}, Decimal("1500.50"))],
)
async def test_balance_both_forms(client: KolmeyaClient, fake: FakeKolmeya, body: dict, expected: Decimal) -> None:
    fake.fail_next(200, body)
    assert await client.balance() == expected


async def test_balance_from_the_fake_and_its_debit(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    assert await client.balance() == Decimal("9397.30")
    await client.store([{"phone": "5548991910234", "message": "Olá"}], webhook_url=None)
    assert await client.balance() == Decimal("9397.30") - fake.state.price_per_message


async def test_balance_without_the_field_is_an_error(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    fake.fail_next(200, {"saldo": "R$ 10,00"})
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.code == "bad_response"


async def test_segments(client: KolmeyaClient) -> None:
    assert await client.segments() == [{"id": 109, "name": "CORPORATIVO"}]


async def test_get_is_not_found_in_the_fake(http: httpx.AsyncClient) -> None:
    response = await http.get(f"{BASE_URL}/sms/balance", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert response.json() == {"errors": ["Not found."]}


async def test_blacklist_store_and_destroy(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    await client.blacklist_store(["5548991910234", 5511999999999])
    assert fake.state.blacklist == {48991910234, 11999999999}
    assert [call.status_code for call in fake.state.calls] == [201]
    await client.blacklist_destroy(["5548991910234"])
    assert fake.state.blacklist == {11999999999}
    assert fake.state.calls[-1].status_code == 204
    assert fake.state.calls[-1].body == {"phones": [{"phone": "5548991910234"}]}


async def test_blacklist_chunks_by_1000(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    phones = [f"55489{n:08d}" for n in range(1500)]
    await client.blacklist_store(phones)
    assert [len(call.body["phones"]) for call in fake.state.calls_to("/blacklist/store")] == [1000, 500]
    assert len(fake.state.blacklist) == 1500


async def test_replys_sends_period_and_page(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    await client.replys(500, page=2)
    call = fake.state.calls_to("/sms/replys")[0]
    assert call.body == {"period": 168, "page": 2}  # clamped to the 7-day maximum
    assert call.query == {"page": "2"}


async def test_status_message(client: KolmeyaClient, fake: FakeKolmeya) -> None:
    response = await client.store([{"phone": "5548991910234", "message": "Olá"}], webhook_url=None)
    message_id = response["valids"][0]["id"]
    fake.set_status(message_id, 3)
    assert await client.status_message(message_id) == {
        "id": message_id,
        "reference": None,
        "status": "entregue",
        "status_code": 3,
    }


async def test_timeout_is_transient() -> None:
    client = raising_client(httpx.ReadTimeout("timed out"))
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.transient is True and info.value.code == "timeout"


async def test_tls_error_on_the_wrong_host_names_it() -> None:
    error = httpx.ConnectError("[SSL: TLSV1_ALERT_INTERNAL_ERROR] tlsv1 alert internal error (_ssl.c:1000)")
    client = raising_client(error, base_url="https://api.kolmeya.com/v1")
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.transient is False
    assert info.value.code == "tls_error"
    assert "api.kolmeya.com" in info.value.message
    assert "https://kolmeya.com.br/api/v1" in info.value.message


async def test_tls_error_detected_from_the_cause_chain() -> None:
    error = httpx.ConnectError("handshake failed")
    error.__cause__ = ssl.SSLError(1, "unexpected eof")
    client = raising_client(error, base_url="https://sms.example.com/api/v1")
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.code == "tls_error" and "sms.example.com" in info.value.message


async def test_dns_error_on_a_typo_host_is_permanent() -> None:
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    client = raising_client(error, base_url="https://kolmeya.com/api/v1")
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.transient is False and info.value.code == "dns_error"
    assert "kolmeya.com" in info.value.message


async def test_connection_refused_on_the_real_host_is_transient() -> None:
    client = raising_client(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ProviderError) as info:
        await client.balance()
    assert info.value.transient is True and info.value.code == "connection_error"


async def test_token_never_logged_nor_shown(http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    secret = "super-secret-token-value"
    client = KolmeyaClient(http, token=secret, base_url=BASE_URL)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderError) as info:
        await client.store([{"phone": "5548991910234", "message": "Olá"}], webhook_url=None)
    assert secret not in caplog.text
    assert secret not in str(info.value) and secret not in repr(client)
    assert "403" in caplog.text  # something was logged, just not the token
