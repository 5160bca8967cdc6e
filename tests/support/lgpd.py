"""LGPD test kit: two customers with history on WhatsApp and SMS, and scanners that look for their
data in every table (FTS shadow tables included) and in the media store."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from atende.db.tables import contacts, conversations, messages
from atende.testing.fake_graph import contact_entry, media_message, message_item, text_message
from tests.support.harness import Harness
from tests.support.whatsapp import post_webhook, settle


@dataclass
class Person:
    """A customer with distinctive data, so that a scan can tell their traces from anything else."""

    name: str
    phone: str  # E.164
    texts: list[str]
    image: bytes
    cpf: str
    edit: tuple[str, str]  # a WhatsApp message and what the customer edited it to (both versions kept)
    contact_id: int = 0
    conversation_ids: list[int] = field(default_factory=list)

    @property
    def wa(self) -> str:
        return self.phone.lstrip("+")

    @property
    def national(self) -> str:
        return self.wa[2:]

    def needles(self) -> list[str]:
        """What must not survive an erasure: name parts, every spelling of the number, texts, CPF."""
        words = [w for w in self.name.split() if len(w) >= 5]
        distinctive = [w for t in [*self.texts, *self.edit] for w in t.replace(",", " ").split()
                       if len(w) >= 9 and w.isalpha()]
        cpf = f"{self.cpf[:3]}.{self.cpf[3:6]}.{self.cpf[6:9]}-{self.cpf[9:]}"
        without_ninth = self.wa[:4] + self.wa[5:]  # the pre-9th-digit spelling WhatsApp may use
        return sorted({*words, self.wa, self.national, without_ninth, self.cpf, cpf, *distinctive})


TITULAR = Person(
    name="Joaquina Xavantina Quibebeira",
    phone="+5521998877665",
    texts=["Meu CPF é 529.982.247-25, moro na rua Paralelepipedal",
           "Segue a foto do hidrometrozinho quebrado",
           "Obrigada, pagamento efetuado via transferenciazinha"],
    image=b"\xff\xd8\xff\xe0JFIF-titular-" + b"QUIBEBEIRA-PIXELS" * 64,
    cpf="52998224725",
    edit=("Meu apartamento fica no condominio Zabumbeirinha", "Meu apartamento fica no bloco Cacimbinhazona"),
)
OTHER = Person(
    name="Bartolomeu Zumbirosco Outrovilla",
    phone="+5531977665544",
    texts=["Quero cancelar meu plano desnecessariamente",
           "Foto do contratozinho anexada",
           "Valeu pela ajudazinha extraordinaria"],
    image=b"\xff\xd8\xff\xe0JFIF-outro-" + b"OUTROVILLA-PIXELS" * 64,
    cpf="11144477735",
    edit=("Meu endereço novo fica em Pirapitingueira", "Meu endereço novo fica em Tamanduazinhos"),
)


@dataclass
class World:
    whatsapp: dict[str, Any]
    sms: dict[str, Any]
    titular: Person
    other: Person


async def _whatsapp_history(h: Harness, c: dict[str, Any], p: Person) -> int:
    """Text with a CPF, an image with a caption, an agent's answer and an internal note."""
    g = h.graph
    r = await post_webhook(h, c, g.build_message_webhook([text_message(p.wa, p.texts[0])],
                                                         [contact_entry(p.wa, p.name)]))
    assert r.status_code == 200, r.text
    image_id = g.add_media(p.image, "image/jpeg")
    r = await post_webhook(h, c, g.build_message_webhook(
        [media_message(p.wa, "image", image_id, "image/jpeg", caption=p.texts[1])], [contact_entry(p.wa, p.name)]))
    assert r.status_code == 200, r.text
    await settle(h)
    async with h.rt.read() as conn:
        conv_id = int(await conn.scalar(select(messages.c.conversation_id).where(
            messages.c.text == p.texts[0])) or 0)
    assert conv_id
    # An edited message: the earlier version stays in its attributes (issue 13), erasure must take both.
    wamid = f"wamid.EDITED.{p.wa}"
    for item in (text_message(p.wa, p.edit[0], wamid=wamid),
                 message_item(p.wa, "edit", {"original_message_id": wamid,
                                             "message": {"type": "text", "text": {"body": p.edit[1]}}})):
        r = await post_webhook(h, c, g.build_message_webhook([item], [contact_entry(p.wa, p.name)]))
        assert r.status_code == 200, r.text
    await settle(h)
    async with h.rt.read() as conn:
        edited = (await conn.execute(select(messages.c.text, messages.c.attributes).where(
            messages.c.provider_message_id == wamid))).one()
    assert edited.text == p.edit[1] and edited.attributes["original_text"] == p.edit[0]
    r = await h.post(f"/api/v1/conversations/{conv_id}/messages", {"text": f"Olá {p.name.split()[0]}, recebemos."})
    assert r.status_code == 202, r.text
    r = await h.post(f"/api/v1/conversations/{conv_id}/messages", {"kind": "note",
                                                                   "text": f"Cliente {p.name} ligou também"})
    assert r.status_code == 202, r.text
    await settle(h)
    return conv_id


