"""One authorization check per action, the same for the API and the pages (issue 7 §3): send, send by
address, template send, reaction, retry, reopen, mark read, take (a compare-and-set), transfer, close,
notes, contact edits, opt-outs; and the audit entries they leave."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select

from atende.db.tables import audit_log, contact_opt_outs, templates
from atende.db.types import utcnow
from tests.support.harness import Harness
from tests.teams.kit import conv, kolmeya, make_team, sms_in
from tests.web.pagekit import PageClient

Pages = Callable[[str], Awaitable[PageClient]]


async def _audit(h: Harness, action: str) -> list[Any]:
    async with h.rt.read() as conn:
        return list(await conn.execute(select(audit_log).where(audit_log.c.action == action)
                                       .order_by(audit_log.c.id)))


async def test_the_api_refuses_the_reply_the_page_refuses(harness: Harness, pages: Pages) -> None:
    """The bug of issue 7 §3: the page refused a reply in another agent's conversation that the REST API
    accepted, sent and billed. Now both ask the action, which asks the policy."""
    h = harness
    a = await kolmeya(h, 1)
    await make_team(h, "Cobrança", ["ana", "bruno"], [a], visibility="team")
    x = await sms_in(h, a, "+5511911110001")
    assert (await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
            ).status_code == 200
    page = await (await pages("bruno")).post(f"/conversations/{x}/send", {"text": "oi", "mode": "reply"})
    api = await h.post(f"/api/v1/conversations/{x}/messages", {"text": "oi"}, who="bruno")
    assert page.status_code == api.status_code == 403
    assert api.json()["detail"] == "conversa atribuída a outro agente"
    sent = [m for m in (await h.get(f"/api/v1/conversations/{x}/messages")).json()["items"] if m["direction"] == "out"]
    assert sent == [] and h.kolmeya.state.messages_to("5511911110001") == []


async def test_send_by_address_and_templates_follow_the_conversation_and_the_connector(harness: Harness) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["ana"], [a])
    await make_team(h, "Suporte", ["bruno"], [b])
    y = await sms_in(h, b, "+5511922220002")
    await h.post(f"/api/v1/conversations/{y}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    # Ana may not send on team B's connector at all, to a new number or to Bruno's customer.
    for to in ("+5511977770000", "+5511922220002"):
        r = await h.post("/api/v1/messages", {"connector_id": b["id"], "to": to, "text": "oi"}, who="ana")
        assert r.status_code == 403 and r.json()["detail"] == "este conector atende outra equipe"
    # On her own connector she starts conversations (and reads them: she handled them).
    r = await h.post("/api/v1/messages", {"connector_id": a["id"], "to": "+5511977770000", "text": "oi"}, who="ana")
    assert r.status_code == 202
    assert (await h.get(f"/api/v1/conversations/{r.json()['conversation_id']}", who="ana")).status_code == 200
    # A colleague's conversation in service is answered only by its holder, by address too.
    await h.add_user("carla", "agent")
    await h.client.patch(f"/api/v1/teams/{(await conv(h, y))['team_id']}",
                         json={"member_ids": [h.user_ids["bruno"], h.user_ids["carla"]]}, headers=h.auth())
    r = await h.post("/api/v1/messages", {"connector_id": b["id"], "to": "+5511922220002", "text": "oi"}, who="carla")
    assert r.status_code == 404  # Bruno's, and team B's visibility is "own"

    wa = await h.whatsapp_connector()
    await make_team(h, "WhatsApp", ["bruno"], [wa])
    async with h.rt.write() as tx:
        await tx.conn.execute(insert(templates).values(
            connector_id=wa["id"], name="boas_vindas", language="pt_BR", category="UTILITY", status="APPROVED",
            components=[{"type": "BODY", "text": "Olá!"}], updated_at=utcnow()))
    body = {"to": "+5511966660000", "name": "boas_vindas", "language": "pt_BR"}
    r = await h.post(f"/api/v1/connectors/{wa['id']}/templates/send", body, who="ana")
    assert r.status_code == 403
    r = await h.post(f"/api/v1/connectors/{wa['id']}/templates/send", body, who="bruno")
    assert r.status_code == 202, r.text


async def test_retry_read_reopen_transfer_close_are_checked_in_the_action(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    h.kolmeya.state.blacklist.add(11911110001)
    x = await sms_in(h, c, "+5511911110001")
    await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    r = await h.post(f"/api/v1/conversations/{x}/messages", {"text": "Seu boleto"}, who="bruno")
    failed = r.json()["id"]
    await h.drain()
    assert (await h.get(f"/api/v1/conversations/{x}/messages")).json()["items"][-1]["status"] == "failed"
    for path, body in ((f"/api/v1/messages/{failed}/retry", None), (f"/api/v1/conversations/{x}/read", None),
                       (f"/api/v1/conversations/{x}/transfer", {"agent_id": h.user_ids["ana"]}),
                       (f"/api/v1/conversations/{x}/release", None), (f"/api/v1/conversations/{x}/close", None)):
        assert (await h.post(path, body, who="ana")).status_code == 404, path
    assert (await h.post(f"/api/v1/messages/{failed}/retry", who="bruno")).status_code == 202
    assert (await h.post(f"/api/v1/conversations/{x}/close", who="bruno")).status_code == 200
    assert (await h.post(f"/api/v1/conversations/{x}/reopen", who="ana")).status_code == 404
    assert (await h.post(f"/api/v1/conversations/{x}/reopen", who="bruno")).status_code == 200


async def test_two_agents_take_at_once_one_wins_the_other_hears_409(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    for round_ in range(4):
        x = await sms_in(h, c, f"+551191111{round_:04d}")
        ana_take = h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
        bruno_take = h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
        results = await asyncio.gather(ana_take, bruno_take)
        assert sorted(r.status_code for r in results) == [200, 409], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200).json()["assignee"]["name"]
        loser = next(r for r in results if r.status_code == 409).json()
        assert loser["detail"] == f"já está em atendimento por {winner}" and loser["code"] == "already_taken"
        assert len(await _audit(h, "conversation.take")) == round_ + 1  # only the winner's take
    # The pages take the same way; a supervisor's take is a take too (reassigning is explicit).
    x = await sms_in(h, c, "+5511988880000")
    ana, sup = await pages("ana"), await pages("supervisor")
    assert (await ana.post(f"/conversations/{x}/take")).status_code == 200
    r = await sup.post(f"/conversations/{x}/take")
    assert r.status_code == 409 and "já está em atendimento por Ana" in r.text
    r = await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["bruno"]}, who="supervisor")
    assert r.status_code == 200 and r.json()["assignee"]["name"] == "Bruno"


async def test_audit_entries_for_take_transfer_close_reopen(harness: Harness) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["ana"], [a])
    team_b = await make_team(h, "Suporte", ["bruno"], [b])
    x = await sms_in(h, a, "+5511911110001")
    await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    await h.post(f"/api/v1/conversations/{x}/transfer", {"team_id": team_b["id"], "note": "suporte"}, who="ana")
    await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    await h.post(f"/api/v1/conversations/{x}/close", who="bruno")
    await h.post(f"/api/v1/conversations/{x}/reopen", who="bruno")
    contact_id = (await conv(h, x))["contact"]["id"]
    for action, actor, detail in (
            ("conversation.take", "ana", {"agent_id": h.user_ids["ana"]}),
            ("conversation.transfer", "ana", {"team_id": team_b["id"], "previous_agent_id": h.user_ids["ana"]}),
            ("conversation.close", "bruno", {}), ("conversation.reopen", "bruno", {})):
        entries = [e for e in await _audit(h, action) if e.actor_id == h.user_ids[actor]]
        assert len(entries) >= 1, action
        entry = entries[-1]
        assert entry.target_type == "conversation" and entry.target_id == x and entry.contact_id == contact_id
        assert entry.ip and {k: entry.detail.get(k) for k in detail} == detail
    r = await h.get("/api/v1/audit", params={"action": "conversation.transfer"})
    assert r.status_code == 200 and [i["target_id"] for i in r.json()["items"]] == [x]


async def test_opt_outs_who_and_when_and_only_staff_lift_them(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    x = await sms_in(h, c, "+5511911110001")
    contact_id = (await conv(h, x))["contact"]["id"]
    await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
    patch = h.client.patch
    r = await patch(f"/api/v1/contacts/{contact_id}", json={"sms_opted_out": True}, headers=h.auth("ana"))
    assert r.status_code == 200 and r.json()["sms_opted_out"] is True
    # Lifting it: not for agents, on the API or the page; a supervisor may.
    r = await patch(f"/api/v1/contacts/{contact_id}", json={"sms_opted_out": False}, headers=h.auth("ana"))
    assert r.status_code == 403 and "supervisores" in r.json()["detail"]
    r = await (await pages("ana")).post(f"/contacts/{contact_id}/optout", {"opted_out": "0"})
    assert r.status_code == 403
    r = await patch(f"/api/v1/contacts/{contact_id}", json={"whatsapp_opted_out": True}, headers=h.auth("ana"))
    assert r.status_code == 200 and r.json()["whatsapp_opted_out"] is True
    r = await patch(f"/api/v1/contacts/{contact_id}", json={"sms_opted_out": False, "whatsapp_opted_out": False},
                    headers=h.auth("supervisor"))
    assert r.status_code == 200 and r.json()["sms_opted_out"] is False and r.json()["whatsapp_opted_out"] is False
    # The customer's own keyword counts too (who: nobody, source: the customer).
    await sms_in(h, c, "+5511911110001", "SAIR")
    async with h.rt.read() as conn:
        ledger = list(await conn.execute(select(contact_opt_outs).where(contact_opt_outs.c.contact_id == contact_id)
                                         .order_by(contact_opt_outs.c.id)))
    assert [(e.channel, e.opted_out, e.actor_id, e.source) for e in ledger] == [
        ("sms", True, h.user_ids["ana"], "agent"), ("whatsapp", True, h.user_ids["ana"], "agent"),
        ("sms", False, h.user_ids["supervisor"], "agent"), ("whatsapp", False, h.user_ids["supervisor"], "agent"),
        ("sms", True, None, "customer")]
    assert all(e.at is not None for e in ledger)
    shown = (await h.get(f"/api/v1/contacts/{contact_id}")).json()["opt_out_changes"]
    assert shown[0]["source"] == "customer" and shown[-1]["actor_id"] == h.user_ids["ana"]
    outs, ins = await _audit(h, "contact.opt_out"), await _audit(h, "contact.opt_in")
    assert [(e.actor_id, e.detail["channel"]) for e in outs] == [
        (h.user_ids["ana"], "sms"), (h.user_ids["ana"], "whatsapp"), (None, "sms")]
    assert [(e.actor_id, e.detail["channel"]) for e in ins] == [
        (h.user_ids["supervisor"], "sms"), (h.user_ids["supervisor"], "whatsapp")]
    assert all(e.contact_id == contact_id for e in outs + ins)


async def test_contact_edits_need_someone_who_works_the_contact(harness: Harness) -> None:
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["ana"], [a])
    await make_team(h, "Suporte", ["bruno"], [b], visibility="team")
    await h.add_user("carla", "agent")
    y = await sms_in(h, b, "+5511922220002")
    contact_id = (await conv(h, y))["contact"]["id"]
    await h.post(f"/api/v1/conversations/{y}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    patch = h.client.patch
    assert (await patch(f"/api/v1/contacts/{contact_id}", json={"name": "X"}, headers=h.auth("ana"))
            ).status_code == 404
    r = await patch(f"/api/v1/contacts/{contact_id}", json={"name": "Maria"}, headers=h.auth("bruno"))
    assert r.status_code == 200 and r.json()["name"] == "Maria"
    assert (await patch(f"/api/v1/contacts/{contact_id}", json={"name": "Z"}, headers=h.auth("carla"))
            ).status_code == 404  # not in team B


async def test_contact_merge_is_for_staff_who_may_read_both(harness: Harness) -> None:
    """Merging two contacts (issue 13) goes through the policy: agents 403; a supervisor only merges
    contacts of queues they serve (another team's contact is 404); the survivor keeps both histories and
    a refusal (opt-out) of either."""
    h = harness
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["supervisor", "ana"], [a])
    await make_team(h, "Suporte", ["bruno"], [b])
    x1 = await sms_in(h, a, "+5511911110001", "oi")
    x2 = await sms_in(h, a, "+5511911110002", "sou eu de outro número")
    y = await sms_in(h, b, "+5511922220002", "outro time")
    keep, gone, other = [(await conv(h, c))["contact"]["id"] for c in (x1, x2, y)]
    r = await h.client.patch(f"/api/v1/contacts/{gone}", json={"sms_opted_out": True}, headers=h.auth())
    assert r.status_code == 200, r.text
    r = await h.post(f"/api/v1/contacts/{keep}/merge", {"contact_id": gone}, who="ana")
    assert r.status_code == 403 and r.json()["detail"]
    r = await h.post(f"/api/v1/contacts/{keep}/merge", {"contact_id": other}, who="supervisor")
    assert r.status_code == 404  # team B's contact: not theirs to see
    r = await h.post(f"/api/v1/contacts/{keep}/merge", {"contact_id": gone}, who="supervisor")
    assert r.status_code == 200, r.text
    assert r.json()["sms_opted_out"] is True
    assert (await h.get(f"/api/v1/contacts/{gone}")).status_code == 404
    assert {(await conv(h, c))["contact"]["id"] for c in (x1, x2)} == {keep}
    [entry] = await _audit(h, "contact.merge")
    assert entry.actor_id == h.user_ids["supervisor"] and entry.target_id == keep
