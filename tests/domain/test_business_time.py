"""Business hours pause the SLA clock: open seconds between two moments (hand-computed and properties)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from atende.domain.business_time import open_seconds

SP = ZoneInfo("America/Sao_Paulo")
WEEKDAYS_8_18 = (((480, 1080),),) * 5 + ((), ())


@dataclass(frozen=True)
class Hours:
    """The shape of atende.domain.hours.BusinessHours: a zone, weekly intervals, holidays."""

    tz: ZoneInfo
    weekly: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[date] = field(default_factory=frozenset)

    def open_intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        return () if day in self.holidays else self.weekly[day.weekday()]


def sp(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SP)


def test_a_weekend_does_not_count() -> None:
    hours = Hours(SP, WEEKDAYS_8_18)
    # Fri 17:50 → Mon 08:15: Friday 17:50–18:00 (600 s) + Monday 08:00–08:15 (900 s) = 1,500 s.
    assert open_seconds(hours, sp("2025-03-14 17:50"), sp("2025-03-17 08:15")) == 1500
    # Sat 10:00 → Mon 08:40: only Monday 08:00–08:40 = 2,400 s.
    assert open_seconds(hours, sp("2025-03-15 10:00"), sp("2025-03-17 08:40")) == 2400
    # Inside one open stretch: the wall clock.
    assert open_seconds(hours, sp("2025-03-17 09:00"), sp("2025-03-17 09:20")) == 1200
    # Without hours every second counts; backwards is nothing.
    assert open_seconds(None, sp("2025-03-14 17:50"), sp("2025-03-17 08:15")) == 224_700
    assert open_seconds(hours, sp("2025-03-17 09:20"), sp("2025-03-17 09:00")) == 0


def test_holidays_and_split_days() -> None:
    lunch = ((480, 720), (780, 1080))  # 08:00–12:00 and 13:00–18:00
    hours = Hours(SP, (lunch,) * 5 + ((), ()), frozenset({date(2025, 3, 18)}))
    # Mon 11:30 → Wed 08:30, Tuesday a holiday: Mon 11:30–12:00 (1,800) + 13:00–18:00 (18,000) + Wed 08:00–08:30
    # (1,800) = 21,600 s.
    assert open_seconds(hours, sp("2025-03-17 11:30"), sp("2025-03-19 08:30")) == 21_600


def test_a_dst_day_counts_its_real_length() -> None:
    lisbon = ZoneInfo("Europe/Lisbon")
    always = Hours(lisbon, (((0, 1440),),) * 7)
    # Sunday 2025-03-30 in Lisbon lasts 23 hours (00:00 WET = 00:00 UTC to 24:00 WEST = 23:00 UTC).
    start = datetime(2025, 3, 30, 0, 0, tzinfo=UTC)
    assert open_seconds(always, start, start + timedelta(hours=23)) == 23 * 3600
    # Open 00:00–03:00 local that day: 00:00–01:00 WET, then the clock jumps to 02:00 WEST; 03:00 WEST is
    # 02:00 UTC, so two real hours.
    night = Hours(lisbon, (((0, 180),),) * 7)
    assert open_seconds(night, start, start + timedelta(hours=5)) == 2 * 3600


moments = st.integers(min_value=0, max_value=60 * 86400).map(
    lambda s: datetime(2025, 3, 1, tzinfo=UTC) + timedelta(seconds=s))


@given(a=moments, b=moments, c=moments)
def test_open_seconds_add_up_and_never_exceed_the_wall_clock(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    hours = Hours(SP, WEEKDAYS_8_18, frozenset({date(2025, 3, 3)}))
    assert open_seconds(hours, a, c) == open_seconds(hours, a, b) + open_seconds(hours, b, c)
    assert 0 <= open_seconds(hours, a, c) <= int((c - a).total_seconds())
    assert open_seconds(Hours(SP, (((0, 1440),),) * 7), a, c) == int((c - a).total_seconds())