async def _sms_history(h: Harness, c: dict[str, Any], p: Person) -> int:
    """Our SMS, the customer's answer (through the webhook), then SAIR."""
    r = await h.post("/api/v1/messages", {"connector_id": c["id"], "to": p.phone,
                                          "text": f"{p.name.split()[0]}, sua fatura vence amanhã."})
    assert r.status_code == 202, r.text
    conv_id = int(r.json()["conversation_id"])
    await h.drain()
    sent = [m for m in h.kolmeya.state.sent if m.phone in (int(p.national), p.national)]
    assert sent, "the SMS did not reach the fake"
    await h.kolmeya.send_reply(sent[-1].id, p.texts[2])
    await settle(h)
    return conv_id


async def build_world(h: Harness, *, opt_out: bool = True) -> World:
    wa = await h.whatsapp_connector()
    sms = await h.kolmeya_connector()
    titular, other = replace(TITULAR), replace(OTHER)
    for p in (titular, other):
        p.conversation_ids = [await _whatsapp_history(h, wa, p), await _sms_history(h, sms, p)]
        async with h.rt.read() as conn:
            p.contact_id = int(await conn.scalar(select(conversations.c.contact_id).where(
                conversations.c.id == p.conversation_ids[0])) or 0)
            sms_contact = await conn.scalar(select(conversations.c.contact_id).where(
                conversations.c.id == p.conversation_ids[1]))
        assert sms_contact == p.contact_id, "one person, one contact across channels"
        r = await h.client.patch(f"/api/v1/contacts/{p.contact_id}", json={"name": p.name}, headers=h.auth())
        assert r.status_code == 200, r.text
    if opt_out:
        sent = [m for m in h.kolmeya.state.sent if m.phone in (int(titular.national), titular.national)]
        await h.kolmeya.send_reply(sent[-1].id, "SAIR")
        await settle(h)
        for _ in range(3):  # confirmation, then the blacklist sync it triggers
            await h.drain()
        async with h.rt.read() as conn:
            assert await conn.scalar(select(contacts.c.sms_opted_out).where(contacts.c.id == titular.contact_id))
    return World(wa, sms, titular, other)


# ---- scanners -----------------------------------------------------------------------------------

