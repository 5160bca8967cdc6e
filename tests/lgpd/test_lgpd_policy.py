"""The LGPD reads and writes go through the authorization layer (issue 8's teams): the consent
history, hiding and showing again, and legal hold follow who may read which conversation; admins and
the DPO act on every contact."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Harness
from tests.teams.kit import kolmeya, make_team, sms_in


async def _first_message(h: Harness, conversation_id: int) -> int:
    r = await h.get(f"/api/v1/conversations/{conversation_id}/messages")
    assert r.status_code == 200, r.text
    return int(r.json()["items"][0]["id"])


async def _hold(h: Harness, conversation_id: int, who: str) -> Any:
    return await h.client.put(f"/api/v1/conversations/{conversation_id}/legal-hold",
                              json={"reason": "processo 123"}, headers=h.auth(who))


async def test_lgpd_reads_and_writes_follow_the_teams(harness: Harness) -> None:
    h = harness
    await h.add_user("dora", "dpo")
    a, b = await kolmeya(h, 1), await kolmeya(h, 2)
    await make_team(h, "Financeiro", ["ana", "supervisor"], [a])
    await make_team(h, "Suporte", ["bruno"], [b])
    x = await sms_in(h, a, "+5511911110001", "Meu CPF é 529.982.247-25")
    y = await sms_in(h, b, "+5511922220002", "Meu cartão é 4111 1111 1111 1111")
    cx = (await h.get(f"/api/v1/conversations/{x}")).json()["contact"]["id"]
    cy = (await h.get(f"/api/v1/conversations/{y}")).json()["contact"]["id"]
    mx, my = await _first_message(h, x), await _first_message(h, y)

    # The consent history: whoever may read the contact; another team's contact does not exist for them.
    assert (await h.get(f"/api/v1/contacts/{cx}/consents", who="ana")).status_code == 200
    assert (await h.get(f"/api/v1/contacts/{cy}/consents", who="ana")).status_code == 404
    assert (await h.get(f"/api/v1/contacts/{cy}/consents", who="dora")).status_code == 200

    # Hiding: on a conversation one may read; showing again: supervisors of that team, admins, the DPO.
    assert (await h.post(f"/api/v1/messages/{my}/hide", who="ana")).status_code == 404
    r = await h.post(f"/api/v1/messages/{mx}/hide", who="ana")
    assert r.status_code == 200 and r.json()["content_withheld"] is True
    assert (await h.post(f"/api/v1/messages/{mx}/unhide", who="ana")).status_code == 403
    assert (await h.post(f"/api/v1/messages/{my}/hide", who="bruno")).status_code == 200
    assert (await h.post(f"/api/v1/messages/{my}/unhide", who="supervisor")).status_code == 404
    r = await h.post(f"/api/v1/messages/{mx}/unhide", who="supervisor")
    assert r.status_code == 200 and r.json()["hidden_at"] is None
    assert (await h.post(f"/api/v1/messages/{my}/unhide", who="dora")).status_code == 200

    # Legal hold: supervisors on their teams' conversations; the DPO and admins on all; agents never.
    assert (await _hold(h, x, "ana")).status_code == 403
    assert (await _hold(h, y, "supervisor")).status_code == 404
    r = await _hold(h, x, "supervisor")
    assert r.status_code == 200 and r.json()["legal_hold"] is True
    assert (await _hold(h, y, "dora")).status_code == 200
