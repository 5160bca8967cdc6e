"""The counters the actions keep equal a recount from the rows themselves: after the fixture day, after
random days (hypothesis), and `rebuild` restores them after they are wiped (an upgrade's history)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from atende.actions.rollups_rebuild import rebuild, recount
from atende.db.tables import attendances, conversations, messages, report_activity, report_daily
from atende.db.types import set_clock
from tests.reports.kit import Scene, local
from tests.reports.test_fixture_day_sao_paulo import MONDAY, play_monday
from tests.support.harness import Harness, close_harness, make_harness

COUNTERS = ("messages_in", "messages_out", "messages_agent", "sms_sent", "sms_segments", "sms_cost", "sms_delivered",
            "sms_failed")
DAILY = (*COUNTERS, "active", "opened", "reopened", "closed", "first_responses", "first_response_s")


def _nonzero(values: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: values.get(n, 0) for n in names if values.get(n, 0)}


async def stored(h: Harness) -> tuple[dict[Any, Any], dict[Any, Any], dict[int, Any]]:
    async with h.rt.read() as conn:
        activity = {(r.hour, r.conversation_id, r.team_id, r.agent_id): _nonzero(r._mapping, COUNTERS)
                    for r in await conn.execute(select(report_activity))}
        daily = {(r.day, r.channel, r.connector_id, r.team_id, r.agent_id): _nonzero(r._mapping, DAILY)
                 for r in await conn.execute(select(report_daily))}
        atts = {int(r.id): (r.messages_in, r.messages_out, r.sms_segments, r.sms_cost, r.customer_at)
                for r in await conn.execute(select(attendances))}
    return ({k: v for k, v in activity.items() if v}, {k: v for k, v in daily.items() if v}, atts)


async def assert_counters_equal_recount(h: Harness) -> None:
    activity, daily, atts = await stored(h)
    async with h.rt.read() as conn:
        r = await recount(conn, h.rt.settings.timezone)
    assert activity == {k: _nonzero(v, COUNTERS) for k, v in r.activity.items() if _nonzero(v, COUNTERS)}
    assert daily == {k: _nonzero(v, DAILY) for k, v in r.daily.items() if _nonzero(v, DAILY)}
    assert atts == {k: (v["messages_in"], v["messages_out"], v["sms_segments"], v["sms_cost"], v["customer_at"])
                    for k, v in r.attendances.items()}


async def test_fixture_day_counters_equal_the_recount_and_rebuild_restores_them(harness: Harness) -> None:
    await play_monday(harness)
    await assert_counters_equal_recount(harness)
    before = (await harness.get("/api/v1/reports/summary", "admin", params=MONDAY)).json()
    dashboard = (await harness.get("/api/v1/dashboard", "admin")).json()
    async with harness.rt.write() as tx:  # history from before the counters existed
        await tx.conn.execute(delete(report_activity))
        await tx.conn.execute(delete(report_daily))
        await tx.conn.execute(update(attendances).values(messages_in=0, messages_out=0, sms_segments=0,
                                                         sms_cost=Decimal(0)))
    assert (await harness.get("/api/v1/reports/summary", "admin", params=MONDAY)).json()["messages"]["in"] == 0
    async with harness.rt.write() as tx:
        counts = await rebuild(tx)
    assert counts["activity"] > 0 and counts["daily"] > 0
    assert (await harness.get("/api/v1/reports/summary", "admin", params=MONDAY)).json() == before
    after = (await harness.get("/api/v1/dashboard", "admin")).json()
    assert after["active_today"] == dashboard["active_today"] and after["sms"] == dashboard["sms"]
    await assert_counters_equal_recount(harness)


# ---- random days ---------------------------------------------------------------------------------

PHONES = ["+5548991910101", "+5548991910102", "+5548991910103"]
WA = ["5511987650101", "5511987650102"]
step = st.one_of(
    st.tuples(st.just("sms_in"), st.sampled_from(PHONES)),
    st.tuples(st.just("wa_in"), st.sampled_from(WA)),
    st.tuples(st.just("reply"), st.sampled_from(["ana", "supervisor"])),
    st.tuples(st.just("bot"), st.just("")),
    st.tuples(st.just("close"), st.just("")),
    st.tuples(st.just("deliver"), st.just("")),
    st.tuples(st.just("refuse"), st.sampled_from(PHONES)),
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
# At most 18 steps an hour apart: WhatsApp's 24 h window stays open, and the days cross midnight.
@given(steps=st.lists(st.tuples(step, st.integers(min_value=1, max_value=60)), min_size=4, max_size=18))
async def test_random_days_keep_counters_equal_to_the_recount(steps: list[tuple[tuple[str, str], int]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        h = await make_harness(f"sqlite+aiosqlite:///{Path(tmp) / 'atende.db'}")
        try:
            await _play(h, steps)
            await assert_counters_equal_recount(h)
        finally:
            set_clock(None)
            await close_harness(h)


async def _play(h: Harness, steps: list[tuple[tuple[str, str], int]]) -> None:
    s = Scene(h, await h.kolmeya_connector(poll_interval_s=0), await h.whatsapp_connector())
    at = local("2025-03-10 22:00:00")  # minutes apart: some days cross midnight
    convs: list[int] = []
    sent: list[int] = []
    for (kind, arg), minutes in steps:
        at += timedelta(minutes=minutes)
        if kind == "sms_in":
            convs.append(await s.sms_in(arg, "Oi", at))
        elif kind == "wa_in":
            convs.append(await s.wa_in(arg, "Olá", at))
        elif kind == "reply" and convs:
            s.at(at)
            r = await h.post(f"/api/v1/conversations/{convs[-1]}/messages", {"text": "Resposta"}, who=arg)
            if r.status_code == 404:  # an agent may not answer a closed chat she never handled; nothing counts
                assert arg == "ana", r.text
                continue
            assert r.status_code == 202, r.text
            await h.drain()
            sent.append(int(r.json()["id"]))
        elif kind == "bot" and convs:
            connector = s.sms if await _channel(h, convs[-1]) == "sms" else s.wa
            sent.append(await s.bot(convs[-1], "Mensagem automática", at, connector))
        elif kind == "close" and convs:
            s.at(at)
            await h.post(f"/api/v1/conversations/{convs[-1]}/close", who="admin")
        elif kind == "deliver" and sent and await _accepted_sms(h, sent[-1]):
            await s.deliver(sent[-1])
        elif kind == "refuse":
            h.kolmeya.fail_next(422, {"message": "invalid", "errors": {"messages.0.phone": ["inválido"]}})
            sent.append(await s.send_new("admin", arg, "Aviso", at))  # ana may not reach a chat of another


async def _channel(h: Harness, conversation_id: int) -> str:
    return str((await h.get(f"/api/v1/conversations/{conversation_id}")).json()["channel"])


async def _accepted_sms(h: Harness, message_id: int) -> bool:
    """An SMS the provider took (refused ones have no provider id to report on)."""
    async with h.rt.read() as conn:
        row = (await conn.execute(select(conversations.c.channel, messages.c.provider_message_id).select_from(
            messages.join(conversations, conversations.c.id == messages.c.conversation_id))
            .where(messages.c.id == message_id))).one()
    return row.channel == "sms" and row.provider_message_id is not None
