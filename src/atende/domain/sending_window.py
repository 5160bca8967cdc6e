"""When a campaign may send: a daily window on some weekdays, in one time zone. Pure, no I/O.

`{"timezone": "America/Sao_Paulo", "start": "08:00", "end": "20:00", "days": ["mon", ..., "sat"]}`
(the default days: Monday to Saturday, no Sundays). `start` is inclusive, `end` exclusive; `end` may
be "24:00". Day names in English (mon..sun) or Portuguese (seg..dom).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DAY_NAMES", "SendingWindow", "WindowError"]

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PT_DAYS = {"seg": 0, "ter": 1, "qua": 2, "qui": 3, "sex": 4, "sab": 5, "sáb": 5, "dom": 6}
_DEFAULT_DAYS = frozenset(range(6))


class WindowError(ValueError):
    """A window that cannot be used (the message says why, in pt-BR)."""


def _clock(value: Any, label: str) -> tuple[int, int]:
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        raise WindowError(f"horário de {label} inválido: use HH:MM (por exemplo 08:00)")
    hours, minutes = int(value[:2]), int(value[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise WindowError(f"horário de {label} inválido: {value}")
    return hours, minutes


@dataclass(frozen=True)
class SendingWindow:
    timezone: str = "America/Sao_Paulo"
    start: tuple[int, int] = (8, 0)
    end: tuple[int, int] = (20, 0)
    days: frozenset[int] = _DEFAULT_DAYS  # 0 = Monday

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> SendingWindow:
        tz = data.get("timezone") or "America/Sao_Paulo"
        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError):
            raise WindowError(f"fuso horário desconhecido: {tz}") from None
        start = _clock(data.get("start", "08:00"), "início")
        end = _clock(data.get("end", "20:00"), "fim")
        if end <= start:
            raise WindowError("o fim da janela de envio deve ser depois do início")
        raw_days = data.get("days")
        if raw_days is None:
            days = _DEFAULT_DAYS
        else:
            if not isinstance(raw_days, list):
                raise WindowError("days deve ser uma lista de dias (mon, tue, ... ou seg, ter, ...)")
            found: set[int] = set()
            for item in raw_days:
                name = str(item).strip().lower()[:3]
                index = DAY_NAMES.index(name) if name in DAY_NAMES else _PT_DAYS.get(name)
                if index is None:
                    raise WindowError(f"dia da semana desconhecido: {item}")
                found.add(index)
            if not found:
                raise WindowError("escolha ao menos um dia da semana para a janela de envio")
            days = frozenset(found)
        return cls(str(tz), start, end, days)

    def as_dict(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "start": "{:02d}:{:02d}".format(*self.start),
                "end": "{:02d}:{:02d}".format(*self.end),
                "days": [DAY_NAMES[d] for d in sorted(self.days)]}

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _at(self, day: date, hm: tuple[int, int]) -> datetime:
        if hm == (24, 0):
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self._tz).astimezone(UTC)
        return datetime.combine(day, time(*hm), tzinfo=self._tz).astimezone(UTC)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self._tz)
        if local.weekday() not in self.days:
            return False
        return self._at(local.date(), self.start) <= at < self._at(local.date(), self.end)

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when open, else the next moment the window opens (UTC)."""
        if self.is_open(at):
            return at
        local_day = at.astimezone(self._tz).date()
        for offset in range(8):
            day = local_day + timedelta(days=offset)
            if day.weekday() in self.days:
                opening = self._at(day, self.start)
                if opening > at:
                    return opening
        raise AssertionError("a window with days always opens within a week")  # pragma: no cover

    def closes_at(self, at: datetime) -> datetime | None:
        """When the opening `at` is in ends (UTC); None when closed."""
        if not self.is_open(at):
            return None
        return self._at(at.astimezone(self._tz).date(), self.end)
