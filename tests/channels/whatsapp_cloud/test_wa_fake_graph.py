"""The fake Graph server's webhook builders and delivery, in-process and under a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from wa_helpers import make_config, signed_request

from atende.channels.base import OutboundMessage, WebhookBatch, WebhookRejected, WebhookRequest
from atende.channels.meta.signature import valid_signature
from atende.channels.whatsapp_cloud.provider import WhatsAppCloudProvider
from atende.testing.fake_graph import (
    FakeGraph,
    batch,
    build_echo_webhook,
    build_template_status_webhook,
    contact_entry,
    create_fake_graph,
    duplicate,
    encode,
    media_message,
    reaction_message,
    text_message,
    unknown_message,
    unsupported_message,
)

CUSTOMER = "5511987654321"


def parse(provider: WhatsAppCloudProvider, payload: dict[str, object]) -> WebhookBatch:
    return provider.parse_webhook(signed_request(encode(payload)))


async def sent_wamid(provider: WhatsAppCloudProvider, text: str = "Oi") -> str:
    result = await provider.send(OutboundMessage(reference="ref-1", to="+" + CUSTOMER, text=text))
    assert result.provider_message_id
    return result.provider_message_id


def test_encode_is_compact_escaped_and_signed(fake: FakeGraph) -> None:
    payload = fake.inbound_text(CUSTOMER, "Olá, São Paulo! 😊 https://x.y/z")
    raw = fake.encode(payload)
    assert raw.isascii()
    assert b"Ol\\u00e1" in raw and b"\\ud83d\\ude0a" in raw and b"https:\\/\\/x.y\\/z" in raw
    assert raw.startswith(b'{"object":"whatsapp_business_account","entry":[{')  # compact separators
    headers = fake.signed_headers(raw)
    assert valid_signature(raw, headers["X-Hub-Signature-256"], fake.app_secret)
    assert json.loads(raw) == payload


def test_inbound_builders_parse(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    payload = fake.build_message_webhook(
        [
            text_message(CUSTOMER, "primeira", wamid="wamid.1"),
            media_message(CUSTOMER, "audio", "123", "audio/ogg; codecs=opus", voice=True, wamid="wamid.2"),
            reaction_message(CUSTOMER, "wamid.ours", "🙏", wamid="wamid.3"),
            unknown_message(CUSTOMER, "poll", wamid="wamid.4"),
            unsupported_message(CUSTOMER, wamid="wamid.5"),
        ],
        [contact_entry(CUSTOMER, "Maria")],
    )
    result = parse(provider, payload)
    assert [(m.provider_message_id, m.kind) for m in result.messages] == [
        ("wamid.1", "text"),
        ("wamid.2", "audio"),
        ("wamid.3", "reaction"),
        ("wamid.4", "unsupported"),
        ("wamid.5", "unsupported"),
    ]
    assert result.messages[1].media is not None and result.messages[1].media.voice
    assert result.messages[2].attributes["target"] == "wamid.ours"
    assert {m.contact_name for m in result.messages} == {"Maria"}
    assert {m.account_id for m in result.messages} == {fake.phone_number_id}


def test_bsuid_fields(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    with_phone = fake.inbound_text(CUSTOMER, "oi", user_id="BR.777")
    (m,) = parse(provider, with_phone).messages
    assert m.address == "+" + CUSTOMER
    assert m.identity == {"wa_id": CUSTOMER, "bsuid": "BR.777"}
    username_only = fake.inbound_text("BR.888", "oi", name="Ana")
    (u,) = parse(provider, username_only).messages
    assert u.address == "BR.888"
    assert u.identity == {"bsuid": "BR.888"}
    assert u.contact_name == "Ana"


def test_duplicates_inside_one_post(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    payload = fake.inbound_text(CUSTOMER, "repetida", wamid="wamid.DUP")
    result = parse(provider, duplicate(payload, times=3))
    assert [m.provider_message_id for m in result.messages] == ["wamid.DUP"] * 3  # the engine dedups by id


async def test_status_for_a_sent_message(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    wamid = await sent_wamid(provider)
    (status,) = parse(provider, fake.status_for(wamid, "delivered")).statuses
    assert status.provider_message_id == wamid
    assert status.status == "delivered"
    assert status.reference == "ref-1"
    assert status.recipient == "+" + CUSTOMER
    with pytest.raises(KeyError):
        fake.status_for("wamid.unknown", "sent")


async def test_status_sequences_out_of_order_and_skipped(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    wamid = await sent_wamid(provider)
    ordered = fake.status_sequence(wamid)
    assert [parse(provider, p).statuses[0].status for p in ordered] == ["sent", "delivered", "read"]
    reversed_ = fake.status_sequence(wamid, out_of_order=True)
    parsed = [parse(provider, p).statuses[0] for p in reversed_]
    assert [s.status for s in parsed] == ["read", "delivered", "sent"]
    assert parsed[0].timestamp > parsed[1].timestamp > parsed[2].timestamp  # lifecycle order kept in time
    skipped = fake.status_sequence(wamid, skip_delivered=True)
    assert [parse(provider, p).statuses[0].status for p in skipped] == ["sent", "read"]
    merged = parse(provider, batch(*ordered))
    assert [s.status for s in merged.statuses] == ["sent", "delivered", "read"]


def test_echo_and_template_builders(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    echo = {
        "from": fake.display_phone_number,
        "to": CUSTOMER,
        "id": "wamid.ECHO",
        "timestamp": "1700000000",
        "type": "text",
        "text": {"body": "do celular"},
    }
    (m,) = parse(provider, build_echo_webhook([echo], [contact_entry(CUSTOMER, "Maria")])).messages
    assert (m.direction, m.address, m.text) == ("out", "+" + CUSTOMER, "do celular")
    (event,) = parse(provider, build_template_status_webhook("promo", "pt_BR", "PAUSED")).events
    assert (event.type, event.data["event"], event.data["name"]) == ("template_status", "PAUSED", "promo")


def test_register_legacy_br_forms(fake: FakeGraph) -> None:
    assert fake.register_legacy_br("5511987654321") == "551187654321"
    assert fake.register_legacy_br("+55 11 8765-4321") == "551187654321"
    with pytest.raises(ValueError, match="Brazilian"):
        fake.register_legacy_br("+1 650 555 1234")


async def test_fake_answers_graph_errors_for_bad_requests(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {fake.access_token}"}
    base = "http://graph.test/v25.0"
    wrong_pnid = await http.post(f"{base}/1/messages", json={"messaging_product": "whatsapp"}, headers=auth)
    assert wrong_pnid.status_code == 400 and wrong_pnid.json()["error"]["error_subcode"] == 33
    no_product = await http.post(f"{base}/{fake.phone_number_id}/messages", json={"to": CUSTOMER}, headers=auth)
    assert no_product.json()["error"]["code"] == 100
    no_to = await http.post(
        f"{base}/{fake.phone_number_id}/messages",
        json={"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}},
        headers=auth,
    )
    assert no_to.json()["error"]["code"] == 131008
    caption_on_audio = await http.post(
        f"{base}/{fake.phone_number_id}/messages",
        json={
            "messaging_product": "whatsapp",
            "to": CUSTOMER,
            "type": "audio",
            "audio": {"link": "https://x/a.ogg", "caption": "no"},
        },
        headers=auth,
    )
    assert caption_on_audio.json()["error"]["code"] == 100
    bad_version = await http.get(f"http://graph.test/latest/{fake.phone_number_id}", headers=auth)
    assert bad_version.status_code == 400
    no_auth = await http.get(f"{base}/{fake.phone_number_id}")
    assert no_auth.status_code == 401 and no_auth.json()["error"]["code"] == 190
    assert not fake.sent


# ------------------------------------------------------------------ delivery to a webhook app


def webhook_app(provider: WhatsAppCloudProvider, received: list[WebhookBatch]) -> FastAPI:
    """A stand-in for the engine's webhook endpoint: verify, parse, answer."""
    app = FastAPI()

    @app.get("/wh")
    async def verify(request: Request) -> Response:
        try:
            challenge = provider.handshake(WebhookRequest("GET", b"", {}, dict(request.query_params)))
        except WebhookRejected as exc:
            return PlainTextResponse(exc.detail, status_code=exc.status_code)
        return PlainTextResponse(challenge or "")

    @app.post("/wh")
    async def receive(request: Request) -> Response:
        raw = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            received.append(provider.parse_webhook(WebhookRequest("POST", raw, headers, {})))
        except WebhookRejected as exc:
            return PlainTextResponse(exc.detail, status_code=exc.status_code)
        return PlainTextResponse("ok")

    return app


