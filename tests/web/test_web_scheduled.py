"""Scheduling from the composer (the agent's local time) and cancelling from the bubble."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.support.harness import Harness
from tests.web.pagekit import PageClient, sms_conversation

Pages = Callable[[str], Awaitable[PageClient]]


async def test_schedule_from_the_composer_and_cancel_from_the_bubble(harness: Harness, pages: Pages) -> None:
    h = harness
    one = await sms_conversation(h)  # the customer answered: waiting in the queue, Ana may take it
    conv_id = one["conversation"]["id"]
    ana = await pages("ana")
    local = (datetime.now(UTC) + timedelta(days=1)).astimezone(ZoneInfo("America/Sao_Paulo")).replace(
        hour=9, minute=30, second=0, microsecond=0)
    form = {"text": "Bom dia!", "send_at": local.strftime("%Y-%m-%dT%H:%M")}
    r = await ana.post(f"/conversations/{conv_id}/send", form)
    assert r.status_code == 204, r.text
    thread = (await h.get(f"/api/v1/conversations/{conv_id}/messages")).json()["items"]
    msg = thread[-1]
    assert msg["status"] == "scheduled"
    assert datetime.fromisoformat(msg["send_at"]) == local  # 09:30 in São Paulo, the agent's zone
    page = (await ana.get(f"/conversations/{conv_id}")).text
    assert "Agendada para" in page and f'hx-post="/messages/{msg["id"]}/unschedule"' in page
    bruno = await pages("bruno")
    # Ana holds it now: Bruno may not even read it (auth.policy), so the message is not found for him.
    assert (await bruno.post(f"/messages/{msg['id']}/unschedule")).status_code == 404
    r = await ana.post(f"/messages/{msg['id']}/unschedule")
    assert r.status_code == 200 and "Agendamento cancelado" in r.text
    r = await ana.post(f"/conversations/{conv_id}/send", {"text": "x", "send_at": "2020-01-01T10:00"})
    assert r.status_code == 422
    r = await ana.post(f"/conversations/{conv_id}/send", {"text": "x", "send_at": "ontem"})
    assert r.status_code == 422 and "inválid" in r.text
