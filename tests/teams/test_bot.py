"""The menu bot per connector, the same on SMS (segments and cost) and WhatsApp; and tags."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.support.harness import Harness
from tests.support.whatsapp import WA, inbound
from tests.teams.kit import conv, kolmeya, make_team, no_auto_away, online, sms_in, travel

PHONE = "+5511911110001"


async def _bot(h: Harness, connector: dict[str, Any], teams: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = {"enabled": True, "greeting": "Olá! Escolha uma opção:", "invalid_reply": "Não entendi.",
            "timeout_s": 600, "options": [
                {"key": "1", "label": "Financeiro", "team_id": teams["fin"]["id"], "tag": "financeiro"},
                {"key": "2", "label": "Suporte", "team_id": teams["sup"]["id"]},
                {"key": "3", "label": "Horário", "reply": "Atendemos das 8h às 18h."}], **extra}
    r = await h.client.put(f"/api/v1/connectors/{connector['id']}/bot", json=body, headers=h.auth())
    assert r.status_code == 200, r.text
    return dict(r.json())


async def _setup(h: Harness, connector: dict[str, Any]) -> dict[str, Any]:
    fin = await make_team(h, "Financeiro", ["ana"], [])
    sup = await make_team(h, "Suporte", ["bruno"], [])
    front = await make_team(h, "Recepção", ["supervisor"], [connector])
    return {"fin": fin, "sup": sup, "front": front}


def _sms(h: Harness, phone: str = PHONE) -> list[Any]:
    return h.kolmeya.state.messages_to(phone.lstrip("+"))


MENU = "Olá! Escolha uma opção:\n1 - Financeiro\n2 - Suporte\n3 - Horário\n0 - Falar com um atendente"


async def test_the_bot_on_sms_greets_answers_and_routes_with_segments_and_cost(harness: Harness) -> None:
    h = harness
    c = await kolmeya(h, 1)
    teams = await _setup(h, c)
    await _bot(h, c, teams)
    await online(h, "ana", "bruno", "supervisor")
    x = await sms_in(h, c, PHONE, "oi")
    await h.drain()
    assert [m.text for m in _sms(h)] == [MENU]
    waiting = await conv(h, x)
    assert waiting["status"] == "new" and waiting["assignee"] is None and waiting["bot"] is True
    messages = (await h.get(f"/api/v1/conversations/{x}/messages")).json()["items"]
    menu = messages[-1]
    # "ç" and "á": UCS-2, 67 characters a part: two segments at R$ 0,08 each.
    assert menu["direction"] == "out" and menu["encoding"] == "ucs2" and menu["segments"] == 2
    assert Decimal(menu["cost"]) == Decimal("0.16") and menu["author_id"] is None
    # A reply option answers and keeps the menu; an invalid answer re-asks.
    await sms_in(h, c, PHONE, "3")
    await h.drain()
    await sms_in(h, c, PHONE, "quero falar")
    await h.drain()
    assert [m.text for m in _sms(h)][1:] == ["Atendemos das 8h às 18h.", "Não entendi.\n\n" + MENU]
    # "financeiro" (the label, any case) routes to its team, tags the conversation; an agent takes it.
    await sms_in(h, c, PHONE, "FINANCEIRO")
    await h.drain()
    routed = await conv(h, x)
    assert routed["team_id"] == teams["fin"]["id"] and routed["assignee"]["name"] == "Ana"
    assert [t["name"] for t in routed["tags"]] == ["financeiro"] and routed["bot"] is False
    # It never speaks again while an agent holds the conversation.
    await sms_in(h, c, PHONE, "1")
    await h.drain()
    assert len(_sms(h)) == 3
    stats = (await h.get(f"/api/v1/connectors/{c['id']}")).json()["stats"]
    sent = [m for m in (await h.get(f"/api/v1/conversations/{x}/messages")).json()["items"] if m["direction"] == "out"]
    assert len(sent) == 3 and all(m["segments"] >= 1 for m in sent)  # the bot's messages are billed like any SMS
    assert stats["segments"] == sum(m["segments"] for m in sent)
    assert Decimal(stats["cost"]) == sum(Decimal(m["cost"]) for m in sent) == Decimal("0.08") * stats["segments"]


async def test_invalid_answers_twice_then_the_connectors_team(harness: Harness) -> None:
    h = harness
    c = await kolmeya(h, 1)
    teams = await _setup(h, c)
    await _bot(h, c, teams)
    await online(h, "supervisor")
    x = await sms_in(h, c, PHONE, "oi")
    await h.drain()
    for answer in ("abc", "9", "xyz"):
        await sms_in(h, c, PHONE, answer)
        await h.drain()
    assert len(_sms(h)) == 3  # the menu, then re-asked twice; the third invalid answer hands over
    handed = await conv(h, x)
    assert handed["team_id"] == teams["front"]["id"] and handed["assignee"]["name"] == "Supervisor"


async def test_zero_or_the_timeout_hand_over_to_a_human(harness: Harness) -> None:
    h = harness
    no_auto_away(h)
    c = await kolmeya(h, 1)
    teams = await _setup(h, c)
    await _bot(h, c, teams)
    await online(h, "supervisor")
    x = await sms_in(h, c, PHONE, "oi")
    await h.drain()
    await sms_in(h, c, PHONE, "0")
    await h.drain()
    assert (await conv(h, x))["assignee"]["name"] == "Supervisor"

    y = await sms_in(h, c, "+5511911110002", "oi")
    await h.drain()
    assert (await conv(h, y))["assignee"] is None
    travel(timedelta(minutes=9))
    await h.drain()
    assert (await conv(h, y))["assignee"] is None  # the customer still has time
    travel(timedelta(minutes=2))
    await h.drain()
    after = await conv(h, y)
    assert after["assignee"]["name"] == "Supervisor" and after["bot"] is False


async def test_an_agent_taking_it_by_hand_silences_the_bot(harness: Harness) -> None:
    h = harness
    c = await kolmeya(h, 1)
    teams = await _setup(h, c)
    await _bot(h, c, teams)
    x = await sms_in(h, c, PHONE, "oi")
    await h.drain()
    r = await h.post(f"/api/v1/conversations/{x}/assign", {"agent_id": h.user_ids["supervisor"]}, who="supervisor")
    assert r.status_code == 200
    await sms_in(h, c, PHONE, "2")
    await h.drain()
    assert len(_sms(h)) == 1 and (await conv(h, x))["team_id"] == teams["front"]["id"]


async def test_the_bot_on_whatsapp(harness: Harness) -> None:
    h = harness
    wa = await h.whatsapp_connector()
    teams = await _setup(h, wa)
    await _bot(h, wa, teams)
    await online(h, "bruno")
    msg = await inbound(h, wa, WA, "Olá")
    await h.drain()
    await h.drain()
    assert [m.body["text"]["body"] for m in h.graph.sent] == [MENU]
    await inbound(h, wa, WA, "2")
    await h.drain()
    routed = await conv(h, msg["conversation_id"])
    assert routed["team_id"] == teams["sup"]["id"] and routed["assignee"]["name"] == "Bruno"


async def test_bot_api_validation_and_roles(harness: Harness) -> None:
    h = harness
    c = await kolmeya(h, 1)
    teams = await _setup(h, c)
    put = h.client.put
    url = f"/api/v1/connectors/{c['id']}/bot"
    assert (await h.get(url)).json()["enabled"] is False
    ok = {"enabled": True, "greeting": "Oi", "options": [{"key": "1", "label": "Fin", "team_id": teams["fin"]["id"]}]}
    assert (await put(url, json=ok, headers=h.auth("supervisor"))).status_code == 403
    for bad in ({"options": [{"key": "1", "label": "Fin"}]},
                {"options": [{"key": "1", "label": "A", "team_id": teams["fin"]["id"], "reply": "x"}]},
                {"options": [{"key": "0", "label": "A", "reply": "x"}]},
                {"options": [{"key": "1", "label": "A", "reply": "x"}, {"key": "1", "label": "B", "reply": "y"}]},
                {"options": [{"key": "1", "label": "A", "team_id": 999}]},
                {"options": []}, {"timeout_s": 5}):
        r = await put(url, json={**ok, **bad}, headers=h.auth())
        assert r.status_code == 422 and r.json()["detail"], bad
    assert (await put("/api/v1/connectors/999/bot", json=ok, headers=h.auth())).status_code == 404
    r = await put(url, json=ok, headers=h.auth())
    assert r.status_code == 200 and r.json()["options"][0]["team_id"] == teams["fin"]["id"]


async def test_tags_by_agents_filters_and_cards(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector()
    x = await sms_in(h, c, PHONE)
    y = await sms_in(h, c, "+5511911110002")
    r = await h.post("/api/v1/tags", {"name": "VIP", "colour": "#aa0000"}, who="supervisor")
    assert r.status_code == 201 and r.json()["colour"] == "#aa0000"
    assert (await h.post("/api/v1/tags", {"name": "VIP"})).status_code == 409
    assert (await h.post("/api/v1/tags", {"name": "Cor", "colour": "red"})).status_code == 422
    r = await h.post(f"/api/v1/conversations/{x}/tags", {"name": "VIP"}, who="ana")
    assert r.status_code == 200 and [t["name"] for t in r.json()["tags"]] == ["VIP"]
    r = await h.post(f"/api/v1/conversations/{x}/tags", {"name": "2ª via"}, who="ana")  # new: created
    assert sorted(t["name"] for t in r.json()["tags"]) == ["2ª via", "VIP"]
    items = (await h.get("/api/v1/conversations", params={"tag": "VIP"}, who="ana")).json()["items"]
    assert [i["id"] for i in items] == [x]
    assert (await h.get("/api/v1/conversations", params={"tag": "nenhuma"}, who="ana")).json()["items"] == []
    vip = r.json()["tags"][-1]["id"] if r.json()["tags"][-1]["name"] == "VIP" else r.json()["tags"][0]["id"]
    r = await h.client.delete(f"/api/v1/conversations/{x}/tags/{vip}", headers=h.auth("ana"))
    assert r.status_code == 200 and [t["name"] for t in r.json()["tags"]] == ["2ª via"]
    # Only who may work a conversation tags it; tags show on cards and filter the board.
    await h.post(f"/api/v1/conversations/{y}/assign", {"agent_id": h.user_ids["bruno"]}, who="bruno")
    assert (await h.post(f"/api/v1/conversations/{y}/tags", {"name": "VIP"}, who="ana")).status_code == 404
    from tests.web.pagekit import PageClient

    page = PageClient(h)
    await page.login("ana")
    board = (await page.get("/board")).text
    assert 'class="tag" data-tag-colour="#64748b">2ª via' in board
    tag_id = next(t["id"] for t in (await h.get("/api/v1/tags")).json()["items"] if t["name"] == "2ª via")
    filtered = (await page.get(f"/board?tag={tag_id}")).text
    assert f'id="card-{x}"' in filtered and 'id="count-new"' in filtered
    await page.aclose()
    assert (await h.client.delete(f"/api/v1/tags/{tag_id}", headers=h.auth("ana"))).status_code == 403
    assert (await h.client.delete(f"/api/v1/tags/{tag_id}", headers=h.auth("supervisor"))).status_code == 204
