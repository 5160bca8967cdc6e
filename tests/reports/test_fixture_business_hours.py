"""Fixture days: a team with business hours (Mon–Fri 08:00–18:00, São Paulo) and a 30-minute first-response
target. Business hours pause the SLA clock, not the first-response time itself; the out-of-hours auto-reply
is no response.

Events (São Paulo wall clock; the team "Cobrança" serves the SMS connector; ana is a member):
  C1  Fri 2025-03-14 17:50  customer writes (team open)
      Mon 2025-03-17 08:15  ana answers
        wall clock: Fri 17:50 → Mon 08:15 = 62 h 25 min = 224,700 s
        business:   Fri 17:50–18:00 (600 s) + Mon 08:00–08:15 (900 s) = 1,500 s ≤ 1,800 → met
  C2  Sat 2025-03-15 10:00  customer writes (team closed) → out-of-hours auto-reply (no author: no response)
      Mon 2025-03-17 08:40  ana answers
        wall clock: Sat 10:00 → Mon 08:40 = 46 h 40 min = 168,000 s
        business:   Mon 08:00–08:40 = 2,400 s > 1,800 → breached
  C3  Mon 2025-03-17 09:00  customer writes; 09:20 ana answers: 1,200 s both ways → met

Fri 14 – Mon 17, team Cobrança:
  opened 3 (C1 Fri, C2 Sat, C3 Mon); first responses [1200, 168000, 224700]
  nearest rank: median = #⌈1.5⌉ = #2 = 168,000; p90 = #⌈2.7⌉ = #3 = 224,700
  SLA: met C1, C3; breached C2 → 2 / 3 = 66.7 %
  messages out: the auto-reply + 3 answers = 4, of them by agents 3
Monday alone: opened 1 (C3), first responses [1200] (an attendance belongs to the day it started), SLA 1/1.
"""

from __future__ import annotations

from tests.reports.kit import Scene, local, rows
from tests.support.harness import Harness

WEEK = {"from": "2025-03-14", "to": "2025-03-17"}
HOURS = {"timezone": "America/Sao_Paulo",
         "weekly": {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}}


async def test_business_hours_pause_the_sla_clock(harness: Harness) -> None:
    h = harness
    h.rt.settings.auto_away_after_s = 0
    sms = await h.kolmeya_connector(poll_interval_s=0)
    r = await h.post("/api/v1/teams", {"name": "Cobrança",
                                       "member_ids": [h.user_ids["ana"], h.user_ids["supervisor"]],
                                       "connector_ids": [sms["id"]], "business_hours": HOURS,
                                       "out_of_hours_message": "Estamos fechados; abrimos às 8h.",
                                       "release_after_s": 0, "auto_close_after_s": 0})
    assert r.status_code == 201, r.text
    team_id = int(r.json()["id"])
    r = await h.client.put("/api/v1/reports/sla-targets", json={"team_id": team_id, "first_response_min": 30},
                           headers=h.auth("admin"))
    assert r.status_code == 200, r.text
    s = Scene(h, sms)
    c1 = await s.sms_in("+5548991920001", "Boa tarde, preciso do boleto", local("2025-03-14 17:50:00"))
    c2 = await s.sms_in("+5548991920002", "Bom dia?", local("2025-03-15 10:00:00"))
    await s.reply(c1, "ana", "Bom dia! Segue o boleto.", local("2025-03-17 08:15:00"))
    await s.reply(c2, "ana", "Bom dia! Como ajudo?", local("2025-03-17 08:40:00"))
    c3 = await s.sms_in("+5548991920003", "Oi", local("2025-03-17 09:00:00"))
    await s.reply(c3, "ana", "Olá!", local("2025-03-17 09:20:00"))
    s.at(local("2025-03-17 12:00:00"))

    body = (await s.get("/api/v1/reports/summary", **WEEK, team_id=team_id)).json()
    assert body["conversations"]["opened"] == 3
    assert body["first_response_s"] == {"median": 168000, "p90": 224700, "count": 3}
    assert body["messages"] == {"in": 3, "out": 4, "out_by_agents": 3}
    [team] = [t for t in body["by_team"] if t["team_id"] == team_id]
    assert team["name"] == "Cobrança"
    assert team["sla"] == {"target_s": 1800, "met": 2, "breached": 1, "attainment_pct": 66.7}
    assert body["sla"]["attainment_pct"] == 66.7

    monday = (await s.get("/api/v1/reports/summary", **{"from": "2025-03-17", "to": "2025-03-17"},
                          team_id=team_id)).json()
    assert monday["conversations"]["opened"] == 1
    assert monday["first_response_s"] == {"median": 1200, "p90": 1200, "count": 1}
    assert [t["sla"]["attainment_pct"] for t in monday["by_team"] if t["team_id"] == team_id] == [100.0]

    # The export carries the same waits, the business-hours ones and the verdicts.
    csv_rows = rows((await s.get("/api/v1/reports/conversations.csv", **WEEK, team_id=team_id)).text)
    assert [(c["equipe"], c["primeira_resposta_s"], c["primeira_resposta_em_horario_s"], c["sla"])
            for c in csv_rows] == [("Cobrança", "224700", "1500", "no prazo"),
                                   ("Cobrança", "168000", "2400", "fora do prazo"),
                                   ("Cobrança", "1200", "1200", "no prazo")]


