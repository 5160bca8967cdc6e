"""provider.send / mark_read against the fake Graph API (in-process, httpx.ASGITransport)."""

from __future__ import annotations

import httpx
import pytest
from wa_helpers import make_config

from atende.channels.base import MediaRef, OutboundMessage, ProviderError
from atende.channels.whatsapp_cloud.errors import WINDOW_CLOSED_REASON
from atende.channels.whatsapp_cloud.provider import WhatsAppCloudProvider
from atende.testing.fake_graph import FakeGraph

CUSTOMER = "+5511987654321"
THEIRS = "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFjNFQjBDMEI3RjZBMzE0QjM5NkFFAA=="


def out(**kwargs: object) -> OutboundMessage:
    values: dict[str, object] = {"reference": "42", "to": CUSTOMER, "kind": "text", "text": "Olá!"}
    values.update(kwargs)
    return OutboundMessage(**values)  # type: ignore[arg-type]


async def test_send_text(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    result = await provider.send(out(text="Olá, Maria! Veja https://loja.example/pedido"))
    assert result.status == "sent"
    assert result.reference == "42"
    (sent,) = fake.sent
    assert result.provider_message_id == sent.wamid
    assert result.canonical_address == CUSTOMER
    assert sent.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511987654321",
        "type": "text",
        "text": {"body": "Olá, Maria! Veja https://loja.example/pedido", "preview_url": True},
        "biz_opaque_callback_data": "42",
    }


