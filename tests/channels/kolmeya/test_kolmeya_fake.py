"""The fake Kolmeya: its own rules, its webhooks (round trip through the provider) and TCP mode."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from atende.channels.base import OutboundMessage, WebhookBatch, WebhookRejected, WebhookRequest
from atende.channels.kolmeya import KolmeyaProvider
from atende.testing.fake_kolmeya import (
    FakeKolmeya,
    create_fake_kolmeya,
    serve_asgi,
    serve_fake_kolmeya,
)

TOKEN = "test-token"
BASE_URL = "http://kolmeya.test/api/v1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEBHOOK_URL = "http://atende.test/webhooks/kolmeya/s3cr3t-path-token"

Out = Callable[..., OutboundMessage]


def receiver(provider: KolmeyaProvider) -> tuple[FastAPI, list[WebhookBatch]]:
    """A stand-in for atende's webhook endpoint: parse with the provider, keep the batches."""
    app = FastAPI()
    batches: list[WebhookBatch] = []

    @app.post("/webhooks/kolmeya/{token}")
    async def hook(token: str, request: Request) -> JSONResponse:
        webhook = WebhookRequest(
            method="POST",
            body=await request.body(),
            headers={key.lower(): value for key, value in request.headers.items()},
            query=dict(request.query_params),
        )
        try:
            batches.append(provider.parse_webhook(webhook))
        except WebhookRejected as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return JSONResponse({"ok": True})

    return app, batches


async def post(
    http: httpx.AsyncClient, path: str, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await http.post(BASE_URL + path, json=body, headers=AUTH if headers is None else headers)


async def test_store_classifies_every_number(http: httpx.AsyncClient, fake: FakeKolmeya) -> None:
    fake.state.blacklist.add(11999999999)
    fake.state.not_disturb.add(11988887777)
    response = await post(
        http,
        "/sms/store",
        {
            "messages": [
                {"phone": "5548991910234", "message": "a", "reference": "1"},
                {"phone": 48991910234, "message": "b", "reference": "2"},
                {"phone": "5511999999999", "message": "c", "reference": "3"},
                {"phone": "11988887777", "message": "d", "reference": "4"},
                {"phone": "4833334444", "message": "e", "reference": "5"},
                {"phone": "+55 48 99191-0000", "message": "f", "reference": "6"},
            ]
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert [(v["phone"], v["reference"]) for v in body["valids"]] == [(48991910234, "1")]
    assert [d["reference"] for d in body["duplicates"]] == ["2"]
    assert body["blacklist"] == [{"phone": 11999999999, "reference": "3"}]
    assert body["not_disturb"] == [{"phone": 11988887777, "reference": "4"}]
    assert [(i["reference"], i["error"]) for i in body["invalids"]] == [
        ("5", "Telefone inválido"),
        ("6", "Telefone inválido"),
    ]
    assert len(body["id"]) == 36 and len(body["valids"][0]["id"]) == 36  # UUIDs
    assert fake.state.balance == Decimal("9397.30") - fake.state.price_per_message
    assert response.headers["X-RateLimit-Limit"] == "500" and response.headers["X-RateLimit-Remaining"] == "499"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "The messages field is required."),
        ({"messages": [{"to": "5548991910234", "message": "x"}]}, 'Undefined array key "phone"'),
        ({"messages": [{"phone": "5548991910234", "message": ""}]}, "The messages.0.message field is required."),
        (
            {"messages": [{"phone": "5548991910234", "message": "x"}] * 1001},
            "The messages may not have more than 1000 items.",
        ),
        (
            {"messages": [{"phone": "5548991910234", "message": "x"}], "tenant_segment_id": 1},
            "The selected tenant segment id is invalid.",
        ),
    ],
)
async def test_store_validation_is_422(http: httpx.AsyncClient, fake: FakeKolmeya, body: object, error: str) -> None:
    response = await post(http, "/sms/store", body)
    assert response.status_code == 422
    assert response.json() == {"errors": [error]}
    assert fake.state.sent == []


async def test_store_refuses_when_balance_is_short(http: httpx.AsyncClient, fake: FakeKolmeya) -> None:
    fake.state.balance = Decimal("0.01")
    response = await post(http, "/sms/store", {"messages": [{"phone": "5548991910234", "message": "x"}]})
    assert response.status_code == 422 and fake.state.sent == []


async def test_store_token_rules(http: httpx.AsyncClient, fake: FakeKolmeya) -> None:
    fake.state.not_disturb.add(48991910234)
    ok = await post(http, "/sms/store-token", {"messages": [{"phone": "5548991910234", "message": "Código 1234"}]})
    assert ok.status_code == 200 and len(ok.json()["valids"]) == 1  # skips the Não Perturbe check
    link = await post(http, "/sms/store-token", {"messages": [{"phone": "5548991910234", "message": "http://x"}]})
    assert link.status_code == 422


async def test_auth(http: httpx.AsyncClient, fake: FakeKolmeya) -> None:
    assert (await post(http, "/sms/balance", None, headers={})).status_code == 401
    assert (await post(http, "/sms/balance", None, headers={"Authorization": "Bearer nope"})).status_code == 403
    assert (await post(http, "/sms/balance", None)).json() == {"balance": "R$9.397,30"}
    fake.state.allowed = False
    assert (await post(http, "/sms/balance", None)).status_code == 403


async def test_unknown_paths_and_gets_are_404(http: httpx.AsyncClient) -> None:
    for response in (
        await http.get(BASE_URL + "/sms/replys", headers=AUTH),
        await post(http, "/sms/send", {}),
        await post(http, "/sms/blacklist", {}),
    ):
        assert response.status_code == 404 and response.json() == {"errors": ["Not found."]}


