"""KolmeyaProvider against the fake Kolmeya."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from atende.channels.base import OutboundMessage, ProviderError, WebhookRequest
from atende.channels.kolmeya import KolmeyaProvider
from atende.testing.fake_kolmeya import FakeKolmeya

TOKEN = "test-token"
BASE_URL = "http://kolmeya.test/api/v1"
WEBHOOK_URL = "http://atende.test/webhooks/kolmeya/s3cr3t-path-token"

Out = Callable[..., OutboundMessage]


async def test_send_ok(provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out) -> None:
    result = await provider.send(outbound("101", "+5548991910234", "Olá, tudo bem?"))
    sent = fake.state.sent
    assert len(sent) == 1
    assert result.status == "sent"
    assert result.reference == "101"
    assert result.provider_message_id == sent[0].id
    assert result.provider_request_id == sent[0].request_id
    assert sent[0].phone == 48991910234 and sent[0].text == "Olá, tudo bem?"
    assert sent[0].reference == "101" and sent[0].webhook_url == WEBHOOK_URL
    body = fake.state.calls_to("/sms/store")[0].body
    assert body["messages"] == [{"phone": "5548991910234", "message": "Olá, tudo bem?", "reference": "101"}]
    assert body["reference"] == "101"
    assert body["webhook_url"] == WEBHOOK_URL
    assert "tenant_segment_id" not in body


async def test_send_uses_tenant_segment_id(
    make_provider: Callable[..., KolmeyaProvider], fake: FakeKolmeya, outbound: Out
) -> None:
    await make_provider(tenant_segment_id=109).send(outbound("1"))
    assert fake.state.calls_to("/sms/store")[0].body["tenant_segment_id"] == 109
    assert fake.state.requests[fake.state.sent[0].request_id].tenant_segment_id == 109


async def test_send_blacklisted(provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out) -> None:
    fake.state.blacklist.add(48991910234)
    result = await provider.send(outbound("7"))
    assert result.status == "failed"
    assert result.error == "Número na blacklist da Kolmeya"
    assert result.error_code == "blacklist"
    assert fake.state.sent == []


async def test_send_not_disturb(provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out) -> None:
    fake.state.not_disturb.add(11988887777)
    result = await provider.send(outbound("8", "+5511988887777"))
    assert (result.status, result.error_code) == ("failed", "not_disturb")
    assert result.error == "Número no cadastro Não Perturbe"


async def test_send_invalid_for_kolmeya_uses_its_error(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    # A landline is a valid phone number for us but Kolmeya cannot text it.
    result = await provider.send(outbound("9", "+554833334444"))
    assert (result.status, result.error_code) == ("failed", "invalid")
    assert result.error == "Telefone inválido"


async def test_send_many_duplicates(provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out) -> None:
    results = await provider.send_many([outbound("1"), outbound("2"), outbound("3", "+5511999999999")])
    assert [r.status for r in results] == ["sent", "failed", "sent"]
    assert results[1].error == "Número duplicado no envio" and results[1].error_code == "duplicate"
    assert [r.reference for r in results] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (OutboundMessage(reference="1", to="12345", text="oi"), "invalid_phone"),
        (OutboundMessage(reference="1", to="+14155550123", text="oi"), "not_brazil"),
        (OutboundMessage(reference="1", to="+5548991910234", text="   "), "empty"),
        (OutboundMessage(reference="1", to="+5548991910234", kind="image", text="oi"), "unsupported"),
    ],
)
async def test_send_refuses_locally_without_calling_kolmeya(
    provider: KolmeyaProvider, fake: FakeKolmeya, message: OutboundMessage, code: str
) -> None:
    result = await provider.send(message)
    assert (result.status, result.error_code) == ("failed", code)
    assert result.error
    assert fake.state.calls == []


async def test_send_many_chunks_2500_into_3_requests(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    messages = [outbound(str(n), f"+55119{n:08d}", f"Mensagem {n}") for n in range(2500)]
    results = await provider.send_many(messages, reference="campanha-1")
    calls = fake.state.calls_to("/sms/store")
    assert [len(call.body["messages"]) for call in calls] == [1000, 1000, 500]
    assert all(call.body["reference"] == "campanha-1" for call in calls)
    assert [r.reference for r in results] == [str(n) for n in range(2500)]
    assert all(r.status == "sent" for r in results)
    by_reference = {m.reference: m for m in fake.state.sent}
    assert all(r.provider_message_id == by_reference[r.reference].id for r in results)
    assert len({r.provider_request_id for r in results}) == 3


async def test_send_many_matches_by_phone_when_reference_missing(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    fake.fail_next(
        200,
        {
            "id": "req-1",
            "reference": None,
            "valids": [{"id": "m-2", "phone": 11999999999}, {"id": "m-1", "phone": 48991910234}],
            "invalids": [],
            "duplicates": [],
            "blacklist": [{"phone": 21987654321}],
            "not_disturb": [],
        },
    )
    results = await provider.send_many(
        [outbound("a", "+5548991910234"), outbound("b", "+5511999999999"), outbound("c", "+5521987654321")]
    )
    assert [(r.status, r.provider_message_id) for r in results] == [("sent", "m-1"), ("sent", "m-2"), ("failed", None)]
    assert results[2].error_code == "blacklist"


async def test_store_answer_without_our_message_is_never_silently_lost(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    fake.fail_next(
        200, {"id": "req-1", "valids": [], "invalids": [], "duplicates": [], "blacklist": [], "not_disturb": []}
    )
    result = await provider.send(outbound("1"))
    assert (result.status, result.error_code) == ("failed", "unmatched")
    assert result.provider_request_id == "req-1"


async def test_send_many_first_request_failing_raises(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    fake.fail_next(503)
    with pytest.raises(ProviderError) as info:
        await provider.send_many([outbound(str(n), f"+55119{n:08d}") for n in range(3)])
    assert info.value.transient


async def test_send_many_later_request_failing_keeps_what_was_sent(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    messages = [outbound(str(n), f"+55119{n:08d}") for n in range(1500)]
    original = fake.app

    calls = 0

    async def second_store_fails(scope: Any, receive: Any, send: Any) -> None:
        nonlocal calls
        if scope["type"] == "http" and scope["path"].endswith("/sms/store"):
            calls += 1
            if calls == 2:
                fake.fail_next(500)
        await original(scope, receive, send)

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second_store_fails)) as http:
        provider = KolmeyaProvider({"api_token": TOKEN, "base_url": BASE_URL}, http)
        results = await provider.send_many(messages)
    assert [r.status for r in results[:1000]] == ["sent"] * 1000
    assert {(r.status, r.error_code) for r in results[1000:]} == {("queued", "not_sent")}
    assert len(fake.state.sent) == 1000


@pytest.mark.parametrize(
    ("status", "transient", "code"),
    [
        (401, False, "unauthorized"),
        (403, False, "forbidden"),
        (422, False, "validation"),
        (429, True, "rate_limited"),
        (500, True, "server_error"),
    ],
)
async def test_send_whole_call_failures_raise(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out, status: int, transient: bool, code: str
) -> None:
    fake.fail_next(status, {"errors": ["Algo deu errado"]})
    with pytest.raises(ProviderError) as info:
        await provider.send(outbound("1"))
    assert (info.value.status_code, info.value.transient, info.value.code) == (status, transient, code)


async def test_send_with_wrong_token_says_token(make_provider: Callable[..., KolmeyaProvider], outbound: Out) -> None:
    with pytest.raises(ProviderError) as info:
        await make_provider(api_token="wrong").send(outbound("1"))
    assert info.value.status_code == 403 and "IP não liberado" in info.value.message


async def test_test_connection_ok(provider: KolmeyaProvider) -> None:
    result = await provider.test_connection()
    assert result.ok
    assert result.detail == "Conectado, saldo R$ 9.397,30"
    assert result.balance == Decimal("9397.30")


async def test_test_connection_bad_token(
    make_provider: Callable[..., KolmeyaProvider], http: httpx.AsyncClient
) -> None:
    provider = KolmeyaProvider({"api_token": "x", "base_url": BASE_URL}, http)
    result = await provider.test_connection()
    assert not result.ok and result.balance is None
    assert "IP não liberado" in result.detail


async def test_test_connection_ip_not_allowed(provider: KolmeyaProvider, fake: FakeKolmeya) -> None:
    fake.state.allowed = False
    result = await provider.test_connection()
    assert not result.ok and "IP não liberado no painel Kolmeya" in result.detail


async def test_test_connection_missing_token_401(provider: KolmeyaProvider, fake: FakeKolmeya) -> None:
    fake.fail_next(401, {"errors": ["Unauthenticated."]})
    result = await provider.test_connection()
    assert not result.ok and "inválido" in result.detail and "401" in result.detail


async def test_test_connection_wrong_host() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: TLSV1_ALERT_INTERNAL_ERROR] tlsv1 alert internal error")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        provider = KolmeyaProvider({"api_token": TOKEN, "base_url": "https://api.kolmeya.com/v1"}, http)
        result = await provider.test_connection()
    assert not result.ok
    assert "api.kolmeya.com" in result.detail and "kolmeya.com.br/api/v1" in result.detail


async def test_test_connection_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        provider = KolmeyaProvider({"api_token": TOKEN}, http)
        result = await provider.test_connection()
    assert not result.ok and "Tempo esgotado" in result.detail


async def test_test_connection_unknown_cost_center(make_provider: Callable[..., KolmeyaProvider]) -> None:
    result = await make_provider(tenant_segment_id=1).test_connection()
    assert not result.ok
    assert result.balance == Decimal("9397.30")
    assert "centro de custo 1" in result.detail and "109 CORPORATIVO" in result.detail
    assert (await make_provider(tenant_segment_id=109).test_connection()).ok


async def test_poll_replies_walks_two_pages(provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out) -> None:
    fake.state.per_page = 2
    first = await provider.send(outbound("1", "+5548991910234"))
    second = await provider.send(outbound("2", "+5511999999999"))
    fake.add_reply_without_webhook(first.provider_message_id or "", "SIM")
    fake.add_reply_without_webhook(second.provider_message_id or "", "Quem é?")
    fake.add_reply_without_webhook("5548991910234", "PARE")  # by phone: answers the latest SMS to it
    batch = await provider.poll_replies(24)
    calls = fake.state.calls_to("/sms/replys")
    assert len(calls) == 2 and calls[1].query == {"page": "2"}
    assert [m.text for m in batch.messages] == ["SIM", "Quem é?", "PARE"]
    assert [m.provider_message_id for m in batch.messages] == ["reply:1", "reply:2", "reply:3"]
    assert [m.address for m in batch.messages] == ["+5548991910234", "+5511999999999", "+5548991910234"]
    assert batch.messages[0].reply_to_provider_id == first.provider_message_id
    assert batch.messages[0].reply_to_reference == "1"
    assert batch.messages[2].attributes["keyword"] == "opt_out"
    assert "keyword" not in batch.messages[0].attributes


async def test_poll_replies_empty(provider: KolmeyaProvider, fake: FakeKolmeya) -> None:
    batch = await provider.poll_replies(1)
    assert not batch
    assert fake.state.calls_to("/sms/replys")[0].body == {"period": 1}


async def test_poll_campaign_replies(provider: KolmeyaProvider, fake: FakeKolmeya) -> None:
    fake.add_web_reply(48991910234, "Quero", job=99, parameters={"VALOR": "R$ 10,00"})
    batch = await provider.poll_campaign_replies()
    (message,) = batch.messages
    assert message.provider_message_id.startswith("replyweb:")
    assert message.address == "+5548991910234" and message.text == "Quero"
    assert message.attributes["job"] == "99" and message.attributes["parameters"] == {"VALOR": "R$ 10,00"}


async def test_poll_statuses(provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out) -> None:
    results = await provider.send_many([outbound("1"), outbound("2", "+5511999999999")])
    fake.set_status(results[0].provider_message_id or "", 3)
    fake.set_status(results[1].provider_message_id or "", 5)
    request_ids = [r.provider_request_id or "" for r in results]
    batch = await provider.poll_statuses([*request_ids, "00000000-0000-0000-0000-000000000000"])
    assert len(fake.state.calls_to("/sms/status/request")) == 2  # the same request polled once
    by_reference = {s.reference: s for s in batch.statuses}
    assert by_reference["1"].status == "delivered"
    assert by_reference["1"].provider_message_id == results[0].provider_message_id
    assert by_reference["2"].status == "failed" and by_reference["2"].error == "SMS rejeitado pela operadora"
    (event,) = batch.events
    assert event.type == "status_poll_failed"
    assert event.data["request_id"] == "00000000-0000-0000-0000-000000000000"


async def test_poll_statuses_transient_error_raises(provider: KolmeyaProvider, fake: FakeKolmeya) -> None:
    fake.fail_next(502)
    with pytest.raises(ProviderError) as info:
        await provider.poll_statuses(["abc"])
    assert info.value.transient


async def test_blacklist_add_and_remove(provider: KolmeyaProvider, fake: FakeKolmeya) -> None:
    await provider.blacklist_add(["+5548991910234", "+5511999999999"])
    assert fake.state.calls[-1].body == {"phones": [{"phone": "5548991910234"}, {"phone": "5511999999999"}]}
    assert fake.state.blacklist == {48991910234, 11999999999}
    await provider.blacklist_remove(["+5511999999999"])
    assert fake.state.blacklist == {48991910234}
    await provider.blacklist_add([])
    assert len(fake.state.calls) == 2


def test_parse_webhook_marks_keywords(make_provider: Callable[..., KolmeyaProvider]) -> None:
    provider = make_provider(opt_out_keywords=["DESCADASTRAR"], opt_in_keywords=["VOLTAR"])

    def request(text: str) -> WebhookRequest:
        body = json.dumps({"phone": "5548991910234", "message": text, "data": "16/11/2025 09:15:42"}).encode()
        return WebhookRequest(method="POST", body=body, headers={"content-type": "application/json"}, query={})

    assert provider.parse_webhook(request("descadastrar!")).messages[0].attributes["keyword"] == "opt_out"
    assert provider.parse_webhook(request("Voltar")).messages[0].attributes["keyword"] == "opt_in"
    assert "keyword" not in provider.parse_webhook(request("SAIR")).messages[0].attributes
    assert provider.handshake(request("x")) is None


async def test_send_many_matches_by_reference_first(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    # Same number twice: Kolmeya says which reference it kept; phone order alone would get it backwards.
    fake.fail_next(
        200,
        {
            "id": "req-9",
            "valids": [{"id": "m-b", "phone": 48991910234, "reference": "b"}],
            "duplicates": [{"phone": 48991910234, "message": "Olá!", "reference": "a"}],
        },
    )
    results = await provider.send_many([outbound("a"), outbound("b")])
    assert [(r.reference, r.status, r.provider_message_id) for r in results] == [
        ("a", "failed", None),
        ("b", "sent", "m-b"),
    ]
    assert results[0].error_code == "duplicate"


async def test_poll_statuses_leaves_rate_budget_for_sends(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    results = [await provider.send(outbound(str(n), f"+55119{n:08d}")) for n in range(4)]
    fake.state.rate_limit = 105  # after 4 sends and 2 polls only 99 calls are left: below the reserve
    request_ids = [r.provider_request_id or "" for r in results]
    batch = await provider.poll_statuses(request_ids)
    assert len(fake.state.calls_to("/sms/status/request")) == 2
    assert len(batch.statuses) == 2
    (event,) = batch.events
    assert event.type == "status_poll_deferred" and event.data["request_ids"] == request_ids[2:]
