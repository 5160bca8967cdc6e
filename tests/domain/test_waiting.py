"""Waiting-time colours: the rule the server renders and static/js/waiting.js repeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from atende.domain.waiting import Thresholds, level, level_since

T = Thresholds(warn_s=300, late_s=900)


def test_levels_at_the_boundaries() -> None:
    assert [level(s, T) for s in (0, 299.9, 300, 899, 900, 10**6)] == ["", "", "warn", "warn", "late", "late"]
    assert level(10**6, Thresholds(0, 0)) == ""  # both off
    assert level(400, Thresholds(0, 900)) == "" and level(950, Thresholds(300, 0)) == "warn"


def test_team_values_replace_the_defaults_only_when_set() -> None:
    assert T.merged(None, None) == T
    assert T.merged(60, None) == Thresholds(60, 900) and T.merged(None, 0) == Thresholds(300, 0)


def test_nobody_waiting_is_never_late() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert level_since(None, now, T) == ""
    assert level_since(now - timedelta(minutes=20), now, T) == "late"


@given(st.floats(0, 10**7), st.floats(0, 10**7), st.integers(0, 10**5), st.integers(0, 10**5))
def test_waiting_longer_never_lowers_the_level(a: float, b: float, warn: int, late: int) -> None:
    t = Thresholds(warn, late)
    order = {"": 0, "warn": 1, "late": 2}
    lo, hi = sorted((a, b))
    assert order[level(lo, t)] <= order[level(hi, t)]
