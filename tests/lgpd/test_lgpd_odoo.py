"""Erasure of a contact linked to Odoo: the link goes, the partner's chatter is told (with no content),
transcripts not posted yet never are, and the copy of the partner's data leaves atende."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import select

from atende.db.tables import chatroom_links, contacts, odoo_partners, odoo_transcripts
from tests.support.harness import Harness
from tests.support.lgpd import scan_database
from tests.support.odoo import OdooSide, attach_odoo, configure, inbound_sms

NAME = "Quitéria Zanzibarina Pontescura"
PHONE = "5548991910234"
CPF = "529.982.247-25"
EMAIL = "quiteria.zanzibar@example.org"


def _notes(side: OdooSide, partner_id: int) -> list[dict[str, Any]]:
    return [m for m in side.fake.store.records["mail.message"].values()
            if m["model"] == "res.partner" and m["res_id"] == partner_id]


async def test_erasure_unlinks_the_partner_and_notes_it_without_content(harness: Harness) -> None:
    h = harness
    side = attach_odoo(h)
    partner = side.partner(NAME, mobile="(48) 99191-0234", vat=CPF, email=EMAIL)
    assert (await configure(h, side)).json()["ok"]
    c = await h.kolmeya_connector()
    conv = await inbound_sms(h, c, PHONE, "Meu pedido Zumbificado não chegou", "1")
    await h.drain()  # partner lookup: linked, and its data copied for the contact panel
    contact_id = conv["contact"]["id"]
    async with h.rt.read() as conn:
        assert await conn.scalar(select(contacts.c.odoo_partner_id).where(contacts.c.id == contact_id)) == partner
        assert await conn.scalar(select(odoo_partners.c.vat).where(odoo_partners.c.id == partner)) == CPF
    await h.post(f"/api/v1/conversations/{conv['id']}/messages", {"text": "Vou verificar."}, who="ana")
    await h.post(f"/api/v1/conversations/{conv['id']}/close", who="ana")
    await h.drain()
    assert len(_notes(side, partner)) == 1  # the transcript of the first attendance, before the request
    # The customer writes again; an attendance is open when the erasure comes.
    await inbound_sms(h, c, PHONE, "Alguma novidade Zumbificado?", "2")
    await h.drain()

    async with h.rt.write() as tx:  # as if the conversation had come from a ChatRoom import
        await tx.conn.execute(chatroom_links.insert().values(
            source="chatroom", model="conversation", remote_id=77, local_id=conv["id"], remote_partner_id=partner))

    exported = await h.get(f"/api/v1/contacts/{contact_id}/export")
    with zipfile.ZipFile(io.BytesIO(exported.content)) as zf:
        odoo = json.loads(zf.read("dados.json"))["odoo"]
    assert odoo["partner_id"] == partner and odoo["vat"] == CPF and odoo["email"] == EMAIL

    r = await h.post(f"/api/v1/contacts/{contact_id}/erase", {"reason": "pedido do titular"})
    assert r.status_code == 200, r.text
    await h.drain()

    notes = _notes(side, partner)
    assert len(notes) == 2  # the erasure note, and no transcript of the attendance the erasure closed
    body = notes[-1]["body"]
    assert "removidos (LGPD)" in body and f"[atende:remocao:{contact_id}]" in body
    for secret in ("Zumbificado", NAME, "Quitéria", PHONE, "99191", CPF, EMAIL):
        assert secret not in body, secret
    async with h.rt.read() as conn:
        assert await conn.scalar(select(contacts.c.odoo_partner_id).where(contacts.c.id == contact_id)) is None
        assert await conn.scalar(select(odoo_partners.c.id).where(odoo_partners.c.id == partner)) is None
        statuses = [r.status for r in await conn.execute(select(odoo_transcripts.c.status))]
        link = (await conn.execute(select(chatroom_links.c.local_id, chatroom_links.c.remote_partner_id)
                                   .where(chatroom_links.c.remote_id == 77))).one()
    assert tuple(link) == (conv["id"], None)  # a re-import still skips it, and it names no partner
    assert "pending" not in statuses
    assert await scan_database(h, ["Zanzibarina", "Pontescura", "Zumbificado", PHONE, "48991910234", CPF,
                                   "52998224725", EMAIL]) == []

    # A retried job does not post twice.
    from atende.integrations.odoo.jobs import post_erasure_note

    class Job:
        payload = {"partner_id": partner, "contact_id": contact_id}
        attempts = 2

    await post_erasure_note(h.rt, Job())
    assert len(_notes(side, partner)) == 2
