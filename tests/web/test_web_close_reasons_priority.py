"""Close reasons (a list supervisors edit, optional on close, counted for reports) and priority."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from atende.db.tables import attendances, audit_log, events
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]
DEFAULTS = ["Resolvido", "Sem retorno do cliente", "Engano / número errado", "Spam"]


async def reason_ids(h: Harness) -> dict[str, int]:
    r = await h.get("/api/v1/close-reasons", who="ana")
    assert r.status_code == 200
    return {i["name"]: i["id"] for i in r.json()["items"]}


async def test_supervisors_edit_the_list_agents_use_it(harness: Harness) -> None:
    h = harness
    assert list(await reason_ids(h)) == DEFAULTS  # a new installation starts with these, in this order
    assert (await h.post("/api/v1/close-reasons", {"name": "Pedido entregue"}, who="ana")).status_code == 403
    r = await h.post("/api/v1/close-reasons", {"name": "  Pedido   entregue "}, who="supervisor")
    assert r.status_code == 201 and r.json()["name"] == "Pedido entregue" and r.json()["position"] == 4
    assert (await h.post("/api/v1/close-reasons", {"name": "Pedido entregue"}, who="supervisor")).status_code == 409
    spam = (await reason_ids(h))["Spam"]
    r = await h.client.patch(f"/api/v1/close-reasons/{spam}", json={"active": False}, headers=h.auth("supervisor"))
    assert r.status_code == 200 and r.json()["active"] is False
    assert "Spam" not in await reason_ids(h)  # retired: no longer offered...
    every = (await h.get("/api/v1/close-reasons", params={"all": "true"})).json()["items"]
    assert any(i["name"] == "Spam" and not i["active"] for i in every)  # ...but kept
    async with h.rt.read() as conn:
        logged = list(await conn.scalars(select(audit_log.c.action).where(audit_log.c.target_type == "close_reason")
                                     .order_by(audit_log.c.id)))
    assert logged == ["close_reason.create", "close_reason.update"]

    conv = (await sms_conversation(h))["conversation"]
    r = await h.post(f"/api/v1/conversations/{conv['id']}/close", {"reason_id": spam}, who="ana")
    assert r.status_code == 422 and r.json()["code"] == "close_reason"
    resolved = (await reason_ids(h))["Resolvido"]
    r = await h.post(f"/api/v1/conversations/{conv['id']}/close", {"reason_id": resolved}, who="ana")
    assert r.status_code == 200 and r.json()["status"] == "done"
    async with h.rt.read() as conn:
        reason = await conn.scalar(select(attendances.c.close_reason_id)
                                   .where(attendances.c.conversation_id == conv["id"]))
        payload = await conn.scalar(select(events.c.payload).where(events.c.type == "conversation.closed",
                                                                   events.c.conversation_id == conv["id"]))
    assert reason == resolved and payload["reason"] == "Resolvido" and payload["reason_id"] == resolved
    # Closing without a reason still works (the body is optional, as before).
    other = (await sms_conversation(h, to="+5511988887771"))["conversation"]
    assert (await h.post(f"/api/v1/conversations/{other['id']}/close", who="ana")).status_code == 200


async def test_summary_counts_attendances_per_reason(harness: Harness) -> None:
    h = harness
    ids = await reason_ids(h)
    phones = ["+5548991910234", "+5511988887771", "+5521977776662", "+5531966665553"]
    reasons = [ids["Resolvido"], ids["Resolvido"], ids["Spam"], None]
    for phone, reason in zip(phones, reasons, strict=True):
        conv = (await sms_conversation(h, to=phone))["conversation"]
        body = {"reason_id": reason} if reason else None
        assert (await h.post(f"/api/v1/conversations/{conv['id']}/close", body, who="ana")).status_code == 200
    r = await h.get("/api/v1/close-reasons/summary", who="supervisor")
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["total"] == 4
    assert [(i["name"], i["closed"]) for i in data["items"]] == [("Resolvido", 2), (None, 1), ("Spam", 1)]
    sms_only = (await h.get("/api/v1/close-reasons/summary", params={"channel": "whatsapp"})).json()
    assert sms_only["total"] == 0 and sms_only["items"] == []
    assert (await h.get("/api/v1/close-reasons/summary", who="ana")).status_code == 403
    assert (await h.get("/api/v1/close-reasons/summary", params={"from": "2026-13-01"})).status_code == 422
    assert (await h.get("/api/v1/close-reasons/summary", params={"tz": "Mars/Base"})).status_code == 422
    old = (await h.get("/api/v1/close-reasons/summary", params={"from": "2020-01-01", "to": "2020-01-31"})).json()
    assert old["total"] == 0


async def test_chat_header_offers_reasons_and_shows_the_one_chosen(harness: Harness, pages: Pages) -> None:
    h = harness
    conv = (await sms_conversation(h))["conversation"]
    ana = await pages("ana")
    header = (await ana.get(f"/conversations/{conv['id']}/header")).text
    options = re.findall(r'<select id="close-reason-\d+"[^>]*>(.*?)</select>', header, re.S)[0]
    assert re.findall(r">([^<]+)</option>", options) == ["Motivo (opcional)", *DEFAULTS]
    assert f'hx-include="#close-reason-{conv["id"]}"' in header
    wrong = (await reason_ids(h))["Engano / número errado"]
    assert (await ana.post(f"/conversations/{conv['id']}/take")).status_code == 200  # hers: she reads it after
    r = await ana.post(f"/conversations/{conv['id']}/close", {"reason_id": str(wrong)})
    assert r.status_code == 200
    assert 'data-testid="closed-reason"' in r.text and "Engano / número errado" in r.text
    thread = (await ana.get(f"/conversations/{conv['id']}/thread?after_msg=0&after_event=0")).text
    assert "Concluída por Ana · Engano / número errado" in thread
    # An empty choice closes without a reason.
    other = (await sms_conversation(h, to="+5511988887771"))["conversation"]
    r = await ana.post(f"/conversations/{other['id']}/close", {"reason_id": ""})
    assert r.status_code == 200 and 'data-testid="closed-reason"' not in r.text


async def test_settings_page_for_close_reasons(harness: Harness, pages: Pages) -> None:
    sup = await pages("supervisor")
    html = (await sup.get("/settings/close-reasons")).text
    assert all(name in html for name in DEFAULTS) and 'aria-current="page">Motivos de encerramento' in html
    r = await sup.post("/settings/close-reasons", {"name": "Pedido entregue"})
    assert r.status_code == 204 and r.headers["HX-Redirect"] == "/settings/close-reasons"
    ids = await reason_ids(harness)
    r = await sup.post(f"/settings/close-reasons/{ids['Spam']}", {"name": "Spam", "active": "0"})
    assert r.status_code == 204 and "Spam" not in await reason_ids(harness)
    r = await sup.post("/settings/close-reasons", {"name": "Resolvido"}, htmx=False)
    assert r.status_code == 409 and "já existe um motivo com este nome" in r.text
    ana = await pages("ana")
    assert (await ana.get("/settings/close-reasons")).status_code == 403
    assert (await ana.post("/settings/close-reasons", {"name": "X"})).status_code == 403


async def test_priority_on_conversations_cards_and_lists(harness: Harness, pages: Pages) -> None:
    h = harness
    conv = (await sms_conversation(h))["conversation"]
    assert conv["priority"] == "normal"
    r = await h.post(f"/api/v1/conversations/{conv['id']}/priority", {"priority": "urgent"}, who="ana")
    assert r.status_code == 200 and r.json()["priority"] == "urgent"
    assert (await h.post(f"/api/v1/conversations/{conv['id']}/priority", {"priority": "max"})).status_code == 422
    listed = (await h.get("/api/v1/conversations")).json()["items"]
    assert listed[0]["priority"] == "urgent"
    async with h.rt.read() as conn:
        payload = await conn.scalar(select(events.c.payload).where(events.c.type == "conversation.priority"))
    assert {k: payload[k] for k in ("id", "priority", "previous_priority", "actor_id")} == {
        "id": conv["id"], "priority": "urgent", "previous_priority": "normal", "actor_id": h.user_ids["ana"]}
    ana = await pages("ana")
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert 'data-testid="card-priority">Urgente<' in card and 'data-priority="urgent"' in card
    r = await ana.post(f"/conversations/{conv['id']}/priority", {"priority": "low"})
    assert r.status_code == 204 and r.headers["HX-Trigger"] == "atende:header-refresh"
    header = (await ana.get(f"/conversations/{conv['id']}/header")).text
    assert 'data-testid="chat-priority">Baixa<' in header and '<option value="low" selected>' in header
    assert (await ana.post(f"/conversations/{conv['id']}/priority", {"priority": "zzz"})).status_code == 422
    # Another agent's conversation: not hers to see (auth.policy), let alone change.
    await h.post(f"/api/v1/conversations/{conv['id']}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    assert (await ana.post(f"/conversations/{conv['id']}/priority", {"priority": "high"})).status_code == 404
    r = await h.post(f"/api/v1/conversations/{conv['id']}/priority", {"priority": "high"}, who="ana")
    assert r.status_code in (403, 404)


async def test_priority_as_a_sort_option(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    levels = ["high", "low", "urgent", "normal", "urgent", "high"]
    ids: list[int] = []
    for i, level in enumerate(levels):
        conv = (await sms_conversation(h, to=f"+551198765{4300 + i}", connector=c, reply=None))["conversation"]
        assert (await h.post(f"/api/v1/conversations/{conv['id']}/priority", {"priority": level})).status_code == 200
        ids.append(conv["id"])
    rank = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
    # Within a level the newest activity comes first: the later conversation of the pair.
    expected = sorted(ids, key=lambda cid: (rank[levels[ids.index(cid)]], cid), reverse=True)
    seen: list[int] = []
    cursor = None
    while True:  # two at a time: every page boundary falls inside or between levels
        r = await h.get("/api/v1/conversations", params={"order": "priority", "limit": 2,
                                                          **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        seen += [i["id"] for i in r.json()["items"]]
        if not (cursor := r.json()["next_cursor"]):
            break
    assert seen == expected
    recent = (await h.get("/api/v1/conversations", params={"limit": 2})).json()
    assert [i["id"] for i in recent["items"]] == ids[::-1][:2]  # the default order is untouched
    bad = await h.get("/api/v1/conversations", params={"order": "priority", "cursor": recent["next_cursor"]})
    assert bad.status_code == 400  # a cursor belongs to its sort
    assert (await h.get("/api/v1/conversations", params={"order": "oldest"})).status_code == 422

    ana = await pages("admin")  # sees every conversation (these were sent by the admin, and are closed)
    html = (await ana.get("/board?s=priority")).text
    on_board = [int(x) for x in re.findall(r'id="card-(\d+)"', html)]
    assert on_board == [cid for cid in expected if cid in on_board] and len(on_board) == len(ids)
    assert re.search(r'class="chip active" data-sort-key="priority"', html)
    assert 'name="s" value="priority"' in html  # a search keeps the sort
    keys = [int(k) for k in re.findall(r'data-sort="(\d+)"', html)]  # one column holds them all
    assert len(keys) == len(ids) and keys == sorted(keys, reverse=True)  # live cards insert by it
    html = (await ana.get("/inbox?s=priority")).text
    assert [int(x) for x in re.findall(r'id="item-(\d+)"', html)] == expected
    assert f"/conversations/{expected[0]}?f=all&amp;s=priority" in html  # opening one keeps the sort
    fragment = (await ana.get(f"/fragments/conversation/{ids[2]}?s=priority&view=card")).text
    assert re.search(r'data-sort="3\d{13}"', fragment)  # urgent leads the key
