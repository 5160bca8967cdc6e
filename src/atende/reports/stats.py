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


class Ratings:
    """Satisfaction answers (1 to 5) counted per score, summarized as {responses, average, distribution}."""

    __slots__ = ("counts",)
    SCORES = (1, 2, 3, 4, 5)

    def __init__(self) -> None:
        self.counts = dict.fromkeys(self.SCORES, 0)

    def add(self, rating: int) -> None:
        if rating in self.counts:  # the survey stores only 1..5; anything else is not a rating
            self.counts[rating] += 1

    def summary(self) -> dict[str, Any]:
        responses = sum(self.counts.values())
        total = sum(score * n for score, n in self.counts.items())
        return {"responses": responses, "average": round(total / responses, 2) if responses else None,
                "distribution": {str(score): n for score, n in self.counts.items()}}