def fold(value: str) -> str:
    """Lower case without accents: how full-text indexes keep words."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _variants(needle: str) -> list[str]:
    """The needle, and its tails: FTS5 stores terms prefix-compressed against their neighbour."""
    n = fold(needle)
    return [n] + [n[k:] for k in range(1, 4) if len(n) - k >= 7]


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    return str(value)


async def table_names(h: Harness) -> list[str]:
    async with h.rt.read() as conn:
        if conn.dialect.name == "sqlite":
            rows = await conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND name NOT LIKE 'sqlite_%' ORDER BY name"))
        else:
            rows = await conn.execute(text("SELECT table_name FROM information_schema.tables WHERE "
                                           "table_schema = current_schema() AND table_type = 'BASE TABLE' "
                                           "ORDER BY table_name"))
        return [r[0] for r in rows]


async def scan_database(h: Harness, needles: list[str]) -> list[tuple[str, str]]:
    """Every row of every table (FTS shadow tables too) as text; (table, needle) for each hit."""
    hits: list[tuple[str, str]] = []
    wanted = {n: _variants(n) for n in needles}
    for table in await table_names(h):
        async with h.rt.read() as conn:
            if conn.dialect.name == "sqlite":
                rows = [" ".join(_as_text(v) for v in r) for r in await conn.execute(text(f'SELECT * FROM "{table}"'))]
            else:
                rows = [_as_text(r[0]) for r in await conn.execute(text(f'SELECT CAST(t AS TEXT) FROM "{table}" t'))]
        for row in rows:
            folded = fold(row)
            for needle, variants in wanted.items():
                if any(v in folded for v in variants) and (table, needle) not in hits:
                    hits.append((table, needle))
    return hits


def scan_sqlite_files(database: Path, needles: list[str]) -> list[tuple[str, str]]:
    """The raw bytes of the SQLite file and its write-ahead log: (file, needle) for each ASCII needle
    still there, in a live row, a free page or an old page image."""
    hits = []
    for path in (database, database.with_name(database.name + "-wal")):
        if not path.exists():
            continue
        data = path.read_bytes()
        for needle in needles:
            if needle.isascii() and needle.encode() in data:
                hits.append((path.name, needle))
    return hits


def scan_media(root: Path, needles: list[str], blobs: list[bytes]) -> list[str]:
    """Files under the media folder holding one of the blobs or needles."""
    hits = []
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        folded = fold(data.decode("latin-1"))
        if any(b in data for b in blobs) or any(fold(n) in folded for n in needles):
            hits.append(str(path.relative_to(root)))
    return hits


async def seed_campaign_traces(h: Harness, world: World) -> None:
    """What the campaigns issue keeps outside conversations, for both customers: an unanswered
    campaign SMS (its rendered text and variables), a line of an uploaded list excluded as written,
    and a satisfaction comment on their WhatsApp attendance."""
    from datetime import timedelta
    from decimal import Decimal

    from atende.db.tables import attendances, campaign_exclusions, campaign_recipients, campaigns
    from atende.db.types import utcnow

    now = utcnow()
    async with h.rt.write() as tx:
        campaign_id = (await tx.conn.execute(campaigns.insert().values(
            name="Cobrança de março", connector_id=world.sms["id"], channel="sms", status="done",
            rate_per_minute=60, recipients=2, sent=2, segments=2, cost=Decimal("0.10"), created_at=now,
            updated_at=now).returning(campaigns.c.id))).scalar_one()
        for row_no, p in enumerate((world.titular, world.other), start=1):
            first = p.name.split()[0]
            await tx.conn.execute(campaign_recipients.insert().values(
                campaign_id=campaign_id, connector_id=world.sms["id"], row_no=row_no, address_key=p.phone,
                vars={"nome": p.name}, text=f"{first}, sua fatura {p.edit[1].split()[-1]} vence hoje",
                segments=1, cost=Decimal("0.05"), state="delivered", provider_message_id=f"kol-{p.wa}",
                sent_at=now - timedelta(days=3), delivered_at=now - timedelta(days=3)))
            await tx.conn.execute(campaign_exclusions.insert().values(
                campaign_id=campaign_id, row_no=10 + row_no, phone=f"({p.national[:2]}) {p.national[2:]}",
                reason="duplicate"))
            await tx.conn.execute(attendances.update().where(
                attendances.c.conversation_id == p.conversation_ids[0]).values(
                csat_rating=4, csat_comment=f"Gostei, mas {p.edit[0].split()[-1]} demorou", csat_answered_at=now))
