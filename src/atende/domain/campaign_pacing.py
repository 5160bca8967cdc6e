"""How a campaign spreads its sends: batches of N every S seconds, so that `rate_per_minute` holds.
Pure, no I/O.

About six batches a minute (one every 10 s) keeps the pace even without one request per message;
a slow rate sends one message at a time; a fast one sends full batches (Kolmeya takes up to 1,000
messages per /sms/store request) more often.
"""

from __future__ import annotations

__all__ = ["BATCHES_PER_MINUTE", "effective_rate", "plan"]

BATCHES_PER_MINUTE = 6


def effective_rate(rate_per_minute: int, per_second_limit: float | None) -> int:
    """The campaign's rate, capped by the connector's throughput (WhatsApp: messages per second)."""
    rate = max(1, int(rate_per_minute))
    if per_second_limit:
        rate = min(rate, max(1, int(per_second_limit * 60)))
    return rate


def plan(rate_per_minute: int, max_batch: int) -> tuple[int, float]:
    """(messages per batch, seconds from one batch's start to the next) for `rate_per_minute`."""
    rate = max(1, int(rate_per_minute))
    batch = min(max(1, rate // BATCHES_PER_MINUTE), max(1, max_batch))
    return batch, 60.0 * batch / rate