async def test_deliver_signed_webhooks_including_late_131047(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    received: list[WebhookBatch] = []
    app = webhook_app(provider, received)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://atende") as client:
        response = await fake.deliver("http://atende/wh", fake.inbound_text(CUSTOMER, "Olá ção 😊"), client)
        assert response.status_code == 200
        assert received[0].messages[0].text == "Olá ção 😊"

        forged = await client.post(
            "http://atende/wh",
            content=encode(fake.inbound_text(CUSTOMER, "x")),
            headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
        )
        assert forged.status_code == 403
        unsigned = await client.post("http://atende/wh", content=b"{}")
        assert unsigned.status_code == 401

        fake.window_closed_for(CUSTOMER, mode="webhook")
        result = await provider.send(OutboundMessage(reference="99", to="+" + CUSTOMER, text="tarde demais"))
        assert result.status == "sent"
        (late,) = await fake.flush_webhooks("http://atende/wh", client)
        assert late.status_code == 200
        assert fake.pending_webhooks == []
        status = received[-1].statuses[0]
        assert (status.status, status.error_code, status.reference) == ("failed", "131047", "99")
        assert status.error == "janela de 24 h encerrada: envie um modelo"
    assert len(received) == 2  # forged and unsigned posts stored nothing


# ---------------------------------------------------------------------------- real uvicorn


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
async def served_fake() -> AsyncIterator[tuple[FakeGraph, str]]:
    fake = create_fake_graph()
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake.app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(1000):  # up to 10 s on a busy machine
            if server.started:
                break
            await asyncio.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield fake, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()


async def test_fake_under_uvicorn_over_tcp(served_fake: tuple[FakeGraph, str]) -> None:
    fake, base_url = served_fake
    async with httpx.AsyncClient(timeout=5) as http:
        provider = WhatsAppCloudProvider(make_config(fake, base_url=base_url), http)
        test = await provider.test_connection()
        assert test.ok, test.detail
        result = await provider.send(OutboundMessage(reference="1", to="+" + CUSTOMER, text="via TCP"))
        assert result.status == "sent"
        assert fake.sent[0].body["text"]["body"] == "via TCP"
        media_id = await provider.upload_media(b"%PDF-1.4 tcp", "application/pdf", "a.pdf")
        content, mime = await provider.fetch_media(media_id)
        assert (content, mime) == (b"%PDF-1.4 tcp", "application/pdf")
        # the media URL points back at the same uvicorn server
        assert any(path == "/whatsapp_business/attachments/" for _, path in fake.calls)


async def test_standalone_app_factory() -> None:
    from atende.testing.fake_graph import DEFAULT_ACCESS_TOKEN, DEFAULT_PHONE_NUMBER_ID, create_app

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app())) as http:
        answer = await http.get(
            f"http://fake/v25.0/{DEFAULT_PHONE_NUMBER_ID}",
            headers={"Authorization": f"Bearer {DEFAULT_ACCESS_TOKEN}"},
        )
    assert answer.status_code == 200
    assert answer.json()["id"] == DEFAULT_PHONE_NUMBER_ID
