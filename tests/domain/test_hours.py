"""Business hours (pure): open or closed at a moment, and the next opening; midnight and a holiday in
America/Sao_Paulo; validation in Portuguese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atende.domain.hours import InvalidHours, next_opening, normalized, parse

SP = ZoneInfo("America/Sao_Paulo")
WEEKDAYS = {d: [["08:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
CHRISTMAS = {"timezone": "America/Sao_Paulo", "weekly": WEEKDAYS, "holidays": ["2026-12-25"]}


def sp(*args: int) -> datetime:
    return datetime(*args, tzinfo=SP).astimezone(UTC)


def test_a_holiday_friday_and_the_weekend() -> None:
    hours = parse(CHRISTMAS)
    assert hours is not None
    assert hours.is_open(sp(2026, 12, 24, 17, 59)) and not hours.is_open(sp(2026, 12, 24, 18, 0))
    assert not hours.is_open(sp(2026, 12, 25, 10, 0))  # Christmas is a Friday: closed all day
    assert not hours.is_open(sp(2026, 12, 26, 10, 0))  # Saturday
    assert hours.next_opening(sp(2026, 12, 24, 18, 0)) == sp(2026, 12, 28, 8, 0)  # Monday
    assert hours.next_opening(sp(2026, 12, 28, 7, 59, 30)) == sp(2026, 12, 28, 8, 0)
    assert hours.next_opening(sp(2026, 12, 28, 9, 0)) == sp(2026, 12, 28, 9, 0)  # open now: now
    # 08:00 in São Paulo is 11:00 UTC (no daylight saving since 2019).
    assert sp(2026, 12, 28, 8, 0) == datetime(2026, 12, 28, 11, 0, tzinfo=UTC)


def test_across_midnight() -> None:
    night = parse({"timezone": "America/Sao_Paulo", "weekly": {"mon": [["22:00", "24:00"]],
                                                               "tue": [["00:00", "02:00"], ["08:00", "12:00"]]}})
    assert night is not None
    assert not night.is_open(sp(2026, 3, 2, 21, 59)) and night.is_open(sp(2026, 3, 2, 22, 0))  # a Monday
    assert night.is_open(sp(2026, 3, 2, 23, 59)) and night.is_open(sp(2026, 3, 3, 0, 0))
    assert night.is_open(sp(2026, 3, 3, 1, 59)) and not night.is_open(sp(2026, 3, 3, 2, 0))
    assert night.next_opening(sp(2026, 3, 3, 2, 0)) == sp(2026, 3, 3, 8, 0)
    assert night.next_opening(sp(2026, 3, 3, 12, 0)) == sp(2026, 3, 9, 22, 0)  # next Monday night
    closed = parse({"timezone": "America/Sao_Paulo", "weekly": {}})
    assert closed is not None and closed.next_opening(sp(2026, 3, 3, 12, 0)) is None
    assert next_opening(None, sp(2026, 3, 3, 12, 0)) == sp(2026, 3, 3, 12, 0)  # no hours: always open


@pytest.mark.parametrize("spec, message", [
    ({"weekly": {"mon": [["18:00", "08:00"]]}}, "deve ser depois"),
    ({"weekly": {"mon": [["8:00", "18:00"]]}}, "HH:MM"),
    ({"weekly": {"mon": [["08:00", "24:30"]]}}, "horário inválido"),
    ({"weekly": {"mon": [["08:00", "1²:00"]]}}, "HH:MM"),
    ({"weekly": {"dom": []}}, "dia inválido"),
    ({"weekly": {"mon": "08:00-18:00"}}, "intervalos"),
    ({"timezone": "Mars/Olympus"}, "fuso horário"),
    ({"holidays": ["25/12/2026"]}, "AAAA-MM-DD"),
    ({"holidays": "2026-12-25"}, "holidays"),
    ("24x7", "objeto"),
])
def test_invalid_hours_say_what_is_wrong(spec: object, message: str) -> None:
    with pytest.raises(InvalidHours, match=message):
        parse(spec)  # type: ignore[arg-type]


def test_normalized_round_trips() -> None:
    hours = parse(CHRISTMAS)
    assert hours is not None
    again = parse(normalized(hours))
    assert again == hours and normalized(hours)["weekly"]["mon"] == [["08:00", "18:00"]]


times = st.integers(0, 24 * 60 // 30).map(lambda n: f"{min(n * 30, 1440) // 60:02d}:{min(n * 30, 1440) % 60:02d}")
intervals = st.lists(st.tuples(times, times).filter(lambda t: t[0] < t[1]).map(list), max_size=3)
weeks = st.dictionaries(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), intervals)
moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC))


@given(weekly=weeks, at=moments, holidays=st.lists(st.dates(datetime(2025, 1, 1).date(),
                                                             datetime(2028, 1, 1).date()), max_size=5))
def test_the_next_opening_is_open_and_nothing_opens_before_it(weekly: dict, at: datetime, holidays: list) -> None:
    hours = parse({"timezone": "America/Sao_Paulo", "weekly": weekly, "holidays": [d.isoformat() for d in holidays]})
    assert hours is not None
    nxt = hours.next_opening(at)
    if nxt is None:
        assert not any(hours.is_open(at + timedelta(minutes=30 * k)) for k in range(0, 48 * 8))
        return
    assert nxt >= at and hours.is_open(nxt)
    # Nothing opens in between: the intervals sit on half hours (São Paulo is a whole-hour offset from
    # UTC), so looking at each half hour between the two is enough.
    probe = at.replace(minute=30 if at.minute >= 30 else 0, second=0, microsecond=0) + timedelta(minutes=30)
    while probe < nxt:
        assert not hours.is_open(probe), probe
        probe += timedelta(minutes=30)
