"""Timers per team (durable jobs, re-armed on activity) and business hours, by travelling in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from atende.db.tables import jobs
from atende.db.types import utcnow
from tests.support.harness import Harness
from tests.teams.kit import conv, kolmeya, make_team, no_auto_away, online, sms_in, travel

SP = ZoneInfo("America/Sao_Paulo")
WEEKDAYS = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP).astimezone(UTC)


async def _who(h: Harness, cid: int) -> str | None:
    c = await conv(h, cid)
    return c["assignee"]["name"] if c["assignee"] else None


def _texts_to(h: Harness, phone: str) -> list[str]:
    return [m.text for m in h.kolmeya.state.messages_to(phone.lstrip("+"))]


async def test_release_goes_back_to_the_queue_then_to_someone_else(harness: Harness) -> None:
    h = harness
    no_auto_away(h)
    c = await kolmeya(h, 1)
    await make_team(h, "Financeiro", ["ana", "bruno"], [c], release_after_s=600)
    await online(h, "ana")
    x = await sms_in(h, c, "+5511911110001")
    await h.drain()
    assert await _who(h, x) == "Ana"
    await online(h, "bruno")
    travel(timedelta(minutes=9))
    await h.drain()
    assert await _who(h, x) == "Ana"  # not yet
    travel(timedelta(minutes=2))
    await h.drain()
    # Unanswered for ten minutes: released, and routed again to someone else first.
    assert await _who(h, x) == "Bruno"
    events = (await h.get(f"/api/v1/conversations/{x}/messages")).json()  # still readable, nothing lost
    assert events["items"]
    # Bruno answers: the timer (re-armed for him) finds it answered and lets it be.
    assert (await h.post(f"/api/v1/conversations/{x}/messages", {"text": "Olá!"}, who="bruno")).status_code == 202
    travel(timedelta(minutes=30))
    await h.drain()
    assert await _who(h, x) == "Bruno"


async def test_release_to_the_teams_fallback_agent(harness: Harness) -> None:
    h = harness
    no_auto_away(h)
    c = await kolmeya(h, 1)
    await make_team(h, "Financeiro", ["ana"], [c], release_after_s=300, fallback_agent_id=h.user_ids["supervisor"])
    await online(h, "ana")
    x = await sms_in(h, c, "+5511911110001")
    await h.drain()
    travel(timedelta(minutes=6))
    await h.drain()
    assert await _who(h, x) == "Supervisor"


async def test_auto_close_after_idle_hours_with_the_closing_message(harness: Harness) -> None:
    h = harness
    no_auto_away(h)
    c = await kolmeya(h, 1)
    await make_team(h, "Financeiro", ["ana"], [c], auto_close_after_s=3600, release_after_s=0,
                    closing_message="Encerramos o atendimento. Obrigado!")
    await online(h, "ana")
    x = await sms_in(h, c, "+5511911110001")
    await h.drain()
    await h.post(f"/api/v1/conversations/{x}/messages", {"text": "Posso ajudar?"}, who="ana")
    await h.drain()
    travel(timedelta(minutes=50))
    await sms_in(h, c, "+5511911110001", "um momento")  # activity re-arms the timer
    await h.drain()
    travel(timedelta(minutes=50))
    await h.drain()
    assert (await conv(h, x))["status"] == "open"  # 50 minutes since the last activity, not 60
    travel(timedelta(minutes=15))
    await h.drain()
    closed = await conv(h, x)
    assert closed["status"] == "done"
    assert _texts_to(h, "+5511911110001")[-1] == "Encerramos o atendimento. Obrigado!"
    async with h.rt.read() as conn:
        timers = list(await conn.execute(select(jobs.c.dedup_key).where(jobs.c.kind == "conversation_timer")))
    assert timers == []  # nothing left to watch


async def test_reopen_on_inbound_goes_back_to_the_same_agent_when_sticky(harness: Harness) -> None:
    h = harness
    no_auto_away(h)
    c = await kolmeya(h, 1)
    await make_team(h, "Financeiro", ["ana", "bruno"], [c], policy="sticky")
    await online(h, "ana", "bruno")
    other = await sms_in(h, c, "+5511911119999")  # gives Ana one more to carry
    x = await sms_in(h, c, "+5511911110001")
    await h.drain()
    assert (await _who(h, other), await _who(h, x)) == ("Ana", "Bruno")
    await h.post(f"/api/v1/conversations/{x}/close", who="bruno")
    await h.post(f"/api/v1/conversations/{other}/close", who="ana")
    await sms_in(h, c, "+5511911110001", "voltei")
    await h.drain()
    again = await conv(h, x)
    assert again["status"] == "open" and again["assignee"]["name"] == "Bruno"  # her previous agent


async def test_out_of_hours_answer_once_per_closed_period_and_assignment_at_opening(harness: Harness) -> None:
    h = harness
    no_auto_away(h)
    c = await kolmeya(h, 1)
    await make_team(h, "Financeiro", ["ana"], [c], out_of_hours_message="Estamos fechados. Voltamos às 8h.",
                    business_hours={"timezone": "America/Sao_Paulo", "weekly": WEEKDAYS, "holidays": ["2026-12-25"]})
    await online(h, "ana")
    travel(sp(2026, 12, 24, 19, 30))  # Christmas Eve, after hours; tomorrow a holiday, then the weekend
    x = await sms_in(h, c, "+5511911110001", "boa noite")
    await h.drain()
    await sms_in(h, c, "+5511911110001", "alguém?")
    await h.drain()
    assert _texts_to(h, "+5511911110001") == ["Estamos fechados. Voltamos às 8h."]  # once
    assert (await conv(h, x))["status"] == "new" and await _who(h, x) is None  # waits, though Ana is online
    travel(sp(2026, 12, 25, 23, 59))  # midnight of the holiday: still the same closed period
    await sms_in(h, c, "+5511911110001", "feliz natal")
    await h.drain()
    travel(sp(2026, 12, 26, 0, 1))
    await h.drain()
    assert len(_texts_to(h, "+5511911110001")) == 1 and await _who(h, x) is None
    # Agents can still take by hand while closed.
    y = await sms_in(h, c, "+5511911110002", "urgente")
    await h.drain()
    assert (await h.post(f"/api/v1/conversations/{y}/assign", {"agent_id": h.user_ids["ana"]}, who="ana")
            ).status_code == 200
    # Monday 8:00: the queue is routed at the opening.
    travel(sp(2026, 12, 28, 7, 59))
    await h.drain()
    assert await _who(h, x) is None
    travel(sp(2026, 12, 28, 8, 0, 30))
    await h.drain()
    assert await _who(h, x) == "Ana"
    # Monday evening: a new closed period, a new answer.
    await h.post(f"/api/v1/conversations/{x}/close", who="ana")
    travel(sp(2026, 12, 28, 18, 30))
    await sms_in(h, c, "+5511911110001", "de novo")
    await h.drain()
    assert _texts_to(h, "+5511911110001") == ["Estamos fechados. Voltamos às 8h."] * 2
    assert (await h.get("/api/v1/teams")).json()["items"][0]["open_now"] is False
    assert utcnow() > sp(2026, 12, 28, 18, 30)
