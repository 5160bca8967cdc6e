"""Satisfaction in the reports: `csat: {responses, average, distribution}` in the summary, per channel,
team and agent, and in the CSV exports, equal to a hand count of the answers customers gave."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tests.reports.test_report_pages import Pages, text_of
from tests.support.harness import Harness

ZONE = "America/Sao_Paulo"


async def _served_and_rated(h: Harness, connector_id: int, agent: str, phone: str, answer: str | None) -> int:
    """`agent` writes to `phone`, the customer asks, the agent answers and closes; the customer then
    answers the survey with `answer` (None: does not answer)."""
    sent = await h.post("/api/v1/messages", {"connector_id": connector_id, "to": phone, "text": "Olá!"}, who=agent)
    assert sent.status_code == 202, sent.text
    conv_id = int(sent.json()["conversation_id"])
    await h.drain()
    await _customer(h, phone, "Preciso da segunda via")
    assert (await h.post(f"/api/v1/conversations/{conv_id}/messages", {"text": "Segue."}, who=agent)).status_code == 202
    assert (await h.post(f"/api/v1/conversations/{conv_id}/close", who=agent)).status_code == 200
    await h.drain()
    assert h.kolmeya.state.messages_to(phone.lstrip("+"))[-1].text.startswith("De 1 a 5")
    if answer is not None:
        await _customer(h, phone, answer)
    return conv_id


async def _customer(h: Harness, phone: str, text: str) -> None:
    await h.kolmeya.send_reply(h.kolmeya.state.messages_to(phone.lstrip("+"))[-1].id, text,
                               received_at=datetime.now(UTC))
    await h.drain()


def _today() -> dict[str, str]:
    day = datetime.now(ZoneInfo(ZONE)).date().isoformat()
    return {"from": day, "to": day, "tz": ZONE}


async def test_ratings_are_counted_per_agent_team_and_channel_and_exported(harness: Harness) -> None:
    h = harness
    c = await h.kolmeya_connector(poll_interval_s=0)
    team = await h.post("/api/v1/teams", {"name": "Cobrança", "member_ids": [h.user_ids["ana"], h.user_ids["bruno"]],
                                          "connector_ids": [c["id"]]})
    assert team.status_code == 201, team.text
    # The admin: the supervisor is in no team, and the connector now serves Cobrança.
    r = await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json={"enabled": True}, headers=h.auth("admin"))
    assert r.status_code == 200, r.text
    # Hand count: Ana 5 and 4 (and one customer who never answers), Bruno 2.
    await _served_and_rated(h, c["id"], "ana", "+5548991910301", "5")
    await _served_and_rated(h, c["id"], "ana", "+5548991910302", "4")
    await _served_and_rated(h, c["id"], "ana", "+5548991910303", None)
    await _served_and_rated(h, c["id"], "bruno", "+5548991910304", "2")

    body = (await h.get("/api/v1/reports/summary", "admin", params=_today())).json()
    assert body["csat"] == {"responses": 3, "average": 3.67,
                            "distribution": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}}
    assert body["by_channel"]["sms"]["csat"] == body["csat"]
    assert body["by_channel"]["whatsapp"]["csat"] == {"responses": 0, "average": None,
                                                      "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
    by_agent = {a["name"]: a["csat"] for a in body["by_agent"]}
    assert by_agent["Ana"] == {"responses": 2, "average": 4.5, "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}
    assert by_agent["Bruno"] == {"responses": 1, "average": 2.0,
                                 "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}}
    teams = {t["name"]: t["csat"] for t in body["by_team"]}
    assert teams["Cobrança"] == body["csat"]

    # The agent filter narrows the whole answer to what that agent held.
    only_bruno = (await h.get("/api/v1/reports/summary", "admin",
                              params={**_today(), "agent_id": h.user_ids["bruno"]})).json()
    assert only_bruno["csat"]["responses"] == 1 and only_bruno["csat"]["average"] == 2.0

    agents_csv = list(csv.DictReader(io.StringIO((await h.get("/api/v1/reports/agents.csv", "admin",
                                                               params=_today())).text.lstrip("\ufeff"))))
    assert {(a["nome"], a["satisfacao_media"], a["avaliacoes"]) for a in agents_csv} == {("Ana", "4.5", "2"),
                                                                                        ("Bruno", "2.0", "1")}
    conv_csv = list(csv.DictReader(io.StringIO((await h.get("/api/v1/reports/conversations.csv", "admin",
                                                             params=_today())).text.lstrip("\ufeff"))))
    assert sorted(r["satisfacao"] for r in conv_csv) == ["", "2", "4", "5"]


async def test_the_reports_page_shows_satisfaction(harness: Harness, pages: Pages) -> None:
    h = harness
    c = await h.kolmeya_connector(poll_interval_s=0)
    r = await h.client.put(f"/api/v1/connectors/{c['id']}/csat", json={"enabled": True}, headers=h.auth("supervisor"))
    assert r.status_code == 200, r.text
    await _served_and_rated(h, c["id"], "ana", "+5548991910311", "3")
    page = await (await pages("supervisor")).get("/reports?" + "&".join(f"{k}={v}" for k, v in _today().items()))
    assert page.status_code == 200, page.text
    assert text_of(page.text, "r-csat") == "3,0"
    assert text_of(page.text, "r-csat-distribution").startswith("Avaliações: 1")
    assert text_of(page.text, f"agent-{h.user_ids['ana']}-csat").startswith("3,0")
