"""Business hours: is a team open at a moment, and when does it open next (pure, no I/O).

`{"timezone": "America/Sao_Paulo", "weekly": {"mon": [["08:00", "18:00"]], ...}, "holidays": ["2026-12-25"]}`
Intervals are local wall-clock times, start inclusive and end exclusive; "24:00" closes at midnight.
A day missing from `weekly` is closed; a holiday is closed all day. Moments are UTC-aware datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_INTERVALS = 6
MAX_HOLIDAYS = 400
# How far ahead `next_opening` looks (a team closed for a year has no next opening).
LOOKAHEAD_DAYS = 370


class InvalidHours(ValueError):
    pass


def _minutes(value: Any) -> int:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":" \
            or not (value[:2].isascii() and value[:2].isdigit() and value[3:].isascii() and value[3:].isdigit()):
        raise InvalidHours(f"horário inválido: {value!r} (use HH:MM)")
    h, m = int(value[:2]), int(value[3:])
    if m >= 60 or h > 24 or (h == 24 and m):
        raise InvalidHours(f"horário inválido: {value!r}")
    return h * 60 + m


@dataclass(frozen=True, slots=True)
class BusinessHours:
    tz: ZoneInfo
    weekly: tuple[tuple[tuple[int, int], ...], ...]  # per weekday (Monday first): (start, end) in minutes
    holidays: frozenset[date]

    def open_intervals(self, day: date) -> tuple[tuple[int, int], ...]:
        return () if day in self.holidays else self.weekly[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.open_intervals(local.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """The first moment at or after `at` when the team is open (`at` itself if open now)."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        for offset in range(LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for start, _end in self.open_intervals(day):
                if offset == 0 and start <= minute:
                    continue
                moment = self._local(day, start)
                if moment > at:
                    return moment
        return None

    def _local(self, day: date, minute: int) -> datetime:
        if minute >= 24 * 60:
            return self._local(day + timedelta(days=1), minute - 24 * 60)
        naive = datetime.combine(day, time(minute // 60, minute % 60))
        # A wall time skipped by a DST change becomes the first valid instant after it.
        aware = naive.replace(tzinfo=self.tz)
        return aware.astimezone(UTC)


def parse(spec: Mapping[str, Any] | None, default_tz: str = "America/Sao_Paulo") -> BusinessHours | None:
    """Validate a business-hours object (raises InvalidHours with a Portuguese message); None = always open."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise InvalidHours("business_hours deve ser um objeto")
    tz_name = spec.get("timezone") or default_tz
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidHours(f"fuso horário desconhecido: {tz_name}") from None
    weekly_spec = spec.get("weekly") or {}
    if not isinstance(weekly_spec, Mapping):
        raise InvalidHours("weekly deve ser um objeto (mon, tue, ...)")
    unknown = set(weekly_spec) - set(DAYS)
    if unknown:
        raise InvalidHours(f"dia inválido em weekly: {', '.join(sorted(map(str, unknown)))} (use {', '.join(DAYS)})")
    weekly: list[tuple[tuple[int, int], ...]] = []
    for day in DAYS:
        intervals = weekly_spec.get(day) or []
        if not isinstance(intervals, list) or len(intervals) > MAX_INTERVALS:
            raise InvalidHours(f"{day}: informe até {MAX_INTERVALS} intervalos [[\"08:00\", \"18:00\"]]")
        parsed: list[tuple[int, int]] = []
        for interval in intervals:
            if not isinstance(interval, list | tuple) or len(interval) != 2:
                raise InvalidHours(f"{day}: cada intervalo é [início, fim]")
            start, end = _minutes(interval[0]), _minutes(interval[1])
            if end <= start:
                raise InvalidHours(f"{day}: o fim ({interval[1]}) deve ser depois do início ({interval[0]})")
            parsed.append((start, end))
        weekly.append(tuple(sorted(parsed)))
    holidays_spec = spec.get("holidays") or []
    if not isinstance(holidays_spec, list) or len(holidays_spec) > MAX_HOLIDAYS:
        raise InvalidHours(f"holidays: uma lista de até {MAX_HOLIDAYS} datas AAAA-MM-DD")
    holidays: set[date] = set()
    for value in holidays_spec:
        try:
            if not isinstance(value, str) or not value.isascii():
                raise ValueError
            holidays.add(date.fromisoformat(value))
        except ValueError:
            raise InvalidHours(f"feriado inválido: {value!r} (use AAAA-MM-DD)") from None
    return BusinessHours(tz, tuple(weekly), frozenset(holidays))


def normalized(hours: BusinessHours) -> dict[str, Any]:
    """The canonical JSON form of parsed hours (what is stored and returned)."""
    def hhmm(minute: int) -> str:
        return f"{minute // 60:02d}:{minute % 60:02d}"

    return {
        "timezone": hours.tz.key,
        "weekly": {day: [[hhmm(s), hhmm(e)] for s, e in hours.weekly[i]] for i, day in enumerate(DAYS)
                   if hours.weekly[i]},
        "holidays": sorted(d.isoformat() for d in hours.holidays),
    }


def is_open(spec: Mapping[str, Any] | None, at: datetime) -> bool:
    hours = parse(spec)
    return True if hours is None else hours.is_open(at)


def next_opening(spec: Mapping[str, Any] | None, at: datetime) -> datetime | None:
    hours = parse(spec)
    return at if hours is None else hours.next_opening(at)
