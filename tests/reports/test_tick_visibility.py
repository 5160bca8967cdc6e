"""The day's tick reaches every signed-in screen (the board's "Hoje" line is everyone's); balance and
alert events stay with supervisors and admins."""

from __future__ import annotations

from atende.auth.policy import Viewer, event_filter

TICK = {"type": "dashboard.tick", "payload": {"day": "2025-03-17", "channel": "sms", "team": 2}}


def test_agents_hear_the_tick_but_not_the_balances() -> None:
    agent = Viewer(5, "agent", frozenset({1}))
    supervisor = Viewer(6, "supervisor", frozenset({1}))
    assert event_filter(agent)(TICK) and event_filter(supervisor)(TICK)
    low = {"type": "connector.balance_low", "payload": {"connector_id": 1, "balance": "9.00"}}
    assert not event_filter(agent)(low) and event_filter(supervisor)(low)
