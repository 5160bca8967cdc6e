"""`atende import chatroom` against a generated ChatRoom installation in the fake Odoo: counts equal,
a sample equal field by field, media bytes equal, re-runs add nothing, incremental runs add exactly
what is new, interrupted runs resume, mapped connectors continue, history is never sent."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import func, select

from atende.cli import _parser
from atende.db.tables import (
    chatroom_links,
    connectors,
    contacts,
    conversation_counts,
    conversations,
    jobs,
    media,
    messages,
    users,
)
from atende.integrations.odoo import chatroom_import as importer
from atende.integrations.odoo import chatroom_map as cmap
from atende.integrations.odoo.bridge import bridge
from atende.integrations.odoo.chatroom_cli import run
from atende.testing.fake_odoo import ChatRoomData, odoo_datetime, populate_chatroom
from tests.support.harness import Harness
from tests.support.odoo import ODOO_DB, ODOO_LOGIN, ODOO_URL, OdooSide, attach_odoo, configure
from tests.support.whatsapp import inbound

CONVERSATION = "acrux.chat.conversation"
MESSAGE = "acrux.chat.message"


async def _setup(h: Harness, **kw: Any) -> tuple[OdooSide, ChatRoomData]:
    side = attach_odoo(h)
    data = populate_chatroom(side.fake, conversations=kw.pop("conversations", 30), messages=kw.pop("messages", 450),
                             **kw)
    assert (await configure(h, side)).json()["ok"]
    return side, data


async def _cli(h: Harness, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await run(h.rt, _parser().parse_args(["import", "chatroom", *argv]), out)
    return code, out.getvalue()


async def _run(h: Harness, **options: Any) -> importer.Report:
    client = await bridge(h.rt).client()
    return await importer.Importer(h.rt, client, importer.Options(**options)).run()


async def _count(h: Harness, table: Any, *where: Any) -> int:
    async with h.rt.read() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def _imported(h: Harness, remote_connector: int, message_id: int) -> Any:
    async with h.rt.read() as conn:
        return (await conn.execute(select(messages).where(
            messages.c.provider_message_id == importer.provider_id(remote_connector, message_id)))).first()


async def _local_conversation(h: Harness, remote_id: int) -> Any:
    async with h.rt.read() as conn:
        return (await conn.execute(select(conversations).select_from(
            chatroom_links.join(conversations, conversations.c.id == chatroom_links.c.local_id)).where(
            chatroom_links.c.model == "conversation", chatroom_links.c.remote_id == remote_id))).first()


async def _snapshot(h: Harness) -> dict[str, Any]:
    async with h.rt.read() as conn:
        board = {(r.channel, r.status, r.assignee_id): int(r.n) for r in await conn.execute(select(
            conversation_counts)) if r.n}
        stats = {int(r.id): (int(r.sent_count), int(r.received_count)) for r in await conn.execute(select(
            connectors.c.id, connectors.c.sent_count, connectors.c.received_count))}
    return {"messages": await _count(h, messages), "conversations": await _count(h, conversations),
            "contacts": await _count(h, contacts), "media": await _count(h, media), "board": board, "stats": stats,
            "users": await _count(h, users)}


async def test_counts_sample_and_media_are_equal(harness: Harness) -> None:
    h = harness
    async with h.rt.write() as tx:  # an agent who already has an atende account keeps it
        from atende.actions.users import create_user

        known = await create_user(tx, email="agente1@empresa.com.br", password="s3nha-forte", name="Agente Um",
                                  role="agent")
    side, data = await _setup(h)
    code, text = await _cli(h, "--verify")
    assert code == 0, text
    assert "todas as contagens batem" in text and "DIFERENTE" not in text
    for warning in ("ttype desconhecido", "msgid duplicado", "anexo sem conteúdo", "número antigo de 12 dígitos"):
        assert warning in text, warning
    fake = side.fake
    assert await _count(h, messages, messages.c.provider_message_id.like("chatroom:%")) == len(data.messages)
    assert await _count(h, chatroom_links, chatroom_links.c.model == "conversation") == len(data.conversations)
    assert await _count(h, connectors, connectors.c.provider == "history", connectors.c.active.is_(False)) == 10

    # Every ttype, field by field.
    seen: set[str] = set()
    for mid in data.messages:
        record = fake.store.records[MESSAGE][mid]
        if record["ttype"] in seen:
            continue
        seen.add(record["ttype"])
        row = await _imported(h, record["connector_id"], mid)
        assert row is not None, mid
        kind, _ = cmap.kind_of(record["ttype"])
        assert row.kind == kind
        assert row.text == (record.get("text") or None)
        assert row.created_at == cmap.odoo_time(record["date_message"])
        from_me = bool(record["from_me"]) or kind == "event"
        assert row.direction == ("out" if from_me else "in")
        if not from_me:
            assert row.status == "received" and row.read_at == cmap.odoo_time(record.get("read_date"))
        assert row.attributes["chatroom_id"] == mid and row.attributes.get("msgid") == record.get("msgid")
        if from_me and kind != "event" and record.get("user_id"):
            login = fake.store.records["res.users"][record["user_id"]]["login"]
            async with h.rt.read() as conn:
                assert await conn.scalar(select(users.c.email).where(users.c.id == row.author_id)) == login
    assert seen >= {"text", "image", "audio", "video", "file", "sticker", "location", "contact", "url", "info",
                    "product"}
    failed = [m for m in data.messages if fake.store.records[MESSAGE][m].get("error_msg")]
    assert failed
    for mid in failed:
        record = fake.store.records[MESSAGE][mid]
        row = await _imported(h, record["connector_id"], mid)
        assert row.status == "failed" and row.error == record["error_msg"]

    # Conversations: status, agent, address, partner.
    for cid in data.conversations:
        record = fake.store.records[CONVERSATION][cid]
        row = await _local_conversation(h, cid)
        assert row.status == cmap.status_of(record["status"])
        address = cmap.address_of(record["number"], row.channel)
        assert row.address == address.address
        if record["status"] == "current":
            login = fake.store.records["res.users"][record["agent_id"]]["login"]
            async with h.rt.read() as conn:
                assert await conn.scalar(select(users.c.email).where(users.c.id == row.assignee_id)) == login
        async with h.rt.read() as conn:
            contact = (await conn.execute(select(contacts).where(contacts.c.id == row.contact_id))).one()
        if record.get("res_partner_id"):
            partner = fake.store.records["res.partner"][record["res_partner_id"]]
            assert contact.odoo_partner_id == partner["id"] and contact.name == partner["name"]

    # Agents: matched by e-mail, or created inactive.
    async with h.rt.read() as conn:
        agents = {r.email: r for r in await conn.execute(select(users).where(users.c.email.like("agente%")))}
    assert agents["agente1@empresa.com.br"].id == known and agents["agente1@empresa.com.br"].active
    assert all(not u.active for email, u in agents.items() if email != "agente1@empresa.com.br")

    # Media: the same bytes, the same type.
    store = h.rt.media_store
    for mid, blob in data.attachments.items():
        record = fake.store.records[MESSAGE][mid]
        row = await _imported(h, record["connector_id"], mid)
        async with h.rt.read() as conn:
            file = (await conn.execute(select(media).where(media.c.id == row.media_id))).one()
        assert await store.get(file.storage_key) == blob
        attachment = fake.store.records["ir.attachment"][record["res_id"]]
        assert file.mime_type == attachment["mimetype"] and row.attributes["media"]["size"] == len(blob)
    for mid in data.bad["attachment_without_bytes"]:
        record = fake.store.records[MESSAGE][mid]
        row = await _imported(h, record["connector_id"], mid)
        assert row.media_id is None and row.attributes["media_error"]


async def test_history_keeps_counters_honest_and_is_never_sent(harness: Harness) -> None:
    h = harness
    _side, data = await _setup(h)
    assert (await _run(h)).messages == len(data.messages)
    async with h.rt.read() as conn:
        real = {(r.status, r.channel): int(r.n) for r in await conn.execute(
            select(conversations.c.status, conversations.c.channel, func.count().label("n"))
            .group_by(conversations.c.status, conversations.c.channel))}
        board = {}
        for r in await conn.execute(select(conversation_counts)):
            board[(r.status, r.channel)] = board.get((r.status, r.channel), 0) + int(r.n)
        for c in await conn.execute(select(connectors)):
            received = await conn.scalar(select(func.count()).select_from(messages).where(
                messages.c.connector_id == c.id, messages.c.direction == "in", messages.c.kind != "event"))
            sent = await conn.scalar(select(func.count()).select_from(messages).where(
                messages.c.connector_id == c.id, messages.c.direction == "out", messages.c.kind != "event",
                messages.c.status != "failed"))
            assert (c.sent_count, c.received_count) == (sent, received), c.name
        kinds = [r.kind for r in await conn.execute(select(jobs.c.kind))]
        failed_id = await conn.scalar(select(messages.c.id).where(messages.c.status == "failed").limit(1))
        unread = await conn.scalar(select(func.sum(conversations.c.unread)))
    assert {k: v for k, v in board.items() if v} == real
    assert not {"send_message", "fetch_media", "route", "odoo_link_partner", "odoo_transcript"} & set(kinds)
    assert unread == 0
    r = await h.post(f"/api/v1/messages/{failed_id}/retry", who="admin")
    assert r.status_code == 409 and "histórico" in r.json()["detail"]


async def test_rerun_adds_nothing_and_incremental_adds_what_is_new(harness: Harness) -> None:
    h = harness
    side, data = await _setup(h)
    await _run(h)
    before = await _snapshot(h)
    again = await _run(h)
    assert (again.conversations, again.messages, again.attachments, again.agents) == (0, 0, 0, 0)
    assert await _snapshot(h) == before

    fake = side.fake
    existing = data.conversations[0]
    connector = fake.store.records[CONVERSATION][existing]["connector_id"]
    later = odoo_datetime(fake.clock())
    new_conv = fake.create_record(CONVERSATION, {"name": "Novo", "number": "5548996660001", "connector_id": connector,
                                                 "status": "new", "last_activity": later, "company_id": 1})
    new_messages = [fake.create_record(MESSAGE, {"contact_id": conv, "connector_id": connector, "ttype": "text",
                                                 "text": f"nova {i}", "from_me": False, "date_message": later,
                                                 "company_id": 1})
                    for i, conv in enumerate([new_conv, new_conv, new_conv, existing, existing])]
    moved = next(c for c in data.conversations if fake.store.records[CONVERSATION][c]["status"] == "new")
    fake.write_record(CONVERSATION, moved, {"status": "done", "last_activity": later})
    unread = next(m for m in data.messages if not fake.store.records[MESSAGE][m].get("read_date")
                  and not fake.store.records[MESSAGE][m]["from_me"])
    fake.write_record(MESSAGE, unread, {"read_date": later})

    report = await _run(h)
    assert (report.conversations, report.messages) == (1, len(new_messages))
    assert report.updated_conversations == 1 and report.updated_messages >= 1
    after = await _snapshot(h)
    assert after["messages"] == before["messages"] + len(new_messages)
    assert after["conversations"] == before["conversations"] + 1
    assert (await _local_conversation(h, moved)).status == "done"
    row = await _imported(h, connector, unread)
    assert row.read_at == cmap.odoo_time(later)
    code, text = await _cli(h, "--verify")
    assert code == 0, text
    assert (await _run(h)).messages == 0


async def test_an_interrupted_run_resumes_from_its_checkpoint(harness: Harness) -> None:
    h = harness
    side, data = await _setup(h)
    side.fake.fail_next(model=MESSAGE, method="search_read", http_status=502, skip=2)
    with pytest.raises(importer.ImportFailed, match="indisponível"):
        await _run(h, message_page=100)
    stored = await _count(h, messages)
    assert stored == 200  # two pages made it, each with its checkpoint
    side.fake.log.clear()
    report = await _run(h, message_page=100)
    assert report.messages == len(data.messages) - 200
    first = next(c for c in side.fake.log if c["model"] == MESSAGE and c["method"] == "search_read")
    assert first["args"][0][0][:2] == ["id", ">"] and first["args"][0][0][2] >= 200  # resumed, not restarted
    assert all(c["kwargs"].get("limit") == 100 for c in side.fake.log
               if c["model"] == MESSAGE and c["method"] == "search_read")
    code, text = await _cli(h, "--verify")
    assert code == 0, text


async def test_mapped_connector_continues_the_imported_conversation(harness: Harness) -> None:
    h = harness
    side, data = await _setup(h)
    live = await h.whatsapp_connector()
    code, text = await _cli(h, "--connector-map", f"1={live['id']}", "--verify")
    assert code == 0, text
    fake = side.fake
    on_one = [c for c in data.conversations if fake.store.records[CONVERSATION][c]["connector_id"] == 1]
    old = next(c for c in on_one if c in data.bad["twelve_digit"])
    new = next(c for c in on_one if c not in data.bad["twelve_digit"])
    for remote in (old, new):
        imported_conv = await _local_conversation(h, remote)
        assert imported_conv.connector_id == live["id"]
        number = fake.store.records[CONVERSATION][remote]["number"]
        if len(number) == 12:  # WhatsApp now sends the 13-digit spelling of that subscriber
            number = number[:4] + "9" + number[4:]
        message = await inbound(h, live, from_=number, body="Oi, voltei")
        assert message["conversation_id"] == imported_conv.id
        after = await _local_conversation(h, remote)
        assert after.contact_id == imported_conv.contact_id and after.status in ("new", "open")
    assert await _count(h, jobs, jobs.c.kind == "send_message") == 0  # history is never sent


async def test_dry_run_and_clear_errors(harness: Harness) -> None:
    h = harness
    code, text = await _cli(h)
    assert code == 2 and "não está configurada" in text
    side, _data = await _setup(h)
    code, text = await _cli(h, "--dry-run")
    assert code == 0 and "novo conector só de histórico" in text and "simulação" in text
    assert await _count(h, conversations) == 0 and await _count(h, connectors) == 0
    code, text = await _cli(h, "--connector-map", "99=1")
    assert code == 2 and "não existe no ChatRoom" in text
    sms = await h.kolmeya_connector()
    code, text = await _cli(h, "--connector-map", f"1={sms['id']}")
    assert code == 2 and "é sms" in text
    code, text = await _cli(h, "--odoo-url", ODOO_URL)
    assert code == 2 and "juntos" in text
    code, text = await _cli(h, "--odoo-url", ODOO_URL, "--db", ODOO_DB, "--login", ODOO_LOGIN, "--api-key", "x" * 40)
    assert code == 2 and "chave de API" in text
    with pytest.raises(SystemExit):
        _parser().parse_args(["import", "chatroom", "--connector-map", "um=sete"])
    code, text = await _cli(h, "--odoo-url", ODOO_URL, "--db", ODOO_DB, "--login", ODOO_LOGIN,
                            "--api-key", side.api_key, "--since", "2024-03-01")
    assert code == 0, text
    code, text = await _cli(h, "--since", "2025-01-01")
    assert code == 2 and "--since 2024-03-01" in text


async def test_since_limits_the_history(harness: Harness) -> None:
    h = harness
    side, _data = await _setup(h)
    dates = sorted(r["date_message"] for r in side.fake.store.records[MESSAGE].values())
    cut = cmap.odoo_time(dates[-1]).date()  # the last day of the history
    assert dates[0] < f"{cut} 00:00:00"
    code, text = await _cli(h, "--since", cut.isoformat(), "--verify")
    assert code == 0, text
    expected = sum(1 for d in dates if d >= f"{cut} 00:00:00")
    assert await _count(h, messages) == expected


async def test_closing_imported_history_posts_no_transcript(harness: Harness) -> None:
    """Auto-close of an imported conversation must not flood the partners' chatter with ChatRoom history."""
    h = harness
    side, data = await _setup(h)
    await _run(h)
    current = next(c for c in data.conversations if side.fake.store.records[CONVERSATION][c]["status"] == "current"
                   and side.fake.store.records[CONVERSATION][c].get("res_partner_id"))
    conv = await _local_conversation(h, current)
    notes_before = len(side.fake.store.records["mail.message"])
    r = await h.post(f"/api/v1/conversations/{conv.id}/close", who="admin")
    assert r.status_code == 200, r.text
    await h.drain()
    from atende.db.tables import odoo_transcripts

    async with h.rt.read() as conn:
        row = (await conn.execute(select(odoo_transcripts))).one()
    assert row.status == "skipped" and len(side.fake.store.records["mail.message"]) == notes_before
