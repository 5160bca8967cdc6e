"""Security §1: forged provider input never redirects a customer nor reaches another connector."""

from __future__ import annotations

from sqlalchemy import func, select, update

from atende.db.tables import conversations, messages, parked_statuses
from atende.testing.fake_graph import build_message_webhook, encode, signed_headers, text_message
from tests.support.harness import Harness
from tests.support.whatsapp import WA, webhook_path

VICTIM = "+5511999999999"
FORGER = "5521988887777"


def _path(connector: dict) -> str:
    return "/webhooks/" + connector["webhook_url"].rsplit("/", 1)[1]


def _reply(reply_id: str, phone: str, text: str, *, quoted_id: str | None, reference: str | None) -> dict:
    return {"reply": {"id": reply_id, "reply": text, "received_at": "16/11/2025 14:30:00",
                      "message": {"id": quoted_id, "reference": reference, "phone": phone, "content": "x"}}}


async def _sent(h: Harness, connector: dict, to: str, text: str) -> tuple[dict, str, str]:
    r = await h.post("/api/v1/messages", {"connector_id": connector["id"], "to": to, "text": text})
    assert r.status_code == 202, r.text
    await h.drain()
    async with h.rt.read() as conn:
        row = (await conn.execute(select(messages.c.provider_message_id, messages.c.reference)
                                  .where(messages.c.id == r.json()["id"]))).one()
    return r.json(), row.provider_message_id, row.reference


async def test_kolmeya_reply_quoting_another_phones_message_starts_its_own_conversation(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    msg, provider_id, reference = await _sent(h, c, VICTIM, "Seu código é 123456")
    forged = _reply("forged-1", FORGER, "me manda de novo", quoted_id=provider_id, reference=reference)
    assert (await h.client.post(_path(c), json=forged)).status_code == 200

    victim = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}")).json()
    assert victim["contact"]["address"] == VICTIM  # the address never moves to another number
    thread = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"]
    assert [m["text"] for m in thread] == ["Seu código é 123456"]
    async with h.rt.read() as conn:
        forger_conv = (await conn.execute(select(conversations).where(
            conversations.c.address == "+" + FORGER))).one()
    assert forger_conv.id != msg["conversation_id"]

    # The agent's next SMS still goes to the customer, not to the forger.
    r = await h.post(f"/api/v1/conversations/{msg['conversation_id']}/messages", {"text": "novo código 654321"})
    assert r.status_code == 202
    await h.drain()
    assert h.kolmeya.state.sent[-1].phone == int(VICTIM.lstrip("+")[2:]) or \
        str(h.kolmeya.state.sent[-1].phone).endswith(VICTIM[-8:])


async def test_kolmeya_reply_from_a_spelling_variant_joins_and_updates_the_address(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    msg, provider_id, reference = await _sent(h, c, "+5548991910234", "Oi")
    variant = "554891910234"  # the same subscriber without the 9th digit
    body = _reply("variant-1", variant, "Oi!", quoted_id=provider_id, reference=reference)
    assert (await h.client.post(_path(c), json=body)).status_code == 200
    thread = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"]
    assert [m["text"] for m in thread] == ["Oi", "Oi!"] and thread[1]["reply_to_id"] == msg["id"]
    conv = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}")).json()
    assert conv["contact"]["address"] in ("+5548991910234", "+554891910234")  # a spelling of the same number


