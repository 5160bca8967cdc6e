"""Fixture day: an installation in Europe/Lisbon, on the day its clocks go forward (Sunday 2025-03-30:
00:59:59 WET is followed by 02:00:00 WEST, so the local day lasts 23 hours, from 00:00 UTC to 23:00 UTC).
The same events read in three zones give three hand-computed answers.

Events (UTC; Lisbon; São Paulo):
  C1 WhatsApp in   2025-03-29 23:30  (Sat 23:30 WET;  Sat 20:30)
  C1 ana answers   2025-03-30 00:10  (Sun 00:10 WET;  Sat 21:10)   first response 40 min = 2400 s
  C3 SMS in        2025-03-30 02:30  (Sun 03:30 WEST; Sat 23:30)   nobody answers
  C2 SMS in        2025-03-30 22:30  (Sun 23:30 WEST; Sun 19:30)
  C2 ana answers   2025-03-30 23:15  (Mon 00:15 WEST; Sun 20:15)   first response 45 min = 2700 s

Sunday 30 in Lisbon = [00:00 UTC, 23:00 UTC):
  in: C3, C2 = 2; out: C1's answer = 1; active: C1, C3, C2 = 3
  attendances started: C3 (02:30), C2 (22:30) = 2; first responses [2700] (C2's, given on Monday, still its)
Sunday 30 in São Paulo = [03:00 UTC 30th, 03:00 UTC 31st):
  in: C2 = 1; out: C2's answer = 1; active 1; attendances: C2 = 1; first responses [2700]
Sunday 30 in UTC = [00:00, 24:00):
  in: C3, C2 = 2; out: C1's and C2's answers = 2; active 3; attendances: C3, C2 = 2
The dashboard counts "today" in the installation's zone (Lisbon).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from atende.reports.period import parse_period
from tests.reports.kit import Scene, rows
from tests.support.harness import Harness, close_harness, make_harness

SUNDAY = {"from": "2025-03-30", "to": "2025-03-30"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def lisbon(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else \
        f"sqlite+aiosqlite:///{tmp_path / 'atende.db'}"
    h = await make_harness(url, timezone="Europe/Lisbon")
    try:
        yield h
    finally:
        await close_harness(h)


def test_the_lisbon_dst_day_has_23_hours() -> None:
    period = parse_period("2025-03-30", "2025-03-30", "Europe/Lisbon", default_tz="America/Sao_Paulo")
    assert (period.start, period.end) == (utc("2025-03-30 00:00"), utc("2025-03-30 23:00"))
    assert period.end - period.start == timedelta(hours=23)


async def test_one_night_read_in_three_zones(lisbon: Harness) -> None:
    h = lisbon
    s = Scene(h, await h.kolmeya_connector(poll_interval_s=0), await h.whatsapp_connector())
    c1 = await s.wa_in("351912345678", "Boa noite", utc("2025-03-29 23:30"))
    await s.reply(c1, "ana", "Boa noite! Diga.", utc("2025-03-30 00:10"))
    await s.sms_in("+5548991910003", "Alguém aí?", utc("2025-03-30 02:30"))
    c2 = await s.sms_in("+5548991910002", "Preciso de ajuda", utc("2025-03-30 22:30"))

    # The dashboard at 23:45 WEST on Sunday: today (Lisbon) has C1, C3 and C2.
    s.at(utc("2025-03-30 22:45"))
    d = (await h.get("/api/v1/dashboard", "supervisor")).json()
    assert d["timezone"] == "Europe/Lisbon" and d["active_today"]["day"] == "2025-03-30"
    assert (d["active_today"]["total"], d["active_today"]["sms"], d["active_today"]["whatsapp"]) == (3, 2, 1)

    await s.reply(c2, "ana", "Claro, diga.", utc("2025-03-30 23:15"))
    # 00:30 WEST on Monday: a new day in Lisbon, where only C2 has spoken so far.
    s.at(utc("2025-03-30 23:30"))
    d = (await h.get("/api/v1/dashboard", "supervisor")).json()
    assert d["active_today"]["day"] == "2025-03-31"
    assert (d["active_today"]["total"], d["active_today"]["sms"]) == (1, 1)
    assert d["today"]["first_responses"] == 1 and d["today"]["first_response_avg_s"] == 2700

    expected = {
        "Europe/Lisbon": ({"in": 2, "out": 1, "out_by_agents": 1}, 3, 2, [2700]),
        "America/Sao_Paulo": ({"in": 1, "out": 1, "out_by_agents": 1}, 1, 1, [2700]),
        "UTC": ({"in": 2, "out": 2, "out_by_agents": 2}, 3, 2, [2700]),
    }
    for tz, (messages, active, opened, responses) in expected.items():
        body = (await h.get("/api/v1/reports/summary", "supervisor", params={**SUNDAY, "tz": tz})).json()
        assert body["messages"] == messages, tz
        assert body["conversations"]["active"] == active, tz
        assert body["conversations"]["opened"] == opened, tz
        assert body["first_response_s"]["count"] == len(responses), tz
        assert body["first_response_s"]["median"] == responses[0], tz

    # Without tz the installation's zone applies; CSV times carry Lisbon's summer offset after 01:00 UTC.
    body = (await h.get("/api/v1/reports/summary", "supervisor", params=SUNDAY)).json()
    assert body["period"]["tz"] == "Europe/Lisbon" and body["conversations"]["active"] == 3
    csv_rows = rows((await h.get("/api/v1/reports/conversations.csv", "supervisor", params=SUNDAY)).text)
    assert [r["aberto_em"] for r in csv_rows] == ["2025-03-30T03:30:00+01:00", "2025-03-30T23:30:00+01:00"]
    assert [r["primeira_resposta_s"] for r in csv_rows] == ["", "2700"]
    lisbon_ts = datetime(2025, 3, 30, 0, 10, tzinfo=ZoneInfo("Europe/Lisbon")).isoformat()
    msg_rows = rows((await h.get("/api/v1/reports/messages.csv", "supervisor", params=SUNDAY)).text)
    assert sorted(r["criada_em"] for r in msg_rows) == sorted(
        [lisbon_ts, "2025-03-30T03:30:00+01:00", "2025-03-30T23:30:00+01:00"])
