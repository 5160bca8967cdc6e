"""A closed conversation offers Reabrir only, on its card and in the chat header."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


def buttons(html: str, start: str, end: str) -> list[str]:
    block = html[html.index(start):]
    block = block[:block.index(end)]
    return [re.sub(r"<[^>]+>", "", b).strip() for b in re.findall(r"<button[^>]*>(.*?)</button>", block, re.S)
            if "toggle-contact" not in b and "sr-only" not in b]


async def test_closed_conversation_offers_reopen_only(harness: Harness, pages: Pages) -> None:
    conv = (await sms_conversation(harness))["conversation"]
    ana = await pages("supervisor")  # sees the default queue whole, closed conversations included (auth.policy)
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert buttons(card, '<div class="card-actions">', "</div>") == ["Assumir", "Concluir"]
    assert 'data-unread="1"' in card

    r = await harness.post(f"/api/v1/conversations/{conv['id']}/close", who="supervisor")
    assert r.status_code == 200 and r.json()["status"] == "done"
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert buttons(card, '<div class="card-actions">', "</div>") == ["Reabrir"]
    header = (await ana.get(f"/conversations/{conv['id']}/header")).text
    assert buttons(header, '<div class="actions">', "</header>") == ["Reabrir"]
    assert "Transferir" not in header and "Assumir" not in header

    r = await ana.post(f"/conversations/{conv['id']}/reopen")
    assert r.status_code == 200
    assert buttons(r.text, '<div class="actions">', "</header>") == ["Assumir", "Transferir", "Concluir"]
    r = await ana.post(f"/conversations/{conv['id']}/take")
    assert buttons(r.text, '<div class="actions">', "</header>") == ["Transferir", "Concluir"]
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert buttons(card, '<div class="card-actions">', "</div>") == ["Concluir", "Devolver à fila"]


async def sandbox_sms_inbound(h: Harness, phone: str = "+5511987650001", text: str = "Oi, tudo bem?") -> int:
    """A customer writes first on an SMS look-alike connector: a conversation nothing was billed for."""
    r = await h.post("/api/v1/connectors", {"name": "SMS sandbox", "provider": "sandbox",
                                            "config": {"look_like": "sms", "cost_per_segment": "0.08"}})
    assert r.status_code == 201, r.text
    hook = r.json()["webhook_url"].removeprefix("http://atende.test")
    r = await h.client.post(hook, json={"messages": [{"id": "in-1", "from": phone, "text": text}]})
    assert r.status_code == 200, r.text
    found = (await h.get("/api/v1/conversations", params={"channel": "sms"})).json()["items"]
    return int(next(c["id"] for c in found if c["contact"]["address"] == phone))


async def test_sms_cost_has_a_tooltip_and_hides_until_billed(harness: Harness, pages: Pages) -> None:
    one = (await sms_conversation(harness, "Olá! " + "Sua fatura de novembro já está disponível. " * 2))
    conv = one["conversation"]
    assert conv["segments_total"] == 2
    ana = await pages("ana")
    card = (await ana.get(f"/fragments/conversation/{conv['id']}?view=card")).text
    assert re.search(r'data-testid="sms-cost" title="2 segmentos de SMS · R\$ 0,16">2 seg \| R\$ 0,16<', card), card
    header = (await ana.get(f"/conversations/{conv['id']}/header")).text
    assert 'title="2 segmentos de SMS · R$ 0,16"' in header

    quiet = await sandbox_sms_inbound(harness)
    card = (await ana.get(f"/fragments/conversation/{quiet}?view=card")).text
    assert 'class="card ch-sms' in card and "sms-cost" not in card and "0 seg" not in card
    assert "sms-cost" not in (await ana.get(f"/conversations/{quiet}/header")).text
