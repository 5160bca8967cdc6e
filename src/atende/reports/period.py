"""The days a report covers, in a time zone: `from` and `to` are whole local days, both included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atende.actions.errors import Invalid

MAX_DAYS = 366
DEFAULT_DAYS = 7


@dataclass(frozen=True, slots=True)
class Period:
    first: date
    last: date  # included
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first instant (UTC) of the period."""
        return local_midnight(self.first, self.tz)

    @property
    def end(self) -> datetime:
        """The first instant (UTC) after the period."""
        return local_midnight(self.last + timedelta(days=1), self.tz)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def day_of(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def query(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat(), "tz": self.tz.key}


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo((name or default).strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"fuso horário desconhecido: {name}", code="bad_tz") from None


def _day(value: str, name: str) -> date:
    try:
        if len(value) != 10 or not value.isascii():
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} deve ser uma data AAAA-MM-DD", code="bad_date") from None


def parse_period(first: str | None, last: str | None, tz: str | None, *, default_tz: str,
                 today: date | None = None, max_days: int = MAX_DAYS) -> Period:
    """From query parameters; without dates, the last 7 days up to today. Refuses what the hourly
    counters cannot answer exactly: a zone whose midnights in the period fall off the whole UTC hour."""
    z = zone(tz, default_tz)
    if today is None:
        from atende.db.types import utcnow

        today = utcnow().astimezone(z).date()
    end = _day(last, "to") if last else today
    start = _day(first, "from") if first else end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid("from deve ser anterior ou igual a to", code="bad_period")
    if (end - start).days + 1 > max_days:
        raise Invalid(f"o período pode ter no máximo {max_days} dias", code="bad_period")
    period = Period(start, end, z)
    for day in [*period.days(), end + timedelta(days=1)]:
        offset = datetime.combine(day, time(0), tzinfo=z).utcoffset() or timedelta(0)
        if offset.total_seconds() % 3600:
            raise Invalid(f"o fuso {z.key} não tem deslocamento de horas inteiras: os relatórios contam por hora",
                          code="bad_tz")
    return period
