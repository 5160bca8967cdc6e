"""GET /api/v1/dashboard after the São Paulo fixture day, asked on Tuesday 2025-03-11 at 12:00, and the
balance timer with its low-balance alert."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from atende.actions.alerts import record_alert
from atende.db.tables import events
from atende.jobs.balances import poll_balances
from tests.reports.kit import Scene, local
from tests.reports.test_fixture_day_sao_paulo import play_monday
from tests.support.harness import Harness


async def test_dashboard_today_queue_agents_and_sms(harness: Harness) -> None:
    ids = await play_monday(harness)  # the clock stays at Tuesday 12:00
    r = await harness.get("/api/v1/dashboard", "supervisor")
    assert r.status_code == 200, r.text
    d = r.json()
    # Tuesday so far: only W2 had a message (ana's answer at 00:05) → 1 active, on WhatsApp.
    assert d["active_today"]["total"] == 1 and d["active_today"]["sms"] == 0 and d["active_today"]["whatsapp"] == 1
    assert d["active_today"]["day"] == "2025-03-11"
    assert [(c["connector_id"], c["active"]) for c in d["active_today"]["by_connector"]] == [(ids["wa"], 1)]
    assert d["active_today"]["by_team"] == [{"team_id": None, "name": "Sem equipe", "active": 1}]
    # Tuesday: W2 closed at 00:20, one message out; its first response (900 s) was given on Tuesday.
    assert d["today"] == {"opened": 0, "reopened": 0, "closed": 1, "messages_in": 0, "messages_out": 1,
                          "first_responses": 1, "first_response_avg_s": 900}
    # Waiting: S2 only (nobody answered the opt-out); since Monday 11:00 → 25 h = 90 000 s at Tuesday 12:00.
    assert d["queue"]["waiting"] == 1 and d["queue"]["longest_wait_s"] == 90_000
    agents = {a["name"]: a for a in d["agents"]}
    assert agents["Ana"]["open"] == 1 and agents["Ana"]["first_response_today_s"] == 900  # holds W1#2
    assert agents["Ana"]["capacity"] == 10 and agents["Ana"]["presence"] == "offline"
    assert agents["Bruno"]["open"] == 0 and agents["Bruno"]["first_response_today_s"] is None
    # SMS: nothing on Tuesday; March so far = Monday's 4 accepted, 6 segments, R$ 0,48, 2 of 4 delivered.
    sms = d["sms"]
    assert sms["today"]["messages"] == 0 and sms["today"]["delivery_rate"] is None
    assert sms["month"] == {"messages": 4, "segments": 6, "cost": "0.48", "delivered": 2, "failed": 1,
                            "delivery_rate": 50.0}
    assert [c["connector_id"] for c in sms["by_connector"]] == [ids["sms"]]
    assert sms["by_connector"][0]["month"]["cost"] == "0.48"

    # Later that day a customer writes by SMS: live counters move at once.
    s = Scene(harness, {"id": ids["sms"], "webhook_url": await _webhook_url(harness, ids["sms"])})
    await s.sms_in("+5548991910009", "Boa tarde", local("2025-03-11 13:00:00"))
    d = (await harness.get("/api/v1/dashboard", "supervisor")).json()
    assert (d["active_today"]["total"], d["active_today"]["sms"]) == (2, 1)
    assert d["queue"]["waiting"] == 2 and d["today"]["opened"] == 1 and d["today"]["messages_in"] == 1


async def _webhook_url(h: Harness, connector_id: int) -> str:
    return str((await h.get(f"/api/v1/connectors/{connector_id}")).json()["webhook_url"])


async def test_balance_timer_and_low_balance_alert(harness: Harness) -> None:
    c = await harness.kolmeya_connector(low_balance_threshold="10.000,00", poll_interval_s=0)
    harness.kolmeya.state.balance = Decimal("9397.30")
    assert (await poll_balances(harness.rt, None)) is not None  # it reschedules itself
    d = (await harness.get("/api/v1/dashboard", "admin")).json()
    assert d["balances"] == [{"connector_id": c["id"], "name": "SMS Kolmeya", "balance": "9397.30",
                              "threshold": "10000.00", "low": True, "checked_at": d["balances"][0]["checked_at"],
                              "error": None}]
    # The page view read no balance: only the timer calls Kolmeya's /sms/balance.
    assert len(harness.kolmeya.state.calls_to("/sms/balance")) == 1

    harness.kolmeya.state.balance = Decimal("12000")
    await poll_balances(harness.rt, None)
    harness.kolmeya.fail_next(500)
    await poll_balances(harness.rt, None)  # a failed reading keeps the last balance and says why
    d = (await harness.get("/api/v1/dashboard", "admin")).json()
    assert d["balances"][0]["balance"] == "12000.00" and d["balances"][0]["low"] is False
    assert d["balances"][0]["error"]
    async with harness.rt.read() as conn:
        kinds = [r.type for r in await conn.execute(select(events.c.type).where(
            events.c.type.like("connector.balance%")).order_by(events.c.id))]
    assert kinds == ["connector.balance", "connector.balance_low", "connector.balance", "connector.balance_ok",
                     "connector.balance"]


async def test_connector_alerts_critical_first_info_left_out(harness: Harness, pages: Any) -> None:
    wa = await harness.whatsapp_connector()
    sms = await harness.kolmeya_connector(poll_interval_s=0)
    async with harness.rt.write() as tx:
        await record_alert(tx, [wa["id"]], {"type": "QUALITY_DOWNGRADE", "detail": "qualidade caiu para amarelo",
                                            "at": "2025-03-10T10:00:00+00:00", "severity": "warning"})
        await record_alert(tx, [wa["id"]], {"type": "ACCOUNT_RESTRICTION", "detail": "envio bloqueado por 24 h",
                                            "at": "2025-03-10T09:00:00+00:00", "severity": "critical"})
        await record_alert(tx, [sms["id"]], {"type": "NOTICE", "detail": "só informação",
                                             "at": "2025-03-10T11:00:00+00:00", "severity": "info"})
    d = (await harness.get("/api/v1/dashboard", "supervisor")).json()
    assert [(a["connector_id"], a["type"], a["severity"]) for a in d["alerts"]] == [
        (wa["id"], "ACCOUNT_RESTRICTION", "critical"), (wa["id"], "QUALITY_DOWNGRADE", "warning")]
    assert d["alerts"][0]["detail"] == "envio bloqueado por 24 h"
    assert (await harness.get("/api/v1/dashboard", "ana")).status_code == 403
    html = (await (await pages("supervisor")).get("/dashboard")).text
    assert 'data-testid="connector-alerts"' in html and "envio bloqueado por 24 h" in html
    assert "só informação" not in html