async def test_send_text_reply_sets_context(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    result = await provider.send(out(text="Sim, temos!", reply_to_provider_id=THEIRS))
    assert result.status == "sent"
    assert fake.sent[0].body["context"] == {"message_id": THEIRS}
    assert fake.sent[0].body["text"]["preview_url"] is False


async def test_send_to_bsuid_uses_recipient(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    result = await provider.send(out(to="BR.13491208655302741918"))
    assert result.status == "sent"
    body = fake.sent[0].body
    assert body["recipient"] == "BR.13491208655302741918"
    assert "to" not in body
    assert result.canonical_address is None  # no wa_id for a username user


async def test_canonical_wa_id_learned_from_br_rewrite(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.register_legacy_br("+5511987654321")
    result = await provider.send(out(to="+5511987654321"))
    assert result.status == "sent"
    assert fake.sent[0].body["to"] == "5511987654321"
    assert result.canonical_address == "+551187654321"


@pytest.mark.parametrize(
    ("kind", "media", "text", "expected"),
    [
        (
            "image",
            MediaRef(provider_media_id="UPLOADED", caption="Nota fiscal"),
            None,
            {"id": "UPLOADED", "caption": "Nota fiscal"},
        ),
        (
            "image",
            MediaRef(url="https://cdn.example/a.jpg"),
            "legenda do texto",
            {"link": "https://cdn.example/a.jpg", "caption": "legenda do texto"},
        ),
        (
            "video",
            MediaRef(url="https://cdn.example/v.mp4", caption="vídeo"),
            None,
            {"link": "https://cdn.example/v.mp4", "caption": "vídeo"},
        ),
        ("audio", MediaRef(provider_media_id="UPLOADED", caption="ignored"), "ignored too", {"id": "UPLOADED"}),
        ("sticker", MediaRef(provider_media_id="UPLOADED"), None, {"id": "UPLOADED"}),
        (
            "document",
            MediaRef(url="https://cdn.example/boleto.pdf", filename="boleto.pdf", caption="Boleto"),
            None,
            {"link": "https://cdn.example/boleto.pdf", "caption": "Boleto", "filename": "boleto.pdf"},
        ),
    ],
)
async def test_send_media(
    provider: WhatsAppCloudProvider,
    fake: FakeGraph,
    kind: str,
    media: MediaRef,
    text: str | None,
    expected: dict[str, str],
) -> None:
    if media.provider_media_id == "UPLOADED":
        media_id = fake.add_media(b"x" * 10, "image/webp" if kind == "sticker" else "audio/ogg")
        media = MediaRef(provider_media_id=media_id, caption=media.caption)
        expected = {**expected, "id": media_id}
    result = await provider.send(out(kind=kind, media=media, text=text))
    assert result.status == "sent", result
    (sent,) = fake.sent
    assert sent.type == kind
    assert sent.body[kind] == expected


async def test_send_media_with_unknown_id_fails_permanently(provider: WhatsAppCloudProvider) -> None:
    result = await provider.send(out(kind="image", media=MediaRef(provider_media_id="999")))
    assert result.status == "failed"
    assert result.error_code == "131053"
    assert result.error is not None and "mídia" in result.error


async def test_send_reaction(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    result = await provider.send(
        out(kind="reaction", text=None, reaction={"message_id": THEIRS, "emoji": "❤️"}, reply_to_provider_id=THEIRS)
    )
    assert result.status == "sent"
    body = fake.sent[0].body
    assert body["type"] == "reaction"
    assert body["reaction"] == {"message_id": THEIRS, "emoji": "❤️"}
    assert "context" not in body


async def test_send_template(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.add_template("pedido_enviado", "pt_BR", body="Olá {{1}}, seu pedido {{2}} saiu para entrega.")
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#1234"}]}]
    result = await provider.send(
        out(
            kind="template",
            text=None,
            template={"name": "pedido_enviado", "language": "pt_BR", "components": components},
        )
    )
    assert result.status == "sent"
    assert fake.sent[0].body["template"] == {
        "name": "pedido_enviado",
        "language": {"code": "pt_BR", "policy": "deterministic"},
        "components": components,
    }


async def test_send_template_language_mapping_passthrough(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.add_template("boas_vindas", "en_US", body="Welcome!")
    result = await provider.send(out(kind="template", template={"name": "boas_vindas", "language": {"code": "en_US"}}))
    assert result.status == "sent"
    assert fake.sent[0].body["template"] == {
        "name": "boas_vindas",
        "language": {"code": "en_US", "policy": "deterministic"},
    }


async def test_unknown_template_is_132001(provider: WhatsAppCloudProvider) -> None:
    result = await provider.send(out(kind="template", template={"name": "nao_existe", "language": "pt_BR"}))
    assert result.status == "failed"
    assert result.error_code == "132001"
    assert result.error == "modelo inexistente ou não aprovado neste idioma"


async def test_wrong_param_count_is_132000(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.add_template("pedido_enviado", "pt_BR", body="Olá {{1}}, pedido {{2}}.")
    result = await provider.send(
        out(
            kind="template",
            template={
                "name": "pedido_enviado",
                "language": "pt_BR",
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}],
            },
        )
    )
    assert result.status == "failed"
    assert result.error_code == "132000"


@pytest.mark.parametrize(("status", "code"), [("PAUSED", "132015"), ("DISABLED", "132016")])
async def test_paused_or_disabled_template(
    provider: WhatsAppCloudProvider, fake: FakeGraph, status: str, code: str
) -> None:
    fake.add_template("promo", "pt_BR", body="Promo!", status=status, category="MARKETING")
    result = await provider.send(out(kind="template", template={"name": "promo", "language": "pt_BR"}))
    assert (result.status, result.error_code) == ("failed", code)


async def test_window_closed_sync_131047(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.window_closed_for("5511987654321")
    result = await provider.send(out())
    assert result.status == "failed"
    assert result.error_code == "131047"
    assert result.error == WINDOW_CLOSED_REASON
    assert not fake.sent
    fake.add_template("retomar", "pt_BR", body="Podemos continuar?")
    ok = await provider.send(out(kind="template", template={"name": "retomar", "language": "pt_BR"}))
    assert ok.status == "sent"  # templates pass a closed window


async def test_window_closed_webhook_mode_200_then_failed_status(
    provider: WhatsAppCloudProvider, fake: FakeGraph
) -> None:
    fake.window_closed_for("5511987654321", mode="webhook")
    result = await provider.send(out())
    assert result.status == "sent"
    (payload,) = fake.pending_webhooks
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert status["id"] == result.provider_message_id
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131047
    assert status["biz_opaque_callback_data"] == "42"


@pytest.mark.parametrize(
    ("code", "http_status", "transient", "retry_after"),
    [
        (130429, 429, True, 1.0),
        (131056, 400, True, 6.0),
        (131000, 500, True, None),
        (131016, 503, True, None),
        (4, 400, True, 60.0),
        (80007, 400, True, 60.0),
        (999999, 502, True, None),  # unknown code on a 5xx
    ],
)
async def test_transient_errors_raise(
    provider: WhatsAppCloudProvider,
    fake: FakeGraph,
    code: int,
    http_status: int,
    transient: bool,
    retry_after: float | None,
) -> None:
    fake.fail_next(code, http_status)
    with pytest.raises(ProviderError) as caught:
        await provider.send(out())
    error = caught.value
    assert error.transient is transient
    assert error.code == str(code)
    assert error.status_code == http_status
    assert error.retry_after == retry_after
    assert not fake.sent
    # the next call goes through: the injected error was consumed
    assert (await provider.send(out())).status == "sent"


async def test_pair_rate_retry_after_at_least_pair_interval(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = WhatsAppCloudProvider(make_config(fake, pair_interval_s=9.5), http)
    fake.fail_next(131056)
    with pytest.raises(ProviderError) as caught:
        await provider.send(out())
    assert caught.value.retry_after == 9.5


async def test_fake_enforces_pair_rate_when_asked(fake: FakeGraph, provider: WhatsAppCloudProvider) -> None:
    fake.pair_interval_s = 6.0
    assert (await provider.send(out())).status == "sent"
    with pytest.raises(ProviderError) as caught:
        await provider.send(out())
    assert caught.value.code == "131056" and caught.value.transient
    fake.advance(6.1)
    assert (await provider.send(out())).status == "sent"


@pytest.mark.parametrize(
    "code",
    [
        131047,
        131026,
        131048,
        131049,
        131050,
        131030,
        131008,
        131009,
        100,
        131031,
        368,
        130497,
        132000,
        132001,
        132012,
        132015,
        132016,
        130472,
        131052,
        131053,
        10,
        0,
    ],
)
async def test_permanent_errors_return_failed(provider: WhatsAppCloudProvider, fake: FakeGraph, code: int) -> None:
    fake.fail_next(code, 400)
    result = await provider.send(out())
    assert result.status == "failed"
    assert result.error_code == str(code)
    assert result.error
    assert result.provider_request_id is not None  # fbtrace_id kept for support tickets


async def test_bad_token_is_190_permanent(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = WhatsAppCloudProvider(make_config(fake, access_token="expired"), http)
    result = await provider.send(out())
    assert result.status == "failed"
    assert result.error_code == "190"
    assert result.error is not None and "token" in result.error


async def test_error_data_as_string_is_parsed(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.fail_next(132012, details="parameter 1 must be a date", error_data_as_string=True)
    result = await provider.send(out())
    assert result.error_code == "132012"
    assert result.raw is not None and result.raw["error"]["error_data"] == "parameter 1 must be a date"


async def test_is_transient_makes_unknown_code_retryable(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.fail_next(424242, 400, is_transient=True)
    with pytest.raises(ProviderError) as caught:
        await provider.send(out())
    assert caught.value.transient


async def test_unknown_code_is_permanent_by_default(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.fail_next(424242, 400, details="something odd", message="(#424242) Odd new failure")
    result = await provider.send(out())
    assert result.status == "failed"
    # An unmapped code keeps Meta's title and details: the only words the agent has about it.
    assert result.error == "erro do WhatsApp (código 424242): Odd new failure — something odd"


async def test_network_error_is_transient(fake: FakeGraph) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        provider = WhatsAppCloudProvider(make_config(fake), client)
        with pytest.raises(ProviderError) as caught:
            await provider.send(out())
        assert caught.value.transient
        assert caught.value.code == "network"
        test = await provider.test_connection()
        assert not test.ok and "conectar" in test.detail


async def test_non_json_5xx_is_transient(fake: FakeGraph) -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(gateway)) as client:
        provider = WhatsAppCloudProvider(make_config(fake), client)
        with pytest.raises(ProviderError) as caught:
            await provider.send(out())
        assert caught.value.transient and caught.value.status_code == 502


@pytest.mark.parametrize(
    "message",
    [
        out(text=""),
        out(text="x" * 4097),
        out(to="sem número"),
        out(kind="image", media=None),
        out(kind="reaction", text=None, reaction=None),
        out(kind="template", template=None),
        out(kind="template", template={"name": "x"}),
        out(kind="note"),
    ],
)
async def test_invalid_outbound_fails_before_any_call(
    provider: WhatsAppCloudProvider, fake: FakeGraph, message: OutboundMessage
) -> None:
    result = await provider.send(message)
    assert result.status == "failed"
    assert result.error_code == "invalid_message"
    assert result.error
    assert fake.calls == []


async def test_mark_read_and_typing(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    await provider.mark_read(THEIRS)
    await provider.mark_read("wamid.OTHER", typing=True)
    assert fake.read_marks == [THEIRS, "wamid.OTHER"]
    assert fake.typing == ["wamid.OTHER"]


async def test_mark_read_error_is_provider_error(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.fail_next(100)
    with pytest.raises(ProviderError) as caught:
        await provider.mark_read(THEIRS)
    assert not caught.value.transient
    assert caught.value.code == "100"


async def test_token_never_in_repr(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    assert fake.access_token not in repr(provider)
    assert fake.access_token not in repr(provider.graph)


async def test_window_closed_for_bsuid_recipient(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.window_closed_for("BR.13491208655302741918")
    result = await provider.send(out(to="BR.13491208655302741918"))
    assert (result.status, result.error_code) == ("failed", "131047")
    fake.open_window("BR.13491208655302741918")
    assert (await provider.send(out(to="BR.13491208655302741918"))).status == "sent"
