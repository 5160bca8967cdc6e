"""The sending window: open/closed, next opening, end of the opening (time zones, no Sundays)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.sending_window import SendingWindow, WindowError

W = SendingWindow.parse({"timezone": "America/Sao_Paulo", "start": "08:00", "end": "20:00"})


def sp(day: int, hour: int, minute: int = 0) -> datetime:
    """December 2025 in São Paulo (UTC-3): the 6th is a Saturday, the 7th a Sunday."""
    return datetime(2025, 12, day, hour, minute, tzinfo=UTC) + timedelta(hours=3)


def test_default_days_are_monday_to_saturday() -> None:
    assert W.as_dict() == {"timezone": "America/Sao_Paulo", "start": "08:00", "end": "20:00",
                           "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}
    assert W.is_open(sp(5, 8)) and W.is_open(sp(6, 19, 59))
    assert not W.is_open(sp(5, 7, 59)) and not W.is_open(sp(5, 20)) and not W.is_open(sp(7, 12))


def test_next_opening_skips_the_night_and_sunday() -> None:
    assert W.next_opening(sp(5, 12)) == sp(5, 12)
    assert W.next_opening(sp(5, 6)) == sp(5, 8)
    assert W.next_opening(sp(5, 21)) == sp(6, 8)
    assert W.next_opening(sp(6, 20)) == sp(8, 8)  # Saturday night → Monday morning
    assert W.closes_at(sp(5, 12)) == sp(5, 20) and W.closes_at(sp(5, 21)) is None


def test_portuguese_days_and_midnight_end() -> None:
    w = SendingWindow.parse({"start": "00:00", "end": "24:00", "days": ["dom", "Sábado"]})
    assert w.days == frozenset({5, 6})
    assert w.is_open(sp(7, 23, 59)) and not w.is_open(sp(8, 0))
    assert w.closes_at(sp(7, 1)) == sp(8, 0)


@pytest.mark.parametrize(("data", "message"), [
    ({"start": "8h"}, "HH:MM"), ({"start": "25:00"}, "inválido"), ({"start": "10:00", "end": "09:00"}, "depois"),
    ({"days": []}, "ao menos"), ({"days": ["xyz"]}, "desconhecido"), ({"timezone": "Mars/Base"}, "fuso"),
    ({"days": "mon"}, "lista"),
])
def test_bad_windows_say_why(data: dict[str, object], message: str) -> None:
    with pytest.raises(WindowError, match=message):
        SendingWindow.parse(data)


windows = st.builds(
    lambda tz, start, length, days: SendingWindow.parse({
        "timezone": tz, "start": "{:02d}:{:02d}".format(*divmod(start, 60)),
        "end": "{:02d}:{:02d}".format(*divmod(min(start + length, 1440), 60)), "days": days}),
    st.sampled_from(["America/Sao_Paulo", "UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin"]),
    st.integers(0, 1380), st.integers(1, 1440),
    st.lists(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), min_size=1, unique=True))
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))


@given(windows, moments, st.floats(0, 1))
def test_next_opening_is_the_first_open_moment(w: SendingWindow, at: datetime, share: float) -> None:
    opening = w.next_opening(at)
    assert opening >= at and w.is_open(opening)
    assert opening - at < timedelta(days=8)
    between = at + (opening - at) * share
    assert between >= opening or not w.is_open(between)
    end = w.closes_at(opening)
    assert end is not None and end > opening and w.is_open(end - timedelta(microseconds=1))