async def test_sequential_ids_are_not_references_but_old_messages_keep_theirs(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    msg, _, reference = await _sent(h, c, VICTIM, "Oferta")
    assert reference and reference != str(msg["id"])
    guess = {"id": "req-guess", "reference": None,
             "messages": [{"id": "unknown", "reference": str(msg["id"]), "status_code": 4, "status": "não entregue"}]}
    assert (await h.client.post(_path(c), json=guess)).status_code == 200
    thread = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"]
    assert thread[0]["status"] == "sent"  # a guessed id changes nothing

    # A message sent before references were opaque (reference NULL) is still found by its id.
    async with h.rt.write() as tx:
        await tx.conn.execute(update(messages).where(messages.c.id == msg["id"]).values(reference=None))
    legacy = {"id": "req-old", "reference": None,
              "messages": [{"id": "unknown-2", "reference": str(msg["id"]), "status_code": 3, "status": "entregue"}]}
    assert (await h.client.post(_path(c), json=legacy)).status_code == 200
    thread = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"]
    assert thread[0]["status"] == "delivered"


async def test_kolmeya_sends_the_opaque_reference_and_matches_statuses_by_it(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    msg, _, reference = await _sent(h, c, VICTIM, "Oferta")
    assert h.kolmeya.state.sent[-1].reference == reference
    body = {"id": "req", "reference": None,
            "messages": [{"id": "other", "reference": reference, "status_code": 3, "status": "entregue"}]}
    assert (await h.client.post(_path(c), json=body)).status_code == 200
    thread = (await h.get(f"/api/v1/conversations/{msg['conversation_id']}/messages")).json()["items"]
    assert thread[0]["status"] == "delivered"


async def _wa_pair(h: Harness, *, same_secret: bool, active: bool = True) -> tuple[dict, dict]:
    first = await h.whatsapp_connector()
    second = await h.whatsapp_connector(phone_number_id="222000111",
                                        app_secret=h.graph.app_secret if same_secret else "another-app-secret")
    if not active:
        r = await h.client.patch(f"/api/v1/connectors/{second['id']}", json={"active": False}, headers=h.auth())
        assert r.status_code == 200, r.text
    return first, second


async def _post_for_account(h: Harness, url_connector: dict, phone_number_id: str, text: str) -> int:
    payload = build_message_webhook([text_message(WA, text)], phone_number_id=phone_number_id)
    raw = encode(payload)
    r = await h.client.post(webhook_path(url_connector), content=raw, headers=signed_headers(raw, h.graph.app_secret))
    assert r.status_code == 200, r.text
    return int(r.json()["stored"])


async def _stored_on(h: Harness, connector_id: int) -> int:
    async with h.rt.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(messages).where(
            messages.c.connector_id == connector_id)) or 0)


async def test_whatsapp_payload_never_writes_to_a_connector_of_another_app(harness: Harness) -> None:
    h = harness
    first, second = await _wa_pair(h, same_secret=False)
    assert await _post_for_account(h, first, "222000111", "forjada") == 0
    assert await _stored_on(h, second["id"]) == 0 and await _stored_on(h, first["id"]) == 0


async def test_whatsapp_payload_reaches_connectors_of_the_same_app(harness: Harness) -> None:
    h = harness
    first, second = await _wa_pair(h, same_secret=True)
    assert await _post_for_account(h, first, "222000111", "legítima") == 1
    assert await _stored_on(h, second["id"]) == 1 and await _stored_on(h, first["id"]) == 0


async def test_whatsapp_items_for_unknown_or_inactive_accounts_are_dropped(harness: Harness) -> None:
    h = harness
    first, second = await _wa_pair(h, same_secret=True, active=False)
    assert await _post_for_account(h, first, "222000111", "inativo") == 0
    assert await _post_for_account(h, first, "999999999", "desconhecido") == 0
    assert await _stored_on(h, second["id"]) == 0 and await _stored_on(h, first["id"]) == 0
    # Inactive connectors take nothing through their own URL either.
    raw = encode(build_message_webhook([text_message(WA, "x")], phone_number_id="222000111"))
    r = await h.client.post(webhook_path(second), content=raw, headers=signed_headers(raw, h.graph.app_secret))
    assert r.status_code == 404


async def test_statuses_for_unknown_references_are_parked_not_jobs(harness: Harness) -> None:
    """§6: a big batch of unknown statuses costs one row each and no retrying jobs."""
    h = harness
    c = await h.kolmeya_connector()
    body = {"id": "req-flood", "reference": None, "messages": [
        {"id": f"unknown-{i}", "reference": f"ref-{i}", "status_code": 3, "status": "entregue"} for i in range(300)]}
    assert (await h.client.post(_path(c), json=body)).status_code == 200
    jobs = (await h.get("/api/v1/jobs", params={"status": "pending"})).json()["items"]
    assert not [j for j in jobs if j["kind"] == "apply_status_later"]
    async with h.rt.read() as conn:
        assert await conn.scalar(select(func.count()).select_from(parked_statuses)) == 300
