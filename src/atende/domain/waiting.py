"""Waiting-time colours: how long a customer has waited for an answer, against a team's thresholds.

The card's colour is rendered by the server and kept current in the browser by static/js/waiting.js,
which applies the same rule (`level`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Level = Literal["", "warn", "late"]


@dataclass(frozen=True)
class Thresholds:
    warn_s: int  # amber from here (0: never)
    late_s: int  # red from here (0: never)

    def merged(self, warn_s: int | None, late_s: int | None) -> Thresholds:
        """A team's own values over these defaults (None: the default)."""
        return Thresholds(self.warn_s if warn_s is None else warn_s, self.late_s if late_s is None else late_s)


def level(waited_s: float, t: Thresholds) -> Level:
    if t.late_s and waited_s >= t.late_s:
        return "late"
    if t.warn_s and waited_s >= t.warn_s:
        return "warn"
    return ""


def level_since(since: datetime | None, now: datetime, t: Thresholds) -> Level:
    """Nobody waiting (no clock) is never late."""
    return level((now - since).total_seconds(), t) if since is not None else ""
