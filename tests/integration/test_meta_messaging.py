"""Instagram Direct and Facebook Messenger end to end against the fake Graph API (issue 13 §2)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from atende.channels.meta.signature import sign
from atende.db.tables import messages
from atende.testing.fake_graph import encode
from tests.support.harness import APP_HOST, INSTAGRAM_ACCOUNT, MESSENGER_PAGE, WHATSAPP_VERIFY_TOKEN, Harness
from tests.support.whatsapp import JPEG, PNG, conversation, settle, thread

PSID = "6784912345678901"
IGSID = "1234567890123456"
DAY_MS = 24 * 3600 * 1000


def _path(connector: dict[str, Any]) -> str:
    return str(connector["webhook_url"]).removeprefix(f"http://{APP_HOST}")


async def _deliver(h: Harness, connector: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    raw = encode(payload)
    r = await h.client.post(_path(connector), content=raw, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, h.graph.app_secret)})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _flush_echoes(h: Harness, connector: dict[str, Any]) -> None:
    for payload in h.graph.messaging.flush():
        await _deliver(h, connector, payload)


async def _only_conversation(h: Harness, channel: str) -> dict[str, Any]:
    items = (await h.get("/api/v1/conversations", params={"channel": channel})).json()["items"]
    assert len(items) == 1, items
    return dict(items[0])


async def _reply(h: Harness, conversation_id: int, body: dict[str, Any]) -> Any:
    return await h.post(f"/api/v1/conversations/{conversation_id}/messages", body)


async def test_messenger_conversation_end_to_end(harness: Harness) -> None:
    h = harness
    c = await h.messenger_connector()
    assert c["channel"] == "messenger" and c["provider"] == "messenger"
    h.graph.messaging.add_user(PSID, "Joana", "Silva", profile_pic="https://platform-lookaside.fbsbx.com/p.jpg")
    await _deliver(h, c, h.graph.messaging.text(MESSENGER_PAGE, PSID, "Oi! Vocês entregam em Florianópolis?"))
    await settle(h)  # the profile is fetched once
    conv = await _only_conversation(h, "messenger")
    assert conv["contact"]["name"] == "Joana Silva" and conv["contact"]["address"] == PSID
    contact = (await h.get(f"/api/v1/contacts/{conv['contact']['id']}")).json()
    (identity,) = contact["identities"]
    assert identity["kind"] == "psid" and identity["attributes"]["picture"].endswith("p.jpg")
    assert identity["attributes"]["profile_fetched_at"]

    r = await _reply(h, conv["id"], {"text": "Entregamos sim!"})
    assert r.status_code == 202, r.text
    await settle(h)
    (sent,) = h.graph.messaging.sent_to(PSID)
    assert sent.body["messaging_type"] == "RESPONSE" and sent.text == "Entregamos sim!"
    assert sent.metadata and sent.metadata.startswith("atende:")
    await _flush_echoes(h, c)  # the page echoes our send: a report, not a second message
    items = await thread(h, conv["id"])
    assert [m["direction"] for m in items] == ["in", "out"] and items[1]["status"] == "sent"
    assert items[1]["provider_message_id"] == sent.mid

    await _deliver(h, c, h.graph.messaging.delivery(MESSENGER_PAGE, PSID))
    assert (await thread(h, conv["id"]))[1]["status"] == "delivered"
    await _deliver(h, c, h.graph.messaging.read(MESSENGER_PAGE, PSID))
    out = (await thread(h, conv["id"]))[1]
    assert out["status"] == "read" and out["read_at"] is not None

    # The second customer message does not fetch the profile again.
    calls = len(h.graph.calls)
    await _deliver(h, c, h.graph.messaging.text(MESSENGER_PAGE, PSID, "Obrigada!"))
    await settle(h)
    assert not any(path.endswith(PSID) for _, path in h.graph.calls[calls:])

    # The agent reads the conversation: Joana sees it ("seen").
    assert (await h.post(f"/api/v1/conversations/{conv['id']}/read")).status_code == 200
    await settle(h)
    assert h.graph.messaging.sender_actions == [(MESSENGER_PAGE, PSID, "mark_seen")]


async def test_messenger_media_in_and_out(harness: Harness) -> None:
    h = harness
    c = await h.messenger_connector()
    h.graph.messaging.add_user(PSID, "Joana")
    url = h.graph.messaging.add_cdn_file(JPEG, "image/jpeg")
    await _deliver(h, c, h.graph.messaging.attachment(MESSENGER_PAGE, PSID, "image", url=url))
    await settle(h)
    conv = await _only_conversation(h, "messenger")
    (photo,) = await thread(h, conv["id"])
    assert photo["kind"] == "image" and photo["media_id"] is not None
    assert (await h.get(f"/api/v1/media/{photo['media_id']}")).content == JPEG

    upload = await h.client.post("/api/v1/media", headers=h.auth(), files={"file": ("promo.png", PNG, "image/png")})
    assert upload.status_code in (200, 201), upload.text
    r = await _reply(h, conv["id"], {"kind": "image", "media_id": upload.json()["id"], "text": "Nossa promoção"})
    assert r.status_code == 202, r.text
    await settle(h)
    attachment, caption = h.graph.messaging.sent_to(PSID)
    assert attachment.attachment is not None and "attachment_id" in attachment.attachment["payload"]
    assert caption.text == "Nossa promoção"  # Messenger carries no captions: sent right after the file
    assert attachment.metadata == caption.metadata
    stored_id, *_ = h.graph.messaging.attachments
    assert h.graph.messaging.attachments[stored_id][0] == PNG
    await _flush_echoes(h, c)
    assert len(await thread(h, conv["id"])) == 2  # the two echoes made no new message


async def test_window_then_human_agent_tag_then_closed(harness: Harness) -> None:
    h = harness
    plain = await h.messenger_connector()
    h.graph.messaging.add_user(PSID, "Joana")
    two_days_ago = int(time.time() * 1000) - 2 * DAY_MS
    await _deliver(h, plain, h.graph.messaging.text(MESSENGER_PAGE, PSID, "Oi", timestamp_ms=two_days_ago))
    conv = await _only_conversation(h, "messenger")
    r = await _reply(h, conv["id"], {"text": "Desculpe a demora"})
    assert r.status_code == 409 and r.json()["code"] == "window_closed"
    assert "cliente precisa escrever" in r.json()["detail"] and "modelo" not in r.json()["detail"]

    tagged = await h.messenger_connector("200000000000001", human_agent_tag=True)
    await _deliver(h, tagged, h.graph.messaging.text("200000000000001", PSID, "Oi", timestamp_ms=two_days_ago))
    tagged_conv = next(c for c in (await h.get("/api/v1/conversations")).json()["items"]
                   if c["connector_id"] == tagged["id"])
    r = await _reply(h, tagged_conv["id"], {"text": "Desculpe a demora, segue a resposta"})
    assert r.status_code == 202, r.text
    await settle(h)
    (sent,) = [s for s in h.graph.messaging.sent if s.node == "200000000000001"]
    assert (sent.messaging_type, sent.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")

    eight_days_ago = int(time.time() * 1000) - 8 * DAY_MS
    await _deliver(h, tagged, h.graph.messaging.text("200000000000001", "999", "antigo", timestamp_ms=eight_days_ago))
    old = next(c for c in (await h.get("/api/v1/conversations")).json()["items"] if c["contact"]["address"] == "999")
    r = await _reply(h, old["id"], {"text": "Oi?"})
    assert r.status_code == 409 and "7 dias" in r.json()["detail"]


async def test_instagram_conversation_end_to_end(harness: Harness) -> None:
    h = harness
    c = await h.instagram_connector()
    assert c["channel"] == "instagram"
    h.graph.messaging.add_user(IGSID, "Marina", "Costa", username="marina.costa")
    m = h.graph.messaging
    story = m.add_cdn_file(JPEG, "image/jpeg")
    await _deliver(h, c, m.attachment(INSTAGRAM_ACCOUNT, IGSID, "story_mention", url=story))
    await _deliver(h, c, m.text(INSTAGRAM_ACCOUNT, IGSID, "Amei o story! Tem no 38?", mid="m_ig_first"))
    await settle(h)
    conv = await _only_conversation(h, "instagram")
    assert conv["contact"]["name"] == "Marina Costa"
    contact = (await h.get(f"/api/v1/contacts/{conv['contact']['id']}")).json()
    assert contact["identities"][0]["kind"] == "igsid"
    assert contact["identities"][0]["attributes"]["username"] == "@marina.costa"
    mention, text = await thread(h, conv["id"])
    assert mention["kind"] == "story_mention" and mention["media_id"] is not None
    assert text["text"] == "Amei o story! Tem no 38?"

    assert (await _reply(h, conv["id"], {"text": "Temos sim!"})).status_code == 202
    too_long = await _reply(h, conv["id"], {"text": "x" * 1200})
    assert too_long.status_code == 202
    await settle(h)
    items = await thread(h, conv["id"])
    assert items[2]["status"] == "sent"
    assert items[3]["status"] == "failed" and "1000" in items[3]["error"]  # Instagram's text limit
    (sent,) = m.sent_to(IGSID)
    assert sent.node == INSTAGRAM_ACCOUNT and sent.text == "Temos sim!"

    await _flush_echoes(h, c)
    await _deliver(h, c, m.read(INSTAGRAM_ACCOUNT, IGSID, mid=sent.mid))  # messaging_seen
    assert (await thread(h, conv["id"]))[2]["status"] == "read"

    await _deliver(h, c, m.echo_from_inbox(INSTAGRAM_ACCOUNT, IGSID, "Respondido pelo app do Instagram"))
    await _deliver(h, c, m.deleted(INSTAGRAM_ACCOUNT, IGSID, "m_ig_first"))
    items = await thread(h, conv["id"])
    assert items[-1]["direction"] == "out" and items[-1]["text"] == "Respondido pelo app do Instagram"
    first = next(i for i in items if i["provider_message_id"] == "m_ig_first")
    assert first["deleted_at"] is not None
    # The agent now holding it (auth.policy: agents read what they hold) sees that it was deleted, not what.
    r = await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["ana"]})
    assert r.status_code == 200, r.text
    as_agent = (await h.get(f"/api/v1/conversations/{conv['id']}/messages", who="ana")).json()["items"]
    assert next(i for i in as_agent if i["id"] == first["id"])["text"] is None


async def test_instagram_media_by_link_or_through_the_page(harness: Harness) -> None:
    h = harness
    c = await h.instagram_connector()
    h.graph.messaging.add_user(IGSID, "Marina")
    await _deliver(h, c, h.graph.messaging.text(INSTAGRAM_ACCOUNT, IGSID, "Oi"))
    conv = await _only_conversation(h, "instagram")
    upload = await h.client.post("/api/v1/media", headers=h.auth(), files={"file": ("a.png", PNG, "image/png")})
    r = await _reply(h, conv["id"], {"kind": "image", "media_id": upload.json()["id"]})
    assert r.status_code == 202
    await settle(h)
    failed = (await thread(h, conv["id"]))[-1]
    assert failed["status"] == "failed" and "page_id" in failed["error"]
    r = await _reply(h, conv["id"], {"kind": "image", "media_url": "https://cdn.exemplo.com.br/tenis.jpg"})
    assert r.status_code == 202, r.text
    await settle(h)
    (sent,) = h.graph.messaging.sent_to(IGSID)
    assert sent.attachment == {"type": "image", "payload": {"url": "https://cdn.exemplo.com.br/tenis.jpg",
                                                            "is_reusable": True}}


async def test_signature_and_handshake_as_whatsapp(harness: Harness) -> None:
    h = harness
    c = await h.instagram_connector()
    raw = encode(h.graph.messaging.text(INSTAGRAM_ACCOUNT, IGSID, "oi"))
    unsigned = await h.client.post(_path(c), content=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    forged = await h.client.post(_path(c), content=raw, headers={"X-Hub-Signature-256": sign(raw, "wrong")})
    assert forged.status_code == 403
    async with h.rt.read() as conn:
        assert (await conn.execute(select(messages.c.id))).first() is None
    ok = await h.client.get(_path(c), params={"hub.mode": "subscribe", "hub.verify_token": WHATSAPP_VERIFY_TOKEN,
                                              "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = await h.client.get(_path(c), params={"hub.mode": "subscribe", "hub.verify_token": "no",
                                               "hub.challenge": "x"})
    assert bad.status_code == 403


async def test_four_channels_share_the_board_filters_and_routing(harness: Harness) -> None:
    h = harness
    sms = await h.kolmeya_connector()
    wa = await h.whatsapp_connector()
    ms = await h.messenger_connector()
    ig = await h.instagram_connector()
    h.graph.messaging.add_user(PSID, "Joana")
    h.graph.messaging.add_user(IGSID, "Marina")
    await h.post("/api/v1/me/presence", {"presence": "online"}, who="ana")
    await h.post("/api/v1/messages", {"connector_id": sms["id"], "to": "+5548991910234", "text": "Oi"})
    await _deliver(h, wa, h.graph.inbound_text("5511987654321", "Oi pelo WhatsApp"))
    await _deliver(h, ms, h.graph.messaging.text(MESSENGER_PAGE, PSID, "Oi pelo Messenger"))
    await _deliver(h, ig, h.graph.messaging.text(INSTAGRAM_ACCOUNT, IGSID, "Oi pelo Instagram"))
    await settle(h)
    everything = (await h.get("/api/v1/conversations")).json()["items"]
    assert {c["channel"] for c in everything} == {"sms", "whatsapp", "messenger", "instagram"}
    for channel in ("messenger", "instagram"):
        only = (await h.get("/api/v1/conversations", params={"channel": channel})).json()["items"]
        assert [c["channel"] for c in only] == [channel]
        assert only[0]["assignee"] is not None and only[0]["assignee"]["name"] == "Ana"  # routed like the rest
        assert (await conversation(h, only[0]["id"]))["status"] == "open"
    counts = (await h.get("/api/v1/conversations/counts", params={"channel": "instagram"})).json()
    assert counts["open"] == 1


async def test_one_contact_timeline_across_all_four_channels(harness: Harness) -> None:
    h = harness
    sms = await h.kolmeya_connector()
    wa = await h.whatsapp_connector()
    ms = await h.messenger_connector()
    ig = await h.instagram_connector()
    h.graph.messaging.add_user(PSID, "Joana", "Silva")
    h.graph.messaging.add_user(IGSID, "Joana", "S.", username="joana.s")
    r = await h.post("/api/v1/messages", {"connector_id": sms["id"], "to": "+5511987654321", "text": "Promoção!"})
    assert r.status_code == 202
    now = int(time.time()) + 1  # after the SMS even when a loaded machine makes the send take over a second
    await _deliver(h, wa, h.graph.inbound_text("5511987654321", "Vi pelo SMS", timestamp=now + 1))
    await _deliver(h, ms, h.graph.messaging.text(MESSENGER_PAGE, PSID, "Oi pelo Messenger",
                                                  timestamp_ms=(now + 2) * 1000))
    await _deliver(h, ig, h.graph.messaging.text(INSTAGRAM_ACCOUNT, IGSID, "Oi pelo Instagram",
                                                  timestamp_ms=(now + 3) * 1000))
    await settle(h)
    convs = {c["channel"]: c for c in (await h.get("/api/v1/conversations")).json()["items"]}
    phone_contact = convs["sms"]["contact"]["id"]
    assert convs["whatsapp"]["contact"]["id"] == phone_contact  # the same number: already one person
    for channel in ("messenger", "instagram"):
        other = convs[channel]["contact"]["id"]
        assert other != phone_contact
        assert (await h.post(f"/api/v1/contacts/{phone_contact}/merge", {"contact_id": other},
                             who="ana")).status_code == 403
        merged = await h.post(f"/api/v1/contacts/{phone_contact}/merge", {"contact_id": other}, who="supervisor")
        assert merged.status_code == 200, merged.text
        assert (await h.get(f"/api/v1/contacts/{other}")).status_code == 404
    contact = (await h.get(f"/api/v1/contacts/{phone_contact}")).json()
    assert {i["kind"] for i in contact["identities"]} == {"phone", "psid", "igsid"}
    timeline = (await h.get(f"/api/v1/contacts/{phone_contact}/timeline")).json()["items"]
    assert [m["channel"] for m in timeline] == ["sms", "whatsapp", "messenger", "instagram"]
    assert [m["text"] for m in timeline][1:] == ["Vi pelo SMS", "Oi pelo Messenger", "Oi pelo Instagram"]
    again = await h.post(f"/api/v1/contacts/{phone_contact}/merge", {"contact_id": phone_contact}, who="supervisor")
    assert again.status_code in (404, 422)


async def test_an_echo_that_beats_the_send_answer_is_counted_once(harness: Harness) -> None:
    """Meta may echo our send before the Send API's answer is recorded: the echo waits (parked),
    the answer counts the send once, then the echo applies; no second message."""
    from atende.actions import outbound
    from atende.actions.ingest import ingest_batch
    from atende.channels.base import SendResult
    from atende.channels.meta.messaging import parse_messaging_payload
    from atende.db.tables import connectors
    from atende.jobs.common import connector_info

    h = harness
    c = await h.messenger_connector()
    h.graph.messaging.add_user(PSID, "Joana")
    await _deliver(h, c, h.graph.messaging.text(MESSENGER_PAGE, PSID, "Oi"))
    conv = await _only_conversation(h, "messenger")
    queued = (await _reply(h, conv["id"], {"text": "Oi Joana"})).json()
    async with h.rt.read() as conn:
        reference = await conn.scalar(select(messages.c.reference).where(messages.c.id == queued["id"]))
    async with h.rt.write() as tx:
        await outbound.mark_sending(tx, queued["id"])
    echo = h.graph.messaging.envelope(MESSENGER_PAGE, [h.graph.messaging.event(
        MESSENGER_PAGE, PSID, echo=True, message={"mid": "m_echo_first", "text": "Oi Joana", "is_echo": True,
                                                  "metadata": f"atende:{reference}"})])
    loaded = await h.rt.connector(c["id"])
    assert loaded is not None
    async with h.rt.write() as tx:
        result = await ingest_batch(tx, connector_info(loaded), parse_messaging_payload(echo, "page"))
    assert result.stored == [] and result.statuses_applied == 0  # parked, not applied yet
    async with h.rt.write() as tx:
        await outbound.record_send_result(tx, queued["id"], SendResult(
            reference=str(reference), status="sent", provider_message_id="m_echo_first"))
    items = await thread(h, conv["id"])
    assert [m["status"] for m in items] == ["received", "sent"] and items[1]["provider_message_id"] == "m_echo_first"
    async with h.rt.read() as conn:
        assert await conn.scalar(select(connectors.c.sent_count).where(connectors.c.id == c["id"])) == 1