async def test_reports_statuses_limits(http: httpx.AsyncClient, fake: FakeKolmeya) -> None:
    await post(http, "/sms/store", {"messages": [{"phone": "5548991910234", "message": "x"}]})
    now = datetime.now(UTC) - timedelta(hours=3)  # São Paulo wall clock
    window = {
        "start_at": (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        "end_at": (now + timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M"),
    }
    ok = await post(http, "/sms/reports/statuses", {**window, "limit": 30000})
    assert ok.status_code == 200
    (row,) = ok.json()["messages"]
    assert row["telefone"] == 48991910234 and row["status"] == "Tentando enviar"
    too_long = {**window, "start_at": (now - timedelta(days=8)).strftime("%Y-%m-%d %H:%M")}
    assert (await post(http, "/sms/reports/statuses", too_long)).status_code == 422
    assert (await post(http, "/sms/reports/statuses", {**window, "limit": 30001})).status_code == 422


async def test_replys_period_limits_and_paginator(http: httpx.AsyncClient, fake: FakeKolmeya) -> None:
    await post(http, "/sms/store", {"messages": [{"phone": "5548991910234", "message": "x"}]})
    fake.add_reply_without_webhook("5548991910234", "velha", received_at=datetime.now(UTC) - timedelta(hours=30))
    fake.add_reply_without_webhook("5548991910234", "nova")
    assert (await post(http, "/sms/replys", {"period": 169})).status_code == 422
    page = (await post(http, "/sms/replys", {"period": 24})).json()
    assert [item["reply"] for item in page["data"]] == ["nova"]
    assert page["total"] == 1 and page["last_page"] == 1 and page["next_page_url"] is None
    assert page["data"][0]["message"]["phone"] == 5548991910234
    day, month, rest = page["data"][0]["received_at"].split("/")
    assert len(day) == 2 and len(month) == 2 and len(rest) == len("2025 14:30:00")


async def test_fail_next_then_back_to_normal(http: httpx.AsyncClient, fake: FakeKolmeya) -> None:
    fake.fail_next(500, times=2)
    assert (await post(http, "/sms/balance", None)).status_code == 500
    assert (await post(http, "/sms/balance", None)).json() == {"errors": ["Server Error"]}
    assert (await post(http, "/sms/balance", None)).status_code == 200


async def test_status_and_reply_webhooks_round_trip(
    make_provider: Callable[..., KolmeyaProvider], fake: FakeKolmeya, outbound: Out
) -> None:
    provider = make_provider()
    app, batches = receiver(provider)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as hooks:
        fake.webhook_http = hooks
        sent = await provider.send(outbound("555"))
        message_id = sent.provider_message_id or ""
        response = await fake.deliver_status(message_id, 3)
        assert response.status_code == 200
        reply = await fake.send_reply(message_id, "PARE")
        await fake.reject_request(sent.provider_request_id or "")
    status_batch, reply_batch, rejected_batch = batches
    (status,) = status_batch.statuses
    assert (status.status, status.provider_message_id, status.reference) == ("delivered", message_id, "555")
    (message,) = reply_batch.messages
    assert message.provider_message_id == f"reply:{reply.id}"
    assert message.address == "+5548991910234" and message.text == "PARE"
    assert message.reply_to_provider_id == message_id and message.reply_to_reference == "555"
    assert message.attributes["keyword"] == "opt_out"
    assert abs(message.timestamp - reply.received_at) < timedelta(seconds=1)
    assert rejected_batch.events[0].data["request_id"] == sent.provider_request_id
    assert [d.url for d in fake.state.webhook_deliveries] == [WEBHOOK_URL] * 3
    # The reply is also pollable, with the same id: the engine stores it once.
    polled = await provider.poll_replies(1)
    assert [m.provider_message_id for m in polled.messages] == [message.provider_message_id]


async def test_reply_that_missed_its_webhook_is_only_pollable(
    provider: KolmeyaProvider, fake: FakeKolmeya, outbound: Out
) -> None:
    sent = await provider.send(outbound("9"))
    fake.add_reply_without_webhook(sent.provider_message_id or "", "Oi?")
    assert fake.state.webhook_deliveries == []
    assert [m.text for m in (await provider.poll_replies(24)).messages] == ["Oi?"]


async def test_helpers_refuse_what_cannot_happen(fake: FakeKolmeya) -> None:
    with pytest.raises(LookupError):
        fake.add_reply_without_webhook("5548991910234", "sem envio antes")
    with pytest.raises(KeyError):
        fake.set_status("no-such-id", 3)


async def test_fake_served_over_tcp_by_uvicorn() -> None:
    fake = create_fake_kolmeya({"demo-token"})
    async with serve_fake_kolmeya(fake) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/v1")
        async with httpx.AsyncClient() as http:
            provider = KolmeyaProvider({"api_token": "demo-token", "base_url": base_url}, http)
            app, batches = receiver(provider)
            async with serve_asgi(app) as atende_root:
                fake.webhook_http = None  # the fake opens its own TCP client, as in a demo
                connection = await provider.test_connection()
                sent = await provider.send(
                    OutboundMessage(
                        reference="1",
                        to="+5548991910234",
                        text="Olá",
                        webhook_url=f"{atende_root}/webhooks/kolmeya/tok",
                    )
                )
                await fake.deliver_status(sent.provider_message_id or "", 3)
    assert connection.ok and connection.detail == "Conectado, saldo R$ 9.397,30"
    assert sent.status == "sent" and fake.state.sent[0].id == sent.provider_message_id
    assert batches[0].statuses[0].status == "delivered"
