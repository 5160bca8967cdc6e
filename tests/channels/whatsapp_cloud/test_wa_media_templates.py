"""Media upload / download, template listing and the connection test, against the fake Graph API."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from wa_helpers import make_config

from atende.channels.base import MediaRef, OutboundMessage, ProviderError
from atende.channels.meta.graph import GraphError
from atende.channels.whatsapp_cloud.provider import (
    MEDIA_LIMITS,
    WhatsAppCloudProvider,
    media_kind_for_mime,
    normalize_template,
)
from atende.domain.templates import template_parameters
from atende.testing.fake_graph import FakeGraph

PDF = b"%PDF-1.4\n" + b"0" * 2048
OGG = b"OggS" + b"\x00" * 500


# ------------------------------------------------------------------------------------- media


async def test_upload_then_send_by_id(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    media_id = await provider.upload_media(PDF, "application/pdf", "boleto.pdf")
    stored = fake.media[media_id]
    assert stored.data == PDF
    assert stored.mime_type == "application/pdf"
    assert stored.filename == "boleto.pdf"
    result = await provider.send(
        OutboundMessage(
            reference="7",
            to="+5511987654321",
            kind="document",
            media=MediaRef(provider_media_id=media_id, filename="boleto.pdf"),
        )
    )
    assert result.status == "sent"
    assert fake.sent[0].body["document"] == {"id": media_id, "filename": "boleto.pdf"}


async def test_upload_refuses_bad_mime_and_oversize_before_calling(
    provider: WhatsAppCloudProvider, fake: FakeGraph
) -> None:
    with pytest.raises(ProviderError) as bad_mime:
        await provider.upload_media(b"<html></html>", "text/html", "x.html")
    assert bad_mime.value.code == "mime_not_allowed" and not bad_mime.value.transient
    with pytest.raises(ProviderError) as too_big:
        await provider.upload_media(b"\xff" * (MEDIA_LIMITS["image"] + 1), "image/jpeg", "big.jpg")
    assert too_big.value.code == "too_large" and not too_big.value.transient
    assert fake.calls == []


async def test_upload_graph_error(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.fail_next(131053, route="upload")
    with pytest.raises(ProviderError) as caught:
        await provider.upload_media(OGG, "audio/ogg", "voz.ogg")
    assert caught.value.code == "131053"
    assert not caught.value.transient


async def test_fetch_media_metadata_then_bearer_download(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    media_id = fake.add_media(OGG, "audio/ogg; codecs=opus")
    content, mime = await provider.fetch_media(media_id)
    assert content == OGG
    assert mime == "audio/ogg; codecs=opus"
    assert [c[0] for c in fake.calls] == ["GET", "GET"]
    assert fake.calls[1][1] == "/whatsapp_business/attachments/"


async def test_download_url_needs_bearer_and_expires(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    media_id = fake.add_media(PDF, "application/pdf")
    auth = {"Authorization": f"Bearer {fake.access_token}"}
    meta = (await http.get(f"http://graph.test/v25.0/{media_id}", headers=auth)).json()
    assert meta["file_size"] == len(PDF)
    assert meta["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (await http.get(meta["url"])).status_code == 401  # no Bearer
    assert (await http.get(meta["url"], headers={"Authorization": "Bearer wrong"})).status_code == 401
    assert (await http.get(meta["url"], headers=auth)).content == PDF
    fake.advance(301)  # URLs live 5 minutes
    assert (await http.get(meta["url"], headers=auth)).status_code == 404


async def test_expired_url_is_fetched_again_once(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    media_id = fake.add_media(PDF, "application/pdf")
    fake.fail_next(404, 404, route="download")  # first download: the URL expired meanwhile
    content, _ = await provider.fetch_media(media_id)
    assert content == PDF
    assert [path for _, path in fake.calls].count("/whatsapp_business/attachments/") == 2


async def test_always_expired_url_is_transient(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.media_url_ttl = -1  # every URL is born expired
    media_id = fake.add_media(PDF, "application/pdf")
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_media(media_id)
    assert caught.value.transient
    assert caught.value.code == "media_url_expired"


async def test_fetch_oversize_is_refused(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    media_id = fake.add_media(b"\x89PNG" + b"\x00" * MEDIA_LIMITS["image"], "image/png")
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_media(media_id)
    assert caught.value.code == "too_large"
    assert not caught.value.transient
    assert all(path != "/whatsapp_business/attachments/" for _, path in fake.calls)  # refused before download


async def test_fetch_sticker_limit_is_500_kb(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    ok = fake.add_media(b"RIFF" + b"\x00" * 1000, "image/webp")
    assert (await provider.fetch_media(ok))[1] == "image/webp"
    big = fake.add_media(b"RIFF" + b"\x00" * (500 * 1024), "image/webp")
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_media(big)
    assert caught.value.code == "too_large"


async def test_download_larger_than_announced_is_cut(fake: FakeGraph) -> None:
    """A lying file_size does not let an oversize body through: the download is streamed and capped."""
    limit = MEDIA_LIMITS["image"]

    def graph(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/attachments/"):
            return httpx.Response(200, content=b"\x00" * (limit + 10), headers={"content-type": "image/png"})
        return httpx.Response(
            200,
            json={
                "url": "http://graph.test/whatsapp_business/attachments/",
                "mime_type": "image/png",
                "file_size": 10,
                "id": "1",
            },
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(graph)) as client:
        provider = WhatsAppCloudProvider(make_config(fake), client)
        with pytest.raises(ProviderError) as caught:
            await provider.fetch_media("1")
    assert caught.value.code == "too_large"


@pytest.mark.parametrize("mime", ["text/html", "image/svg+xml", "application/x-msdownload", ""])
async def test_fetch_bad_mime_is_refused(provider: WhatsAppCloudProvider, fake: FakeGraph, mime: str) -> None:
    media_id = fake.add_media(b"<svg onload=alert(1)>", mime)
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_media(media_id)
    assert caught.value.code == "mime_not_allowed"
    assert not caught.value.transient


async def test_fetch_unknown_media_is_permanent(provider: WhatsAppCloudProvider) -> None:
    with pytest.raises(ProviderError) as caught:
        await provider.fetch_media("404404404")
    assert caught.value.code == "100"
    assert not caught.value.transient


async def test_delete_media(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    media_id = fake.add_media(PDF, "application/pdf")
    await provider.delete_media(media_id)
    assert media_id not in fake.media
    assert fake.deleted_media == [media_id]
    with pytest.raises(ProviderError):
        await provider.delete_media(media_id)


def test_media_kind_for_mime() -> None:
    assert media_kind_for_mime("audio/ogg; codecs=opus") == "audio"
    assert media_kind_for_mime("IMAGE/JPEG") == "image"
    assert media_kind_for_mime("image/webp") == "sticker"
    assert media_kind_for_mime("application/pdf") == "document"
    assert media_kind_for_mime("text/html") is None
    assert media_kind_for_mime(None) is None


# --------------------------------------------------------------------------------- templates


async def test_list_templates_follows_paging(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    fake.template_page_size = 2
    fake.add_template("pedido_enviado", "pt_BR", body="Olá {{1}}, pedido {{2}}.", header="Pedido {{1}}")
    fake.add_template("boas_vindas", "pt_BR", body="Bem-vindo!", category="MARKETING")
    fake.add_template(
        "codigo",
        "pt_BR",
        body="Seu código é {{1}}.",
        category="AUTHENTICATION",
        buttons=[{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copiar código"}],
    )
    provider = WhatsAppCloudProvider(make_config(fake), http)
    templates = await provider.list_templates()
    assert [t["name"] for t in templates] == ["pedido_enviado", "boas_vindas", "codigo"]
    pages = [p for m, p in fake.calls if p.endswith("/message_templates")]
    assert len(pages) == 2
    first = templates[0]
    assert first["language"] == "pt_BR"
    assert first["category"] == "UTILITY"
    assert first["status"] == "APPROVED"
    assert first["parameters"] == {"header": 1, "body": 2}
    assert first["parameter_names"] == {"header": ["1"], "body": ["1", "2"]}
    assert templates[1]["parameters"] == {"body": 0}
    assert templates[2]["parameters"] == {"body": 1, "button_0": 1}
    assert templates[2]["category"] == "AUTHENTICATION"


async def test_list_templates_needs_waba_id(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = WhatsAppCloudProvider(make_config(fake, waba_id=None), http)
    with pytest.raises(ProviderError) as caught:
        await provider.list_templates()
    assert caught.value.code == "config"
    assert fake.calls == []


async def test_list_templates_error(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.fail_next(10, 403, route="templates")
    with pytest.raises(ProviderError) as caught:
        await provider.list_templates()
    assert caught.value.code == "10"
    assert not caught.value.transient


def test_template_parameters_named_media_and_url_buttons() -> None:
    components = [
        {"type": "HEADER", "format": "IMAGE"},
        {"type": "BODY", "text": "Oi {{first_name}}, {{first_name}}! Total {{total}}"},
        {"type": "FOOTER", "text": "Loja"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Parar"},
                {"type": "URL", "text": "Ver", "url": "https://loja.example/p/{{1}}"},
                {"type": "URL", "text": "Site", "url": "https://loja.example"},
            ],
        },
    ]
    counts, names = template_parameters(components)
    assert counts == {"header": 1, "body": 2, "button_1": 1}
    assert names == {"body": ["first_name", "total"]}
    normalized = normalize_template(
        {
            "id": 5,
            "name": "x",
            "language": "pt_BR",
            "status": "APPROVED",
            "category": "MARKETING",
            "parameter_format": "NAMED",
            "components": components,
        }
    )
    assert normalized["id"] == "5"
    assert normalized["parameter_format"] == "NAMED"
    assert normalized["parameters"] == counts


# -------------------------------------------------------------------------------- connection


async def test_connection_ok(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    result = await provider.test_connection()
    assert result.ok
    assert result.detail == "Conectado: +55 11 4002-8922 (Atende Demo)"
    assert result.balance is None


async def test_connection_bad_token_190(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = WhatsAppCloudProvider(make_config(fake, access_token="expired"), http)
    result = await provider.test_connection()
    assert not result.ok
    assert "token de acesso expirado ou inválido" in result.detail


async def test_connection_wrong_phone_number_id(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = WhatsAppCloudProvider(make_config(fake, phone_number_id="123"), http)
    result = await provider.test_connection()
    assert not result.ok
    assert result.detail == "parâmetro inválido na chamada à Meta"


async def test_graph_error_keeps_graph_fields(provider: WhatsAppCloudProvider, fake: FakeGraph) -> None:
    fake.fail_next(131056, details="pair rate", route="phone")
    with pytest.raises(GraphError) as caught:
        await provider.graph.get_json(fake.phone_number_id)
    error = caught.value
    assert error.graph_code == 131056
    assert error.details == "pair rate"
    assert error.error_type == "OAuthException"
    assert error.fbtrace_id
    assert error.http_status == 400