async def test_supervisors_see_their_teams_only(harness: Harness) -> None:
    """Two teams: the supervisor leads Cobrança only. Their reports cover Cobrança and the default queue;
    Vendas is refused as a filter and absent from every list; admins see both."""
    h = harness
    h.rt.settings.auto_away_after_s = 0
    cobranca_sms = await h.kolmeya_connector(poll_interval_s=0)
    vendas_wa = await h.whatsapp_connector()
    cobranca = (await h.post("/api/v1/teams", {
        "name": "Cobrança", "member_ids": [h.user_ids["supervisor"], h.user_ids["ana"]],
        "connector_ids": [cobranca_sms["id"]]})).json()["id"]
    vendas = (await h.post("/api/v1/teams", {"name": "Vendas", "member_ids": [h.user_ids["bruno"]],
                                              "connector_ids": [vendas_wa["id"]]})).json()["id"]
    s = Scene(h, cobranca_sms, vendas_wa)
    await s.sms_in("+5548991930001", "Oi", local("2025-03-17 09:00:00"))
    await s.wa_in("5511987650301", "Olá", local("2025-03-17 09:05:00"))
    s.at(local("2025-03-17 10:00:00"))
    day = {"from": "2025-03-17", "to": "2025-03-17"}

    sup = (await s.get("/api/v1/reports/summary", **day)).json()
    assert {t["team_id"] for t in sup["by_team"]} == {cobranca}
    assert sup["conversations"]["opened"] == 1 and sup["messages"]["in"] == 1
    r = await s.get("/api/v1/reports/summary", **day, team_id=vendas)
    assert r.status_code == 403 and r.json()["detail"] == "você só vê os relatórios das suas equipes"
    d = (await s.get("/api/v1/dashboard")).json()
    assert d["active_today"]["total"] == 1 and [t["team_id"] for t in d["active_today"]["by_team"]] == [cobranca]
    assert [t["team_id"] for t in d["queue"]["by_team"]] == [cobranca]
    # Agents: Cobrança's members and the people in no team; not Vendas' bruno.
    names = {a["name"] for a in d["agents"]}
    assert "Ana" in names and "Bruno" not in names
    csv_rows = rows((await s.get("/api/v1/reports/conversations.csv", **day)).text)
    assert [c["equipe"] for c in csv_rows] == ["Cobrança"]

    admin = (await s.get("/api/v1/reports/summary", "admin", **day)).json()
    assert {t["team_id"] for t in admin["by_team"]} == {cobranca, vendas}
    assert admin["conversations"]["opened"] == 2
    # Agents: 403 on reports; the board's line counts the queues they serve (bruno: Vendas).
    assert (await s.get("/api/v1/reports/summary", "bruno", **day)).status_code == 403
