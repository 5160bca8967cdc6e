"""Waiting-time colours: cards and list items turn amber, then red; each column counts how many are over."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from atende.db.tables import conversations
from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def waited(h: Harness, conversation_id: int, minutes: float) -> None:
    """The customer's unanswered message came `minutes` ago (the waiting clock started then)."""
    at = datetime.now(UTC) - timedelta(minutes=minutes)
    async with h.rt.write() as tx:
        await tx.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(
            last_inbound_at=at, waiting_since=at))


def card_class(html: str, cid: int) -> str:
    m = re.search(rf'<article class="([^"]*)" id="card-{cid}"', html)
    assert m, f"card {cid} not on the page"
    return m.group(1)


async def test_cards_turn_amber_then_red_and_columns_count_them(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector()
    assert (h.rt.settings.wait_warn_s, h.rt.settings.wait_late_s) == (300, 900)  # 5 and 15 minutes
    convs = [(await sms_conversation(h, to=f"+551198765{4400 + i}", connector=c))["conversation"] for i in range(4)]
    fresh, amber, red, answered = (cv["id"] for cv in convs)
    await waited(h, amber, 7)
    await waited(h, red, 16)
    await waited(h, answered, 30)
    ana = await pages("ana")
    r = await ana.post(f"/conversations/{answered}/send", {"text": "Já respondi", "mode": "reply"})
    assert r.status_code == 204  # answered: nobody waits any more (and it is Ana's now: Em atendimento)

    html = (await ana.get("/board")).text
    assert "wait-" not in card_class(html, fresh) and "wait-" not in card_class(html, answered)
    assert "wait-warn" in card_class(html, amber) and "wait-late" in card_class(html, red)
    # The browser keeps the colour current from these (static/js/waiting.js).
    assert re.search(rf'id="card-{red}"[^>]*data-waiting-since="[^"]+" data-wait-warn="300" data-wait-late="900" '
                     r'data-wait-level="late"', html)
    assert 'data-testid="over-warn-new"' in html
    assert re.search(r'data-testid="over-warn-new"[^>]*>1</span>', html.replace("\n", " ").replace("  ", ""))
    over = (await h.get("/api/v1/conversations/over", who="ana")).json()
    assert over == {"new": {"warn": 1, "late": 1}, "open": {"warn": 0, "late": 0},
                    "thresholds": {"warn_s": 300, "late_s": 900}}
    # The board's filters apply: nothing over among SMS assigned to Ana, nothing over on WhatsApp.
    assert (await h.get("/api/v1/conversations/over?assignee=me", who="ana")).json()["new"] == {"warn": 0, "late": 0}
    assert (await h.get("/api/v1/conversations/over?channel=whatsapp", who="ana")).json()["new"]["late"] == 0

    inbox = (await ana.get("/inbox")).text
    assert re.search(rf'class="conv-item[^"]*wait-late[^"]*" id="item-{red}"', inbox)

    # Closing a waiting conversation ends the wait.
    assert (await h.post(f"/api/v1/conversations/{red}/close", who="ana")).status_code == 200
    assert (await h.get("/api/v1/conversations/over", who="ana")).json()["new"] == {"warn": 1, "late": 0}
    done_card = (await (await pages("admin")).get(f"/fragments/conversation/{red}?view=card")).text
    assert "wait-" not in card_class(done_card, red) and "data-waiting-since" not in done_card


async def test_thresholds_off(harness: Harness, pages: Pages) -> None:
    h = harness
    conv = (await sms_conversation(h))["conversation"]
    await waited(h, conv["id"], 600)
    h.rt.settings.wait_warn_s = 0
    h.rt.settings.wait_late_s = 0
    try:
        html = (await (await pages("ana")).get("/board")).text
        assert "wait-" not in card_class(html, conv["id"])
        assert (await h.get("/api/v1/conversations/over", who="ana")).json()["new"] == {"warn": 0, "late": 0}
    finally:
        h.rt.settings.wait_warn_s, h.rt.settings.wait_late_s = 300, 900


async def test_each_team_its_own_thresholds_and_only_what_the_viewer_sees(harness: Harness, pages: Pages) -> None:
    from tests.teams.kit import kolmeya, make_team, sms_in

    h = harness
    h.rt.settings.auto_assign = False
    fast, slow = await kolmeya(h, 11), await kolmeya(h, 12)
    vendas = await make_team(h, "Vendas", ["ana"], [fast], wait_warn_s=60, wait_late_s=120)
    await make_team(h, "Suporte", ["bruno"], [slow])  # the installation's 5 and 15 minutes
    assert vendas["wait_warn_s"] == 60 and vendas["wait_late_s"] == 120
    in_vendas = await sms_in(h, fast, "+5511987650011", "Quero comprar")
    in_suporte = await sms_in(h, slow, "+5511987650012", "Não funciona")
    await waited(h, in_vendas, 3)
    await waited(h, in_suporte, 3)

    admin = await pages("admin")
    html = (await admin.get("/board")).text
    assert "wait-late" in card_class(html, in_vendas)  # past Vendas' 2 minutes
    assert "wait-" not in card_class(html, in_suporte)  # 3 minutes is nothing for the default 5
    assert re.search(rf'id="card-{in_vendas}"[^>]*data-wait-warn="60" data-wait-late="120"', html)
    assert (await h.get("/api/v1/conversations/over")).json()["new"] == {"warn": 0, "late": 1}
    await waited(h, in_suporte, 6)
    assert (await h.get("/api/v1/conversations/over")).json()["new"] == {"warn": 1, "late": 1}
    # Bruno (Suporte) counts only what he may see: Suporte's queue.
    assert (await h.get("/api/v1/conversations/over", who="bruno")).json()["new"] == {"warn": 1, "late": 0}

    # The team's page sets them in minutes; empty is the installation's default again.
    r = await admin.post(f"/settings/teams/{vendas['id']}", {"name": "Vendas", "policy": "least_busy",
                                                            "visibility": "own", "member_ids": str(h.user_ids["ana"]),
                                                            "connector_ids": str(fast["id"]),
                                                            "wait_warn_min": "10", "wait_late_min": ""}, htmx=False)
    assert r.status_code in (200, 303), r.text
    team = (await h.get(f"/api/v1/teams/{vendas['id']}")).json()
    assert (team["wait_warn_s"], team["wait_late_s"]) == (600, None)
