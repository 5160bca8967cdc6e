from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.window import is_window_open, window_closes_at

T0 = datetime(2025, 11, 20, 14, 30, tzinfo=UTC)
SAO_PAULO = timezone(timedelta(hours=-3))


def test_closes_24h_after_last_inbound() -> None:
    assert window_closes_at(T0) == T0 + timedelta(hours=24)
    assert window_closes_at(T0, hours=72) == T0 + timedelta(hours=72)
    assert window_closes_at(None) is None


def test_no_inbound_means_closed() -> None:
    assert is_window_open(None, T0) is False


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (timedelta(0), True),
        (timedelta(hours=23), True),
        (timedelta(hours=23, minutes=58, seconds=59), True),
        (timedelta(hours=23, minutes=59) - timedelta(microseconds=1), True),
        (timedelta(hours=23, minutes=59), False),  # inside the 1 minute safety margin
        (timedelta(hours=24), False),
        (timedelta(days=3), False),
        (-timedelta(minutes=5), True),  # provider clock slightly ahead of ours
    ],
)
def test_is_window_open_with_margin(elapsed: timedelta, expected: bool) -> None:
    assert is_window_open(T0, T0 + elapsed) is expected


def test_margin_and_hours_are_configurable() -> None:
    now = T0 + timedelta(hours=23, minutes=59, seconds=30)
    assert is_window_open(T0, now, margin=timedelta(0)) is True
    assert is_window_open(T0, now) is False
    assert is_window_open(T0, T0 + timedelta(hours=48), hours=72) is True


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2025, 11, 20, 14, 30)
    with pytest.raises(ValueError, match="timezone-aware"):
        window_closes_at(naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_window_open(T0, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_window_open(None, naive)
    with pytest.raises(ValueError):
        window_closes_at(T0, hours=0)
    with pytest.raises(ValueError):
        is_window_open(T0, T0, margin=-timedelta(seconds=1))


aware = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))


@given(aware, st.timedeltas(min_value=timedelta(days=-2), max_value=timedelta(days=3)))
def test_open_iff_before_close_minus_margin(last: datetime, elapsed: timedelta) -> None:
    now = last + elapsed
    assert is_window_open(last, now) == (elapsed < timedelta(hours=24) - timedelta(minutes=1))
    # the same instants written in another time zone give the same answer
    assert is_window_open(last.astimezone(SAO_PAULO), now) == is_window_open(last, now)


@given(
    aware,
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=2)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=1)),
)
def test_once_closed_stays_closed(last: datetime, elapsed: timedelta, later: timedelta) -> None:
    if not is_window_open(last, last + elapsed):
        assert not is_window_open(last, last + elapsed + later)
