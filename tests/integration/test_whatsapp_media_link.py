"""Media by link: an agent sends an image or a document by public https URL, on SQLite and PostgreSQL.

WhatsApp fetches the file itself (`{"link": …}`): nothing is uploaded, the link is kept on the
message; unsafe links and channels without media are refused before anything is queued.
"""

from __future__ import annotations

import time

import pytest

from atende.media.links import MAX_MEDIA_URL
from tests.support.harness import Harness
from tests.support.whatsapp import WA, conversation, inbound, message, settle, thread

IMAGE_URL = "https://cdn.loja.example/promo/outubro.jpg"
PDF_URL = "https://files.loja.example/boletos/boleto%20123.pdf?sig=abc"


async def test_image_and_document_go_by_link_with_caption_and_reply(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    first = await inbound(harness, c, WA, "Tem promoção?")
    conv_id = first["conversation_id"]

    r = await harness.post(f"/api/v1/conversations/{conv_id}/messages",
                           {"kind": "image", "media_url": IMAGE_URL, "text": "Promoção de outubro"})
    assert r.status_code == 202, r.text
    image = r.json()
    assert (image["kind"], image["text"], image["media_id"]) == ("image", "Promoção de outubro", None)
    assert image["attributes"]["media_url"] == IMAGE_URL
    r = await harness.post(f"/api/v1/conversations/{conv_id}/messages",
                           {"kind": "document", "media_url": PDF_URL, "reply_to_id": first["id"]})
    assert r.status_code == 202, r.text
    document = r.json()
    await settle(harness)

    sent_image, sent_pdf = harness.graph.sent
    assert sent_image.type == "image"
    assert sent_image.body["image"] == {"link": IMAGE_URL, "caption": "Promoção de outubro"}
    assert sent_pdf.type == "document"
    assert sent_pdf.body["document"] == {"link": PDF_URL, "filename": "boleto 123.pdf"}
    assert sent_pdf.body["context"] == {"message_id": first["provider_message_id"]}
    assert not [call for call in harness.graph.calls if call[1].endswith("/media")]  # nothing uploaded
    for queued in (image, document):
        stored = await message(harness, queued["id"])
        assert stored["status"] == "sent" and stored["provider_message_id"]
        assert stored["attributes"]["media_url"] in (IMAGE_URL, PDF_URL)
    assert (await conversation(harness, conv_id))["last_message_preview"] == "📄 Documento"


@pytest.mark.parametrize(("body", "why"), [
    ({"kind": "image", "media_url": "http://cdn.loja.example/a.jpg"}, "https"),
    ({"kind": "image", "media_url": "https://localhost/a.jpg"}, "público"),
    ({"kind": "image", "media_url": "https://10.0.0.7/a.jpg"}, "privado"),
    ({"kind": "image", "media_url": "https://169.254.169.254/latest/meta-data/"}, "privado"),
    ({"kind": "image", "media_url": "https://[::1]/a.jpg"}, "privado"),
    ({"kind": "document", "media_url": "https://user:pw@cdn.loja.example/a.pdf"}, "usuário"),
    ({"kind": "image", "media_url": "https://cdn.loja.example/" + "a" * MAX_MEDIA_URL}, ""),
    ({"media_url": IMAGE_URL, "text": "sem kind"}, "kind"),
    ({"kind": "text", "media_url": IMAGE_URL, "text": "oi"}, "kind"),
    ({"kind": "image", "media_url": IMAGE_URL, "media_id": 1}, "não os dois"),
])
async def test_unsafe_links_are_refused_before_anything_is_queued(harness: Harness, body: dict[str, object],
                                                                  why: str) -> None:
    c = await harness.whatsapp_connector()
    first = await inbound(harness, c, WA, "Oi")
    r = await harness.post(f"/api/v1/conversations/{first['conversation_id']}/messages", body)
    assert r.status_code == 422, r.text
    assert why in str(r.json()["detail"])
    await settle(harness)
    assert [m["id"] for m in await thread(harness, first["conversation_id"])] == [first["id"]]
    assert harness.graph.sent == []


async def test_sms_refuses_media_links_with_a_clear_reason(harness: Harness) -> None:
    sms = await harness.kolmeya_connector()
    r = await harness.post("/api/v1/messages", {"connector_id": sms["id"], "to": "+5511987654321", "text": "Oi"})
    conv_id = r.json()["conversation_id"]
    r = await harness.post(f"/api/v1/conversations/{conv_id}/messages",
                           {"kind": "image", "media_url": IMAGE_URL, "text": "Promoção"})
    assert r.status_code == 422
    assert r.json()["detail"] == "SMS só envia texto: não é possível enviar mídia por link"
    await settle(harness)
    assert [m["text"] for m in await thread(harness, conv_id)] == ["Oi"]
    assert [s.text for s in harness.kolmeya.state.sent] == ["Oi"]


async def test_media_links_follow_the_24h_window(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    old = await inbound(harness, c, WA, "Oi", timestamp=int(time.time()) - 25 * 3600)
    r = await harness.post(f"/api/v1/conversations/{old['conversation_id']}/messages",
                           {"kind": "image", "media_url": IMAGE_URL})
    assert r.status_code == 409 and r.json()["code"] == "window_closed", r.text
    assert harness.graph.sent == []
