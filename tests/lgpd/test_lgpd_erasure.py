"""Erasure of a data subject: nothing of theirs anywhere afterwards (every table, FTS shadow tables
and the media store, on SQLite and PostgreSQL), reports still add up, the opt-out holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from atende.db.tables import audit_log, consents, contact_identities, contacts, conversations, messages
from tests.support.harness import Harness
from tests.support.lgpd import World, build_world, scan_database, scan_media, scan_sqlite_files
from tests.support.whatsapp import post_webhook, settle


async def _figures(h: Harness, world: World) -> dict[str, Any]:
    """What reports and billing read: connector stats, board counts, per-conversation totals, messages."""
    out: dict[str, Any] = {}
    for c in (world.whatsapp, world.sms):
        out[f"connector {c['id']}"] = (await h.get(f"/api/v1/connectors/{c['id']}")).json()["stats"]
    out["counts"] = (await h.get("/api/v1/conversations/counts")).json()
    async with h.rt.read() as conn:
        out["conversations"] = [tuple(r) for r in await conn.execute(select(
            conversations.c.id, conversations.c.channel, conversations.c.segments_total, conversations.c.cost_total,
            conversations.c.created_at).order_by(conversations.c.id))]
        out["messages"] = [tuple(r) for r in await conn.execute(select(
            messages.c.id, messages.c.conversation_id, messages.c.direction, messages.c.kind, messages.c.segments,
            messages.c.cost, messages.c.created_at, messages.c.connector_id).order_by(messages.c.id))]
    return out


async def _erase(h: Harness, contact_id: int, who: str = "admin") -> Any:
    return await h.post(f"/api/v1/contacts/{contact_id}/erase", {"reason": "pedido do titular por e-mail"}, who=who)


async def test_erasure_leaves_nothing_of_the_titular_anywhere(harness: Harness) -> None:
    h = harness
    world = await build_world(h)
    titular, other = world.titular, world.other
    needles = titular.needles()

    before = await scan_database(h, needles)
    tables_before = {t for t, _ in before}
    # The scanner sees the data where it lives (so that "nothing found" afterwards means something).
    assert {"contacts", "contact_identities", "conversations", "messages", "events"} <= tables_before, before
    assert scan_media(h.rt.settings.media_dir, needles, [titular.image])
    database = Path(str(h.rt.engine.url.database))
    if h.rt.engine.dialect.name == "sqlite":
        assert scan_sqlite_files(database, needles)
    figures = await _figures(h, world)
    searches = ("Paralelepipedal", "Quibebeira", titular.national[-8:])
    for q in searches:  # search finds the titular by text, name and number...
        assert (await h.get("/api/v1/search", params={"q": q})).json()["items"], q

    r = await _erase(h, titular.contact_id)
    assert r.status_code == 200, r.text
    erased = r.json()["erased"]
    assert erased["conversations"] == 2 and erased["identities"] >= 1 and erased["media"] == 1
    assert erased["messages"] >= 6
    await settle(h)

    assert await scan_database(h, needles) == []
    for q in searches:  # ...and no longer
        assert (await h.get("/api/v1/search", params={"q": q})).json()["items"] == [], q
    assert scan_media(h.rt.settings.media_dir, needles, [titular.image]) == []
    if h.rt.engine.dialect.name == "sqlite":  # not even in free space or the write-ahead log
        assert scan_sqlite_files(database, needles) == []
    # The other customer is untouched, files and all.
    other_hits = {t for t, _ in await scan_database(h, other.needles())}
    assert {"contacts", "messages", "contact_identities"} <= other_hits
    assert scan_media(h.rt.settings.media_dir, [], [other.image])

    after = await _figures(h, world)
    assert after["conversations"] == figures["conversations"]
    assert after["messages"] == figures["messages"]
    for c in (world.whatsapp, world.sms):
        assert after[f"connector {c['id']}"] == figures[f"connector {c['id']}"]
    assert sum(after["counts"].values()) == sum(figures["counts"].values())

    contact = (await h.get(f"/api/v1/contacts/{titular.contact_id}")).json()
    assert contact["name"] == f"Titular removido #{titular.contact_id}"
    assert all(i["kind"] == "hashed" for i in contact["identities"])
    thread = (await h.get(f"/api/v1/conversations/{titular.conversation_ids[0]}/messages")).json()["items"]
    assert thread and all(m["text"] is None and m["media_id"] is None and m["redacted_at"] for m in thread)
    async with h.rt.read() as conn:
        entry = (await conn.execute(select(audit_log).where(audit_log.c.action == "contact.erase"))).one()
    assert entry.actor_id == h.user_ids["admin"] and entry.contact_id == titular.contact_id
    assert entry.detail["reason"] == "pedido do titular por e-mail" and entry.detail["messages"] == erased["messages"]


async def test_the_opted_out_number_stays_opted_out_and_starts_fresh(harness: Harness) -> None:
    h = harness
    world = await build_world(h)
    titular = world.titular
    national = int(titular.national)
    assert national in h.kolmeya.state.blacklist
    assert (await _erase(h, titular.contact_id)).status_code == 200
    await settle(h)
    assert national in h.kolmeya.state.blacklist  # the provider's copy is kept: the opt-out requires it
    from atende.actions.consents import opted_out_numbers

    async with h.rt.read() as conn:  # what bulk sends (campaigns) check: erased numbers included
        found = await opted_out_numbers(conn, h.rt.identity_key, "sms", [titular.phone, world.other.phone])
    assert found == {titular.phone}

    # Sending to the number again: a new contact, opted out at birth; the send is refused.
    r = await h.post("/api/v1/messages", {"connector_id": world.sms["id"], "to": titular.phone, "text": "Oferta!"})
    assert r.status_code == 409 and r.json()["code"] == "opted_out"
    # The customer writes on WhatsApp: a fresh contact with no history, and still opted out of SMS.
    from atende.testing.fake_graph import contact_entry, text_message

    r = await post_webhook(h, world.whatsapp, h.graph.build_message_webhook(
        [text_message(titular.wa, "Oi de novo")], [contact_entry(titular.wa, "Jo")]))
    assert r.status_code == 200
    async with h.rt.read() as conn:
        fresh = (await conn.execute(select(contacts).join(contact_identities).where(
            contact_identities.c.kind == "phone", contact_identities.c.value == titular.phone))).one()
        history = await conn.scalar(select(func.count()).select_from(messages).where(
            messages.c.contact_id == fresh.id))
        ledger = list(await conn.execute(select(consents).where(consents.c.contact_id == fresh.id)))
    assert fresh.id != titular.contact_id and fresh.name == "Jo" and fresh.sms_opted_out
    assert history == 1  # the new message only
    assert [(e.channel, e.opted_out, e.source) for e in ledger] == [("sms", True, "retained")]
    timeline = (await h.get(f"/api/v1/contacts/{fresh.id}/timeline")).json()["items"]
    assert [m["text"] for m in timeline] == ["Oi de novo"]


async def test_erasure_is_for_admins_and_dpo_with_a_reason(harness: Harness) -> None:
    h = harness
    await h.add_user("dora", "dpo")
    world = await build_world(h, opt_out=False)
    for who in ("ana", "supervisor"):
        r = await _erase(h, world.titular.contact_id, who=who)
        assert r.status_code == 403, r.text
    r = await h.post(f"/api/v1/contacts/{world.titular.contact_id}/erase", {"reason": ""})
    assert r.status_code == 422
    assert (await h.post("/api/v1/contacts/999999/erase", {"reason": "x"})).status_code == 404
    r = await _erase(h, world.titular.contact_id, who="dora")
    assert r.status_code == 200, r.text


async def test_legal_hold_blocks_erasure(harness: Harness) -> None:
    h = harness
    world = await build_world(h, opt_out=False)
    conv = world.titular.conversation_ids[0]
    r = await h.client.put(f"/api/v1/conversations/{conv}/legal-hold", json={"reason": "processo 123"},
                           headers=h.auth("supervisor"))
    assert r.status_code == 200 and r.json()["legal_hold"] is True
    r = await _erase(h, world.titular.contact_id)
    assert r.status_code == 409 and r.json()["code"] == "legal_hold"
    r = await h.client.delete(f"/api/v1/conversations/{conv}/legal-hold", headers=h.auth("supervisor"))
    assert r.status_code == 200 and r.json()["legal_hold"] is False
    assert (await _erase(h, world.titular.contact_id)).status_code == 200
