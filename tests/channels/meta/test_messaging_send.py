"""The Messenger / Instagram Send API against the fake Graph: bodies, window errors, captions,
uploads, read receipts (issue 13 §2)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from atende.channels.base import MediaRef, OutboundMessage, ProviderError
from atende.channels.instagram.provider import InstagramConfig, InstagramProvider
from atende.channels.messenger.provider import MessengerConfig, MessengerProvider
from atende.testing.fake_graph import FakeGraph, create_fake_graph

PAGE, PSID, IG, IGSID = "105264925201234", "6784912345678901", "17841400123456789", "1234567890123456"


@pytest.fixture
def fake() -> FakeGraph:
    graph = create_fake_graph()
    graph.messaging.add_page(PAGE, platform="page")
    graph.messaging.add_page(IG, platform="instagram")
    graph.messaging.add_user(PSID, "Joana")
    graph.messaging.add_user(IGSID, "Marina")
    graph.messaging.last_customer_at[(PAGE, PSID)] = time.time()
    graph.messaging.last_customer_at[(IG, IGSID)] = time.time()
    return graph


@pytest.fixture
async def http(fake: FakeGraph) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), timeout=5) as client:
        yield client


def messenger(fake: FakeGraph, http: httpx.AsyncClient, **config: object) -> MessengerProvider:
    return MessengerProvider(MessengerConfig.model_validate({
        "page_id": PAGE, "page_access_token": fake.access_token, "app_secret": "s", "verify_token": "v",
        "base_url": "http://graph.test", **config}), http)


def instagram(fake: FakeGraph, http: httpx.AsyncClient, **config: object) -> InstagramProvider:
    return InstagramProvider(InstagramConfig.model_validate({
        "ig_user_id": IG, "page_access_token": fake.access_token, "app_secret": "s", "verify_token": "v",
        "base_url": "http://graph.test", **config}), http)


def out(to: str = PSID, **kw: object) -> OutboundMessage:
    return OutboundMessage(reference="rRef123", to=to, **kw)  # type: ignore[arg-type]


async def test_text_goes_with_our_reference_as_metadata(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    result = await messenger(fake, http).send(out(text="Olá!"))
    (sent,) = fake.messaging.sent
    assert result.status == "sent" and result.provider_message_id == sent.mid
    assert sent.body == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE",
                         "message": {"text": "Olá!", "metadata": "atende:rRef123"}}


async def test_human_agent_tag_and_the_window(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    fake.messaging.last_customer_at[(PAGE, PSID)] = time.time() - 3 * 24 * 3600
    closed = await messenger(fake, http).send(out(text="Oi"))
    assert closed.status == "failed" and closed.error_code == "10/2018278" and "24 h" in (closed.error or "")
    refused = await messenger(fake, http).send(out(text="Oi", message_tag="HUMAN_AGENT"))
    assert refused.status == "failed" and "HUMAN_AGENT" in (refused.error or "")  # the app lacks the tag
    fake.messaging.pages[PAGE].human_agent = True
    tagged = await messenger(fake, http).send(out(text="Oi", message_tag="HUMAN_AGENT"))
    assert tagged.status == "sent" and fake.messaging.sent[-1].tag == "HUMAN_AGENT"


async def test_caption_goes_after_the_file(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    result = await messenger(fake, http).send(out(kind="image", text="Promoção",
                                                  media=MediaRef(url="https://cdn.exemplo.com.br/a.jpg")))
    file, caption = fake.messaging.sent
    assert file.attachment == {"type": "image", "payload": {"url": "https://cdn.exemplo.com.br/a.jpg",
                                                            "is_reusable": True}}
    assert caption.text == "Promoção" and result.provider_message_id == file.mid
    assert result.raw == {"message_ids": [file.mid, caption.mid]}


async def test_errors_transient_or_for_the_agent(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = messenger(fake, http)
    fake.fail_next(613, 400, message="(#613) Calls to this api have exceeded the rate limit.")
    with pytest.raises(ProviderError) as caught:
        await provider.send(out(text="Oi"))
    assert caught.value.transient
    unknown = await provider.send(out(to="999", text="Oi"))
    assert unknown.status == "failed" and "não encontrado" in (unknown.error or "")
    fake.fail_next(551, 400, message="(#551) This person isn't available right now.")
    gone = await provider.send(out(text="Oi"))
    assert gone.status == "failed" and "não está disponível" in (gone.error or "")
    bad = await provider.send(out(to="+5511", text="Oi"))
    assert bad.status == "failed" and bad.error_code == "invalid_message"


async def test_instagram_limits(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = instagram(fake, http)
    long = await provider.send(out(to=IGSID, text="x" * 1001))
    assert long.status == "failed" and "1000" in (long.error or "")
    assert (await provider.send(out(to=IGSID, text="x" * 1000))).status == "sent"
    with pytest.raises(ProviderError, match="page_id"):
        await provider.upload_media(b"\xff\xd8\xff" + b"0" * 100, "image/jpeg", "a.jpg")
    with pytest.raises(ProviderError) as caught:
        await provider.upload_media(b"0" * 100, "application/pdf", "a.pdf")  # IG carries no documents
    assert caught.value.code == "mime_not_allowed"
    with pytest.raises(ProviderError) as too_big:
        await instagram(fake, http, page_id=PAGE).upload_media(b"0" * (8 * 1024 * 1024 + 1), "image/png", "a.png")
    assert too_big.value.code == "too_large"


async def test_upload_fetch_and_read_receipt(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    provider = messenger(fake, http)
    attachment_id = await provider.upload_media(b"%PDF-1.4 boleto", "application/pdf", "boleto.pdf")
    assert fake.messaging.attachments[attachment_id][0] == b"%PDF-1.4 boleto"
    url = fake.messaging.add_cdn_file(b"\x89PNG....", "image/png")
    assert await provider.fetch_media(MediaRef(url=url)) == (b"\x89PNG....", "image/png")
    with pytest.raises(ProviderError) as foreign:
        await provider.fetch_media(MediaRef(url="https://evil.example.com/a.png"))
    assert foreign.value.code == "media_host" and not foreign.value.transient
    with pytest.raises(ProviderError) as expired:
        await provider.fetch_media(MediaRef(url="http://graph.test/cdn/gone"))
    assert expired.value.code == "media_url_expired"
    await provider.mark_read("m_x", PSID)
    assert fake.messaging.sender_actions == [(PAGE, PSID, "mark_seen")]


async def test_profiles(fake: FakeGraph, http: httpx.AsyncClient) -> None:
    fake.messaging.add_user(IGSID, "Marina", "Costa", username="marina.costa", profile_pic="https://x/p.jpg")
    assert await instagram(fake, http).fetch_profile(IGSID) == {
        "name": "Marina Costa", "username": "@marina.costa", "picture": "https://x/p.jpg"}
    assert await messenger(fake, http).fetch_profile("404") == {}  # Meta shares nothing: no name
