"""Media by link: which URLs WhatsApp may be told to fetch, and the body that carries them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.channels.base import MediaRef, OutboundMessage
from atende.channels.whatsapp_cloud.provider import WhatsAppCloudProvider
from atende.media.links import MAX_MEDIA_URL, InvalidLink, check_media_link, link_filename
from atende.testing.fake_graph import FakeGraph


@pytest.mark.parametrize("url", [
    "https://cdn.example.com/a.jpg",
    "https://cdn.example.com:8443/files/boleto%20123.pdf?sig=abc&x=1",
    "https://8.8.8.8/a.png",
    "https://[2001:4860:4860::8888]/a.png",
    "https://xn--loja-exemplo-9db.com.br/a.mp4",
    "https://CDN.Example.COM./a.jpg",
])
def test_public_https_links_are_accepted(url: str) -> None:
    assert check_media_link(url) == url


@pytest.mark.parametrize(("url", "why"), [
    ("http://cdn.example.com/a.jpg", "https"),
    ("ftp://cdn.example.com/a.jpg", "https"),
    ("cdn.example.com/a.jpg", "https"),
    ("", "informe"),
    ("https://localhost/a.jpg", "público"),
    ("https://printer.local/a.jpg", "público"),
    ("https://api.localhost/a.jpg", "público"),
    ("https://intranet/a.jpg", "público"),
    ("https://127.0.0.1/a.jpg", "privado"),
    ("https://10.1.2.3/a.jpg", "privado"),
    ("https://192.168.0.10/a.jpg", "privado"),
    ("https://172.16.5.4/a.jpg", "privado"),
    ("https://169.254.169.254/latest/meta-data", "privado"),
    ("https://100.64.0.1/a.jpg", "privado"),
    ("https://0.0.0.0/a.jpg", "privado"),
    ("https://[::1]/a.jpg", "privado"),
    ("https://[fd00::1]/a.jpg", "privado"),
    ("https://[::ffff:127.0.0.1]/a.jpg", "privado"),
    ("https://127.1/a.jpg", "público"),
    ("https://0x7f.1/a.jpg", "público"),
    ("https://2130706433/a.jpg", "público"),
    ("https://user:secret@cdn.example.com/a.jpg", "usuário"),
    ("https://cdn.example.com/a b.jpg", "espaços"),
    ("https://cdn.example.com/a.jpg\n", "espaços"),
    ("https://cdn.example.com:99999/a.jpg", "inválido"),
    ("https:///a.jpg", "host"),
    ("https://cdn.example.com/" + "a" * MAX_MEDIA_URL, "longo"),
])
def test_unsafe_or_malformed_links_are_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidLink, match=why):
        check_media_link(url)


@given(st.text(max_size=300))
def test_link_check_only_ever_raises_invalid_outbound(url: str) -> None:
    try:
        accepted = check_media_link(url)
    except InvalidLink:
        return
    assert accepted == url and url.startswith("https://")


def test_link_filename() -> None:
    assert link_filename("https://x.example/docs/boleto%20123.pdf?sig=1") == "boleto 123.pdf"
    assert link_filename("https://x.example/") is None
    assert link_filename("https://x.example/a%2F..%2Fb%00.pdf") == "a..b.pdf"


async def test_a_link_that_slipped_past_the_api_is_not_sent(fake: FakeGraph,
                                                            provider: WhatsAppCloudProvider) -> None:
    message = OutboundMessage(reference="9", to="5511987654321", kind="image",
                              media=MediaRef(url="https://10.0.0.5/a.jpg"))
    result = await provider.send(message)
    assert result.status == "failed" and result.error_code == "invalid_message" and "privado" in (result.error or "")
    assert fake.sent == []
    ok = await provider.send(OutboundMessage(reference="10", to="5511987654321", kind="document", text="Seu boleto",
                                             media=MediaRef(url="https://cdn.example.com/b.pdf", filename="b.pdf")))
    assert ok.status == "sent"
    assert fake.sent[0].body["document"] == {"link": "https://cdn.example.com/b.pdf", "caption": "Seu boleto",
                                             "filename": "b.pdf"}
