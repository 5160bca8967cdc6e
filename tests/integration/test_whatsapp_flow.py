"""WhatsApp Cloud end to end through HTTP, on SQLite and PostgreSQL: webhooks in, sends out.

The engine talks to the fake Graph API (`atende.testing.fake_graph`) over the in-process host
router; webhooks are signed over the exact bytes, the way Meta sends them.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import select

from atende.actions.outbound import WINDOW_CLOSED
from atende.channels.whatsapp_cloud.fixtures import fixture_bytes, fixture_names, load_fixture
from atende.db.tables import contact_identities, conversations, jobs, messages
from atende.testing.fake_graph import (
    batch,
    build_echo_webhook,
    contact_entry,
    duplicate,
    error_item,
    message_item,
    reaction_message,
    text_message,
)
from tests.support.harness import WHATSAPP_VERIFY_TOKEN, Harness
from tests.support.whatsapp import (
    WA,
    WA_12,
    conversation,
    count,
    inbound,
    message,
    message_by_wamid,
    post_webhook,
    reply,
    settle,
    thread,
    webhook_path,
)

# ----------------------------------------------------------------------------------- webhook gate


async def test_handshake_answers_challenge_and_refuses_wrong_token(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    path = webhook_path(c)
    ok = await harness.client.get(path, params={"hub.mode": "subscribe", "hub.challenge": "1158201444",
                                                "hub.verify_token": WHATSAPP_VERIFY_TOKEN})
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = await harness.client.get(path, params={"hub.mode": "subscribe", "hub.challenge": "x",
                                                   "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    no_mode = await harness.client.get(path, params={"hub.challenge": "x", "hub.verify_token": WHATSAPP_VERIFY_TOKEN})
    assert no_mode.status_code == 403
    assert "secret" not in str(c) and "verify-me" not in str(c)


async def test_unsigned_wrong_and_tampered_posts_store_nothing(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    raw = fixture_bytes("text")
    path = webhook_path(c)
    unsigned = await harness.client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    from atende.channels.meta.signature import sign

    wrong = await harness.client.post(path, content=raw, headers={"X-Hub-Signature-256": sign(raw, "not-the-secret")})
    assert wrong.status_code == 403
    tampered = raw.replace(b"tamanho 38", b"tamanho 39")
    assert tampered != raw
    forged = await harness.client.post(path, content=tampered, headers=harness.graph.signed_headers(raw))
    assert forged.status_code == 403
    assert await count(harness, messages) == 0 and await count(harness, conversations) == 0
    # Re-serialising the JSON breaks the signature of escaped unicode: the exact bytes must be signed.
    import json

    reencoded = json.dumps(json.loads(raw)).encode()
    assert (await harness.client.post(path, content=reencoded, headers=harness.graph.signed_headers(raw))
            ).status_code == 403
    good = await post_webhook(harness, c, raw)
    assert good.status_code == 200 and good.json()["stored"] == 1
    stored = await message_by_wamid(harness, load_fixture("text")["entry"][0]["changes"][0]["value"]
                                    ["messages"][0]["id"])
    assert stored["text"] == "Olá! Vocês têm esse tênis em azul, tamanho 38? 😊"


# ------------------------------------------------------------------------------ inbound, every kind

EXPECTED_KIND = {
    "text": "text", "image": "image", "audio_voice": "audio", "video": "video", "document": "document",
    "sticker": "sticker", "location": "location", "contacts": "contacts", "interactive_button_reply": "interactive",
    "interactive_list_reply": "interactive", "button": "interactive", "reaction": "reaction",
    "reaction_removed": "reaction", "reply_context": "text", "forwarded": "text", "unsupported": "unsupported",
    "unknown_type": "unsupported", "br_12_digit": "text", "bsuid_text": "text", "smb_message_echoes": "text",
}


def _items(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for entry in payload["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            for key, direction in (("messages", "in"), ("message_echoes", "out")):
                found.extend((direction, m) for m in value.get(key, []))
    return found


# Fixtures that change messages or threads already stored (edits, deletions, number changes): their
# effects are checked in test_whatsapp_fidelity.py, in the order that gives them meaning.
REVISING = frozenset({"edit_text", "edit_caption", "echo_edit", "revoke", "echo_revoke", "system_user_changed_number",
                      "system_user_changed_user_id"})


async def test_every_fixture_is_accepted_and_no_message_is_dropped(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    expected: dict[str, tuple[str, dict[str, Any]]] = {}
    for name in (n for n in fixture_names() if n not in REVISING):
        r = await post_webhook(harness, c, fixture_bytes(name))
        assert r.status_code == 200, (name, r.text)
        items = _items(load_fixture(name))
        fresh = [m for _, m in items if m["id"] not in expected]
        assert r.json()["stored"] == len(fresh), name
        for direction, item in items:
            expected[item["id"]] = (direction, item)
        if name in EXPECTED_KIND:
            for _, item in items:
                assert (await message_by_wamid(harness, item["id"]))["kind"] == EXPECTED_KIND[name], name
    assert len(expected) >= 22
    async with harness.rt.read() as conn:
        rows = {r.provider_message_id: r for r in await conn.execute(select(messages))}
    assert set(rows) == set(expected)  # every message of every fixture, once
    for wamid, (direction, item) in expected.items():
        assert rows[wamid].direction == direction
        assert rows[wamid].raw == item  # the raw payload is kept, unknown types included

    unknown = rows["wamid.BATCH.C1"]
    assert unknown.kind == "unsupported" and unknown.raw["gif_future"] == {"x": 1}
    unsupported = await message_by_wamid(harness, _items(load_fixture("unsupported"))[0][1]["id"])
    assert unsupported["attributes"]["errors"][0]["code"] == "131051"
    voice = await message_by_wamid(harness, _items(load_fixture("audio_voice"))[0][1]["id"])
    assert voice["kind"] == "audio"
    forwarded = await message_by_wamid(harness, _items(load_fixture("forwarded"))[0][1]["id"])
    assert forwarded["attributes"]["forwarded"] is True
    location = await message_by_wamid(harness, _items(load_fixture("location"))[0][1]["id"])
    assert location["attributes"]["latitude"] == -23.5613496 and "MASP" in location["text"]
    listed = await message_by_wamid(harness, _items(load_fixture("interactive_list_reply"))[0][1]["id"])
    assert listed["text"] == "Entrega expressa" and listed["attributes"]["id"] == "entrega_expressa"

    # Maria (13-digit wa_id) and Carlos' 12-digit legacy account are the same subscriber: one thread.
    maria = await message_by_wamid(harness, _items(load_fixture("text"))[0][1]["id"])
    carlos = await message_by_wamid(harness, _items(load_fixture("br_12_digit"))[0][1]["id"])
    assert carlos["conversation_id"] == maria["conversation_id"]
    listing = (await harness.get("/api/v1/conversations", params={"channel": "whatsapp"})).json()["items"]
    addresses = {item["contact"]["address"] for item in listing}
    assert "BR.13491208655302741918" in addresses  # the username (BSUID-only) customer
    assert any(a.startswith("group:") for a in addresses)  # the group has a thread of its own
    assert len(listing) == len({item["id"] for item in listing}) == 5  # Maria, Pedro, Júlia, BSUID, group


async def test_batched_entries_and_duplicates(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    g = harness.graph
    payloads = [g.inbound_text(f"55119876500{i:02d}", f"mensagem {i}", name=f"Cliente {i}") for i in range(3)]
    merged = batch(*payloads)
    assert len(merged["entry"]) == 3
    first = await post_webhook(harness, c, merged)
    assert first.status_code == 200 and first.json() == {"ok": True, "stored": 3, "duplicates": 0}
    again = await post_webhook(harness, c, merged)  # Meta redelivers when it saw no 200 in time
    assert again.json() == {"ok": True, "stored": 0, "duplicates": 3}
    twice = await post_webhook(harness, c, duplicate(g.inbound_text(WA, "uma vez só"), 3))
    assert twice.json() == {"ok": True, "stored": 1, "duplicates": 2}
    assert await count(harness, messages) == 4
    names = {i["contact"]["name"] for i in (await harness.get("/api/v1/conversations")).json()["items"]}
    assert {"Cliente 0", "Cliente 1", "Cliente 2"} <= names


async def test_smb_message_echoes_appear_as_outbound(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    msg = await inbound(harness, c, WA, "Oi loja")
    echo = message_item(harness.graph.display_phone_number, "text", {"body": "Respondido pelo celular"},
                        extra={"to": WA})
    del echo["from"]
    echo["from"] = harness.graph.display_phone_number
    r = await post_webhook(harness, c, build_echo_webhook([echo], [contact_entry(WA, "Maria")]))
    assert r.status_code == 200 and r.json()["stored"] == 1
    items = await thread(harness, msg["conversation_id"])
    assert [(m["direction"], m["text"]) for m in items] == [("in", "Oi loja"), ("out", "Respondido pelo celular")]
    assert items[1]["status"] == "sent" and items[1]["attributes"]["business_number"] == "551140028922"
    assert harness.graph.sent == []  # an echo is never sent again


# --------------------------------------------------------------------------------------- statuses


async def test_statuses_out_of_order_and_skipped_delivered_never_downgrade(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    msg = await inbound(harness, c)
    first = await reply(harness, msg["conversation_id"], "Temos sim!")
    second = await reply(harness, msg["conversation_id"], "Quer o link?")
    await settle(harness)
    sent = {m.body["text"]["body"]: m.wamid for m in harness.graph.sent}
    assert (await message(harness, first["id"]))["provider_message_id"] == sent["Temos sim!"]

    for payload in harness.graph.status_sequence(sent["Temos sim!"], out_of_order=True):  # read, delivered, sent
        assert (await post_webhook(harness, c, payload)).status_code == 200
    m1 = await message(harness, first["id"])
    assert m1["status"] == "read" and m1["read_at"] is not None

    for payload in harness.graph.status_sequence(sent["Quer o link?"], skip_delivered=True):
        await post_webhook(harness, c, payload)
    late = harness.graph.status_for(sent["Quer o link?"], "delivered")
    await post_webhook(harness, c, late)  # a late "delivered" after "read"
    m2 = await message(harness, second["id"])
    # Read without a "delivered" first: it was delivered by then, and the late one changes nothing.
    assert m2["status"] == "read" and m2["delivered_at"] == m2["read_at"] is not None


async def test_failed_131047_as_http_error_and_as_status_webhook(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    msg = await inbound(harness, c)
    # Our window says open, Meta disagrees (a known Meta issue): the HTTP answer carries 131047.
    harness.graph.window_closed_for(WA, mode="sync")
    sync = await reply(harness, msg["conversation_id"], "Posso ajudar?")
    await settle(harness)
    failed = await message(harness, sync["id"])
    assert failed["status"] == "failed" and failed["error_code"] == "131047"
    assert failed["error"] == WINDOW_CLOSED
    assert harness.graph.sent == []

    # Or Meta accepts (200) and reports the failure later in a `failed` status webhook.
    harness.graph.window_closed_for(WA, mode="webhook")
    later = await reply(harness, msg["conversation_id"], "Olá de novo")
    await settle(harness)
    assert (await message(harness, later["id"]))["status"] == "sent"
    responses = await harness.graph.flush_webhooks(c["webhook_url"], harness.rt.http)
    assert [r.status_code for r in responses] == [200]
    failed = await message(harness, later["id"])
    assert failed["status"] == "failed" and failed["error"] == WINDOW_CLOSED and failed["error_code"] == "131047"

    # A failure in a status webhook of a message not known yet (reference echoed) is not lost either.
    third = await reply(harness, msg["conversation_id"], "Última tentativa")
    await settle(harness)
    wamid = (await message(harness, third["id"]))["provider_message_id"]
    await post_webhook(harness, c, harness.graph.status_for(wamid, "failed", errors=[error_item(131026)]))
    undeliverable = await message(harness, third["id"])
    assert undeliverable["status"] == "failed" and "SMS" in undeliverable["error"]


# ------------------------------------------------------------------------------- window, templates


async def test_window_closed_refused_before_any_api_call_then_template_goes_out(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    old = int(time.time()) - 25 * 3600
    msg = await inbound(harness, c, WA, "Oi, ontem", timestamp=old)
    r = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"text": "Bom dia!"})
    assert r.status_code == 409
    assert r.json() == {"detail": "janela de 24 h encerrada: envie um modelo", "code": "window_closed"}
    await settle(harness)
    assert harness.graph.sent == [] and not [p for m, p in harness.graph.calls if p.endswith("/messages")]
    assert len(await thread(harness, msg["conversation_id"])) == 1  # nothing queued

    template = {"name": "pedido_enviado", "language": "pt_BR",
                "components": [{"type": "body", "parameters": [{"type": "text", "text": "Maria"},
                                                               {"type": "text", "text": "#123"}]}]}
    unknown = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"template": template})
    assert unknown.status_code == 422 and unknown.json()["code"] == "template_unknown"

    harness.graph.add_template("pedido_enviado", body="Olá {{1}}, seu pedido {{2}} foi enviado.")
    harness.graph.add_template("promo_pausada", status="PAUSED", category="MARKETING", body="Oferta!")
    synced = await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")
    assert synced.status_code == 200, synced.text
    assert synced.json()["total"] == 2

    wrong_params = {**template, "components": [{"type": "body", "parameters": [{"type": "text", "text": "Maria"}]}]}
    r = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"template": wrong_params})
    assert r.status_code == 422 and r.json()["code"] == "template_parameters" and "2" in r.json()["detail"]
    paused = {"name": "promo_pausada", "language": "pt_BR", "components": []}
    r = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"template": paused})
    assert r.status_code == 409 and r.json()["code"] == "template_not_approved" and "PAUSED" in r.json()["detail"]
    assert harness.graph.sent == []

    ok = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"template": template})
    assert ok.status_code == 202, ok.text
    await settle(harness)
    assert len(harness.graph.sent) == 1
    out = harness.graph.sent[0]
    assert out.type == "template" and out.to == WA
    assert out.body["template"]["name"] == "pedido_enviado"
    assert out.body["template"]["language"] == {"code": "pt_BR", "policy": "deterministic"}
    assert (await message(harness, ok.json()["id"]))["status"] == "sent"
    # A template does not reopen the window: free text is still refused.
    r = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"text": "E aí?"})
    assert r.status_code == 409


async def test_template_sync_list_and_status_webhooks_keep_the_table_true(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    g = harness.graph
    g.template_page_size = 2  # three pages
    g.add_template("boas_vindas", body="Olá {{1}}!")
    g.add_template("pedido_enviado", category="UTILITY", header="Pedido {{1}}", body="Seu pedido {{1}} saiu.")
    g.add_template("codigo", category="AUTHENTICATION", body="Seu código é {{1}}.",
                   buttons=[{"type": "COPY_CODE", "example": "123456"}])
    g.add_template("rascunho", status="PENDING", body="...")
    g.add_template("boas_vindas", language="en_US", body="Hello {{1}}!")

    agent = await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="ana")
    assert agent.status_code == 403
    r = await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")
    assert r.status_code == 200 and r.json()["total"] == 5 and r.json()["created"] == 5
    listed = (await harness.get(f"/api/v1/connectors/{c['id']}/templates", who="ana")).json()["items"]
    by_key = {(t["name"], t["language"]): t for t in listed}
    assert set(by_key) == {("boas_vindas", "pt_BR"), ("boas_vindas", "en_US"), ("pedido_enviado", "pt_BR"),
                           ("codigo", "pt_BR"), ("rascunho", "pt_BR")}
    assert by_key[("pedido_enviado", "pt_BR")]["parameters"] == {"header": 1, "body": 1}
    assert by_key[("codigo", "pt_BR")]["category"] == "AUTHENTICATION"
    approved = (await harness.get(f"/api/v1/connectors/{c['id']}/templates", params={"status": "approved"})).json()
    assert {t["name"] for t in approved["items"]} == {"boas_vindas", "pedido_enviado", "codigo"}

    # Meta pauses one, approves the draft, recategorises another (webhooks → provider_event jobs).
    from atende.testing.fake_graph import build_template_status_webhook

    await post_webhook(harness, c, build_template_status_webhook("pedido_enviado", "pt_BR", "PAUSED"))
    await post_webhook(harness, c, build_template_status_webhook("rascunho", "pt_BR", "APPROVED"))
    category = load_fixture("template_category_update")
    category["entry"][0]["changes"][0]["value"]["message_template_name"] = "boas_vindas"
    await post_webhook(harness, c, category)
    await post_webhook(harness, c, build_template_status_webhook("novo_modelo", "pt_BR", "REJECTED",
                                                                reason="INVALID_FORMAT"))
    await settle(harness)
    listed = (await harness.get(f"/api/v1/connectors/{c['id']}/templates")).json()["items"]
    by_key = {(t["name"], t["language"]): t for t in listed}
    assert by_key[("pedido_enviado", "pt_BR")]["status"] == "PAUSED"
    assert by_key[("rascunho", "pt_BR")]["status"] == "APPROVED"
    assert by_key[("boas_vindas", "pt_BR")]["category"] == "MARKETING"
    assert by_key[("boas_vindas", "en_US")]["category"] == "UTILITY"  # another language: untouched
    assert by_key[("novo_modelo", "pt_BR")]["status"] == "REJECTED"

    # Deleted in the WhatsApp Manager: the next sync removes it; reinstated ones come back approved.
    g.templates = [t for t in g.templates if t["name"] != "codigo"]
    r = await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")
    assert r.json()["removed"] == 2  # "codigo" and the never-synced "novo_modelo"
    assert ("codigo", "pt_BR") not in {(t["name"], t["language"]) for t in r.json()["items"]}


async def test_template_opens_a_conversation_with_a_new_customer(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    harness.graph.add_template("boas_vindas", body="Olá {{1}}!")
    await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")
    free = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+55 31 98765-1234", "text": "Oi"})
    assert free.status_code == 409 and free.json()["code"] == "window_closed"
    r = await harness.post(f"/api/v1/connectors/{c['id']}/templates/send", {
        "to": "+55 31 98765-1234", "name": "boas_vindas", "language": "pt_BR",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Júlia"}]}]}, who="ana")
    assert r.status_code == 202, r.text
    assert r.json()["kind"] == "template" and r.json()["status"] == "queued"
    await settle(harness)
    assert harness.graph.sent[0].to == "5531987651234" and harness.graph.sent[0].type == "template"
    conv = await conversation(harness, r.json()["conversation_id"])
    assert conv["channel"] == "whatsapp" and conv["contact"]["address"] == "+5531987651234"
    bad = await harness.post(f"/api/v1/connectors/{c['id']}/templates/send",
                             {"to": "abc", "name": "boas_vindas", "language": "pt_BR"})
    assert bad.status_code == 422


# -------------------------------------------------------------------------------------------- media


async def test_inbound_media_is_downloaded_and_served_with_auth(harness: Harness) -> None:
    from atende.testing.fake_graph import media_message
    from tests.support.whatsapp import JPEG, PDF, make_due

    c = await harness.whatsapp_connector()
    g = harness.graph
    image_id = g.add_media(JPEG, "image/jpeg")
    doc_id = g.add_media(PDF, "application/pdf", "comprovante.pdf")
    voice_id = g.add_media(b"OggS" + b"\x00" * 500, "audio/ogg; codecs=opus")
    html_id = g.add_media(b"<html><script>alert(1)</script></html>", "text/html")
    items = [
        media_message(WA, "image", image_id, "image/jpeg", caption="Foto do defeito"),
        media_message(WA, "document", doc_id, "application/pdf", filename="comprovante junho.pdf"),
        media_message(WA, "audio", voice_id, "audio/ogg; codecs=opus", voice=True),
        media_message(WA, "document", html_id, "text/html", filename="pagina.html"),
    ]
    g.fail_next(131016, http_status=503, route="media")  # Meta hiccups once on the first metadata call
    r = await post_webhook(harness, c, g.build_message_webhook(items))
    assert r.json()["stored"] == 4
    await harness.drain()
    async with harness.rt.read() as conn:
        waiting = (await conn.execute(select(jobs.c.attempts, jobs.c.last_error).where(
            jobs.c.kind == "fetch_media", jobs.c.status == "pending"))).all()
    assert len(waiting) == 1 and waiting[0].attempts == 1  # retried later, not lost
    await make_due(harness, "fetch_media")
    await settle(harness)

    image = await message_by_wamid(harness, items[0]["id"])
    assert image["media_id"] is not None and image["text"] == "Foto do defeito"
    assert image["attributes"]["media"]["mime_type"] == "image/jpeg"
    assert image["attributes"]["media"]["url"] == f"/api/v1/media/{image['media_id']}"
    anonymous = await harness.client.get(f"/api/v1/media/{image['media_id']}")
    assert anonymous.status_code == 401
    got = await harness.get(f"/api/v1/media/{image['media_id']}", who="ana")
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-disposition"].startswith("inline")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["etag"] == f'"{hashlib.sha256(JPEG).hexdigest()}"'
    url = f"/api/v1/media/{image['media_id']}"
    part = await harness.client.get(url, headers={**harness.auth(), "Range": "bytes=0-3"})
    assert part.status_code == 206 and part.content == JPEG[:4]  # players seek in audio and video
    cached = await harness.client.get(url, headers={**harness.auth(), "If-None-Match": got.headers["etag"]})
    assert cached.status_code == 304

    doc = await message_by_wamid(harness, items[1]["id"])
    got = await harness.get(f"/api/v1/media/{doc['media_id']}")
    assert got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment")
    assert "comprovante%20junho.pdf" in got.headers["content-disposition"]

    voice = await message_by_wamid(harness, items[2]["id"])
    assert voice["attributes"]["media"]["voice"] is True and voice["attributes"]["media"]["mime_type"] == "audio/ogg"

    refused = await message_by_wamid(harness, items[3]["id"])
    assert refused["media_id"] is None and "text/html" in refused["attributes"]["media_error"]
    assert (await harness.get("/api/v1/media/999999")).status_code == 404
    # Content-addressed: the same bytes sent again reuse the stored file and row.
    again = media_message(WA, "image", g.add_media(JPEG, "image/jpeg"), "image/jpeg")
    await post_webhook(harness, c, g.build_message_webhook([again]))
    await settle(harness)
    assert (await message_by_wamid(harness, again["id"]))["media_id"] == image["media_id"]


async def test_outbound_media_upload_and_send(harness: Harness) -> None:
    from tests.support.whatsapp import PDF, PNG

    c = await harness.whatsapp_connector()
    msg = await inbound(harness, c)
    conv_id = msg["conversation_id"]
    files = {"file": ("foto.png", PNG, "image/png")}
    assert (await harness.client.post("/api/v1/media", files=files)).status_code == 401
    up = await harness.client.post("/api/v1/media", files=files, headers=harness.auth("ana"))
    assert up.status_code == 201, up.text
    media = up.json()
    assert media["kind"] == "image" and media["size"] == len(PNG) and media["mime_type"] == "image/png"
    html = await harness.client.post("/api/v1/media", files={"file": ("x.html", b"<html></html>", "text/html")},
                                     headers=harness.auth())
    assert html.status_code == 415
    big = await harness.client.post("/api/v1/media", files={"file": ("s.webp", b"RIFF" + b"0" * 600_000,
                                                                     "image/webp")}, headers=harness.auth())
    assert big.status_code == 413
    guessed = await harness.client.post("/api/v1/media", headers=harness.auth(),
                                        files={"file": ("boleto.pdf", PDF, "application/octet-stream")})
    assert guessed.status_code == 201 and guessed.json()["mime_type"] == "application/pdf"

    sent = await reply(harness, conv_id, "Olha a foto", kind="image", media_id=media["id"])
    assert sent["media_id"] == media["id"]
    await settle(harness)
    out = harness.graph.sent[-1]
    assert out.type == "image" and out.body["image"]["caption"] == "Olha a foto"
    graph_id = out.body["image"]["id"]
    assert harness.graph.media[graph_id].data == PNG
    # The same file again: the Graph media id is reused (ids live 30 days), no second upload.
    await reply(harness, conv_id, "De novo", kind="image", media_id=media["id"])
    doc = await reply(harness, conv_id, "Seu boleto", kind="document", media_id=guessed.json()["id"])
    await settle(harness)
    uploads = [p for m, p in harness.graph.calls if m == "POST" and p.endswith("/media")]
    assert len(uploads) == 2
    assert harness.graph.sent[-2].body["image"]["id"] == graph_id
    assert harness.graph.sent[-1].body["document"]["filename"] == "boleto.pdf"
    assert (await message(harness, doc["id"]))["status"] == "sent"

    # A PDF cannot go out as an image: failed with the reason, no API call.
    before = len(harness.graph.sent)
    wrong = await reply(harness, conv_id, "Oops", kind="image", media_id=guessed.json()["id"])
    await settle(harness)
    failed = await message(harness, wrong["id"])
    assert failed["status"] == "failed" and "documento" in failed["error"]
    assert len(harness.graph.sent) == before


# ------------------------------------------------------------------------------ identities & phones


async def test_brazil_ninth_digit_both_ways_and_learned_from_send_response(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    harness.graph.add_template("retorno", body="Olá! Podemos falar?")
    await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync", who="supervisor")

    # Agent writes to the 13-digit number; the customer's old account answers from the 12-digit wa_id.
    started = await harness.post(f"/api/v1/connectors/{c['id']}/templates/send",
                                 {"to": "+55 11 98765-4321", "name": "retorno", "language": "pt_BR"})
    conv_id = started.json()["conversation_id"]
    await settle(harness)
    answer = await inbound(harness, c, WA_12, "Oi, pode sim")
    assert answer["conversation_id"] == conv_id
    conv = await conversation(harness, conv_id)
    assert conv["contact"]["address"] == "+" + WA_12
    await reply(harness, conv_id, "Ótimo!")
    await settle(harness)
    assert harness.graph.sent[-1].to == WA_12  # reply to the exact wa_id last received
    # And the other way: the 13-digit form arriving later joins the same conversation.
    later = await inbound(harness, c, WA, "Mudei de aparelho")
    assert later["conversation_id"] == conv_id
    assert await count(harness, conversations) == 1

    # A customer the agent types with the 9th digit, whose WhatsApp account is legacy: Meta's send
    # response (contacts[].wa_id) teaches the 12-digit id, used for what comes next.
    legacy = harness.graph.register_legacy_br("+55 21 99876-5432")
    assert legacy == "552198765432"
    r = await harness.post(f"/api/v1/connectors/{c['id']}/templates/send",
                           {"to": "+5521998765432", "name": "retorno", "language": "pt_BR"})
    await settle(harness)
    learned = await conversation(harness, r.json()["conversation_id"])
    assert learned["contact"]["address"] == "+" + legacy
    reply_in = await inbound(harness, c, legacy, "Quem fala?")
    assert reply_in["conversation_id"] == learned["id"]
    async with harness.rt.read() as conn:
        idents = (await conn.execute(select(contact_identities).where(contact_identities.c.kind == "phone"))).all()
    assert {i.value for i in idents} == {"+5511987654321", "+5521998765432"}  # canonical, no duplicates


async def test_mexico_and_argentina_variants_match(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    # Mexico: WhatsApp reports 521 + 10 digits; agents type +52 + 10 digits.
    mx = await inbound(harness, c, "5215512345678", "Hola")
    r = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+52 55 1234 5678", "text": "Hola!"})
    assert r.status_code == 202, r.text
    assert r.json()["conversation_id"] == mx["conversation_id"]
    # Argentina: 549 + area + number (mobile) vs 54 + area + number.
    ar = await inbound(harness, c, "5491123456789", "Buenas")
    r2 = await harness.post("/api/v1/messages", {"connector_id": c["id"], "to": "+54 11 2345-6789", "text": "Buenas!"})
    assert r2.status_code == 202, r2.text
    assert r2.json()["conversation_id"] == ar["conversation_id"]
    await settle(harness)
    assert sorted(m.to for m in harness.graph.sent) == ["5215512345678", "5491123456789"]
    assert await count(harness, conversations) == 2


async def test_bsuid_customer_without_phone(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    bsuid = "BR.98765432109876543210"
    msg = await inbound(harness, c, bsuid, "Oi, sou usuário com nome de usuário")
    conv = await conversation(harness, msg["conversation_id"])
    assert conv["contact"]["address"] == bsuid
    await reply(harness, conv["id"], "Olá!")
    await settle(harness)
    out = harness.graph.sent[-1]
    assert out.body.get("recipient") == bsuid and "to" not in out.body
    # The fixture with both a wa_id and a user_id keeps the BSUID as an identity attribute.
    await post_webhook(harness, c, fixture_bytes("text"))
    async with harness.rt.read() as conn:
        idents = {(i.kind, i.value): i.attributes for i in await conn.execute(select(contact_identities))}
    assert idents[("bsuid", bsuid)] == {"bsuid": bsuid}
    assert idents[("phone", "+5511987654321")]["bsuid"] == "BR.13491208655302741918"


# ----------------------------------------------------------------------------- read, reactions, reply


async def test_reading_a_conversation_sends_the_read_receipt(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    await inbound(harness, c, WA, "primeira")
    last = await inbound(harness, c, WA, "segunda")
    r = await harness.post(f"/api/v1/conversations/{last['conversation_id']}/read", who="ana")
    assert r.status_code == 200 and r.json()["unread"] == 0
    await settle(harness)
    assert harness.graph.read_marks == [last["provider_message_id"]]
    await harness.post(f"/api/v1/conversations/{last['conversation_id']}/read")  # nothing unread: no call
    await settle(harness)
    assert len(harness.graph.read_marks) == 1


async def test_reactions_shown_on_their_message_and_sent_by_agents(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    msg = await inbound(harness, c, WA, "Chegou!")
    ours = await reply(harness, msg["conversation_id"], "Que bom!")
    await settle(harness)
    wamid = (await message(harness, ours["id"]))["provider_message_id"]

    like = reaction_message(WA, wamid, "👍")
    await post_webhook(harness, c, harness.graph.build_message_webhook([like]))
    stored = await message_by_wamid(harness, like["id"])
    assert stored["kind"] == "reaction" and stored["reply_to_id"] == ours["id"] and stored["text"] == "👍"
    target = await message(harness, ours["id"])
    assert [(r["from"], r["emoji"]) for r in target["attributes"]["reactions"]] == [("customer", "👍")]
    heart = reaction_message(WA, wamid, "❤️")
    await post_webhook(harness, c, harness.graph.build_message_webhook([heart]))
    target = await message(harness, ours["id"])
    assert [(r["from"], r["emoji"]) for r in target["attributes"]["reactions"]] == [("customer", "❤️")]
    removed = reaction_message(WA, wamid, "")
    await post_webhook(harness, c, harness.graph.build_message_webhook([removed]))
    assert (await message(harness, ours["id"]))["attributes"]["reactions"] == []

    # Only whoever may answer the conversation reacts in it: Ana doesn't even see the admin's.
    r = await harness.post(f"/api/v1/messages/{msg['id']}/reaction", {"emoji": "🙏"}, who="ana")
    assert r.status_code == 404
    r = await harness.post(f"/api/v1/messages/{msg['id']}/reaction", {"emoji": "🙏"}, who="admin")
    assert r.status_code == 202 and r.json()["kind"] == "reaction"
    await settle(harness)
    out = harness.graph.sent[-1]
    assert out.type == "reaction" and out.body["reaction"] == {"message_id": msg["provider_message_id"], "emoji": "🙏"}
    theirs = await message(harness, msg["id"])
    assert [(x["from"], x["emoji"]) for x in theirs["attributes"]["reactions"]] == [("agent", "🙏")]
    note = await harness.post(f"/api/v1/conversations/{msg['conversation_id']}/messages",
                              {"kind": "note", "text": "interno"})
    bad = await harness.post(f"/api/v1/messages/{note.json()['id']}/reaction", {"emoji": "👍"})
    assert bad.status_code == 409


async def test_replies_quote_in_both_directions(harness: Harness) -> None:
    c = await harness.whatsapp_connector()
    msg = await inbound(harness, c, WA, "Qual o prazo?")
    ours = await reply(harness, msg["conversation_id"], "3 dias úteis", reply_to_id=msg["id"])
    await settle(harness)
    assert harness.graph.sent[-1].body["context"] == {"message_id": msg["provider_message_id"]}
    our_wamid = (await message(harness, ours["id"]))["provider_message_id"]
    quoted = text_message(WA, "Pode ser antes?", context={"from": "551140028922", "id": our_wamid})
    await post_webhook(harness, c, harness.graph.build_message_webhook([quoted]))
    assert (await message_by_wamid(harness, quoted["id"]))["reply_to_id"] == ours["id"]


async def test_media_that_never_downloads_says_so_on_the_message(harness: Harness) -> None:
    from atende.testing.fake_graph import media_message
    from tests.support.whatsapp import JPEG, make_due

    c = await harness.whatsapp_connector()
    item = media_message(WA, "image", harness.graph.add_media(JPEG, "image/jpeg"), "image/jpeg")
    harness.graph.fail_next(131016, http_status=503, route="media", times=50)  # Meta down for good
    await post_webhook(harness, c, harness.graph.build_message_webhook([item]))
    for _ in range(12):
        await harness.drain()
        if not await make_due(harness, "fetch_media"):
            break
    stored = await message_by_wamid(harness, item["id"])
    assert stored["media_id"] is None
    assert stored["attributes"]["media_error_code"] == "media_download_failed"
    assert "baixar a mídia" in stored["attributes"]["media_error"]


async def test_template_sync_without_waba_id_explains_what_is_missing(harness: Harness) -> None:
    c = await harness.whatsapp_connector(waba_id=None)
    r = await harness.post(f"/api/v1/connectors/{c['id']}/templates/sync")
    assert r.status_code == 409 and "waba_id" in r.json()["detail"]
    sms = await harness.kolmeya_connector()
    r = await harness.post(f"/api/v1/connectors/{sms['id']}/templates/sync")
    assert r.status_code == 409
    assert (await harness.post("/api/v1/connectors/9999/templates/sync")).status_code == 404
