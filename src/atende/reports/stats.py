"""Exact medians and percentiles of durations (pure).

Method (written on the reports page): nearest rank. The n durations are sorted and the p-th percentile
is the one at position ⌈p·n/100⌉ (counting from 1); the median is p = 50. The answer is always a
duration that really happened, and the same list gives the same answer on any database.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any


def nearest_rank(ordered: Sequence[int], percent: int) -> int | None:
    """The `percent`-th percentile (1..100) of an ascending sequence; None when it is empty."""
    n = len(ordered)
    if n == 0:
        return None
    if not 1 <= percent <= 100:
        raise ValueError("percent must be within 1..100")
    rank = max(1, (percent * n + 99) // 100)  # ⌈percent·n/100⌉ in integers: no float rounding
    return int(ordered[rank - 1])


class Durations:
    """Seconds collected one by one (compact: 8 bytes each), summarized as {median, p90, count}."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: array[int] = array("q")

    def add(self, seconds: int) -> None:
        self.values.append(seconds)

    def __len__(self) -> int:
        return len(self.values)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.values)
        return {"median": nearest_rank(ordered, 50), "p90": nearest_rank(ordered, 90), "count": len(ordered)}
