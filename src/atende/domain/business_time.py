"""How much of a wait fell inside business hours: the SLA clock pauses while a team is closed (pure).

Works on any object shaped like `atende.domain.hours.BusinessHours` (a zone and, per local date, the
open intervals in minutes since midnight, "24:00" being 1440). Intervals are local wall-clock times,
so a day when clocks change has the real length of its open hours.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Hours(Protocol):
    @property
    def tz(self) -> ZoneInfo: ...

    def open_intervals(self, day: date) -> tuple[tuple[int, int], ...]: ...


def _instant(tz: ZoneInfo, day: date, minute: int) -> datetime:
    if minute >= 24 * 60:
        day, minute = day + timedelta(days=minute // (24 * 60)), minute % (24 * 60)
    # A wall time skipped by a DST change resolves (fold=0) to the instant after the gap.
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz).astimezone(UTC)


def open_seconds(hours: Hours | None, start: datetime, end: datetime) -> int:
    """Whole seconds of [start, end) when the team was open; all of them when it has no hours."""
    if end <= start:
        return 0
    if hours is None:
        return int((end - start).total_seconds())
    tz = hours.tz
    total = 0.0
    # The day before the start too: an interval may run past local midnight ("24:00").
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    while day <= last:
        for first_minute, last_minute in hours.open_intervals(day):
            lo = max(start, _instant(tz, day, first_minute))
            hi = min(end, _instant(tz, day, last_minute))
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return int(total)
