"""First-response SLA targets: set by admins (audited), read by supervisors, measured by the summary
against the São Paulo fixture day with hand-computed attainment."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from atende.db.tables import audit_log
from tests.reports.kit import rows
from tests.reports.test_fixture_day_sao_paulo import MONDAY, play_monday
from tests.support.harness import Harness

TARGETS = "/api/v1/reports/sla-targets"


async def put(h: Harness, body: dict[str, Any], who: str = "admin") -> httpx.Response:
    return await h.client.put(TARGETS, json=body, headers=h.auth(who))


async def test_attainment_against_a_five_minute_target_matches_the_hand_count(harness: Harness) -> None:
    await play_monday(harness)  # the clock stays at Tuesday 12:00
    before = (await harness.get("/api/v1/reports/summary", "supervisor", params=MONDAY)).json()
    assert before["sla"] == {"target_s": None, "met": 0, "breached": 0, "attainment_pct": None}

    r = await put(harness, {"team_id": None, "first_response_min": 5})
    assert r.status_code == 200, r.text
    # The default queue's attendances started Monday, against 5 min = 300 s (no business hours: the whole
    # wait counts):
    #   S1#1 answered in 240 s  → met         W1#1 answered in 60 s   → met
    #   W1#2 answered in 600 s  → breached    W2#1 answered in 900 s  → breached
    #   S2#1 never answered; waiting since Monday 11:00, at Tuesday 12:00 that is 25 h > 300 s → breached
    # met 2, breached 3: attainment 2 / 5 = 40.0 %.
    body = (await harness.get("/api/v1/reports/summary", "supervisor", params=MONDAY)).json()
    assert body["sla"] == {"target_s": None, "met": 2, "breached": 3, "attainment_pct": 40.0}
    [queue] = body["by_team"]
    assert queue["team_id"] is None
    assert queue["sla"] == {"target_s": 300, "met": 2, "breached": 3, "attainment_pct": 40.0}
    # Bruno held only W1#1 (60 s): 1 of 1. Per channel the SLA is not split (it belongs to teams).
    by_bruno = (await harness.get("/api/v1/reports/summary", "supervisor",
                                  params={**MONDAY, "agent_id": harness.user_ids["bruno"]})).json()
    assert by_bruno["sla"]["met"] == 1 and by_bruno["sla"]["breached"] == 0
    assert by_bruno["sla"]["attainment_pct"] == 100.0

    # The export judges each attendance the same way, in the order they started (S1#1, W1#1, S2#1, W1#2, W2#1).
    exported = rows((await harness.get("/api/v1/reports/conversations.csv", "supervisor", params=MONDAY)).text)
    assert [c["sla"] for c in exported] == ["no prazo", "no prazo", "fora do prazo", "fora do prazo", "fora do prazo"]
    exported = rows((await harness.get("/api/v1/reports/conversations.csv", "supervisor",
                                       params={**MONDAY, "lang": "en"})).text)
    assert [c["sla"] for c in exported] == ["met", "met", "breached", "breached", "breached"]

    # A 15-minute target: only S2#1 (unanswered for 25 h) is late: 4 of 5 = 80.0 %.
    assert (await put(harness, {"team_id": None, "first_response_min": 15})).status_code == 200
    body = (await harness.get("/api/v1/reports/summary", "supervisor", params=MONDAY)).json()
    assert (body["sla"]["met"], body["sla"]["breached"], body["sla"]["attainment_pct"]) == (4, 1, 80.0)

    listed = (await harness.get(TARGETS, "supervisor")).json()["items"]
    assert listed == [{"team_id": None, "name": "Sem equipe", "first_response_min": 15}]
    # No target: no SLA.
    assert (await put(harness, {"team_id": None, "first_response_min": None})).status_code == 200
    body = (await harness.get("/api/v1/reports/summary", "supervisor", params=MONDAY)).json()
    assert body["sla"]["attainment_pct"] is None
    async with harness.rt.read() as conn:
        logged = [r.detail for r in await conn.execute(
            select(audit_log.c.detail).where(audit_log.c.action == "report.sla_target").order_by(audit_log.c.id))]
    assert logged == [{"team_id": None, "first_response_min": m} for m in (5, 15, None)]


async def test_only_admins_set_targets_and_bad_targets_are_clear_4xx(harness: Harness) -> None:
    for who in ("ana", "supervisor"):
        assert (await put(harness, {"first_response_min": 5}, who)).status_code == 403
    assert (await harness.get(TARGETS, "ana")).status_code == 403
    assert (await harness.client.get(TARGETS)).status_code == 401
    for minutes in (0, -5, 7 * 24 * 60 + 1):
        r = await put(harness, {"first_response_min": minutes})
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == "a meta de primeira resposta vai de 1 a 10080 minutos"
    r = await put(harness, {"team_id": 987654, "first_response_min": 5})
    assert r.status_code == 404 and r.json()["detail"] == "equipe não encontrada"
    r = await put(harness, {"team_id": "x", "first_response_min": 5})
    assert r.status_code == 422
    assert (await harness.get(TARGETS, "admin")).json()["items"][0]["first_response_min"] is None
