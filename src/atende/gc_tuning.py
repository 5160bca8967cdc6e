"""Garbage-collector settings for a serving process.

A process holding a thousand live event streams has a large, long-lived heap, and CPython's default
thresholds ran a full collection about once a second, each pausing the event loop for about 300 ms
(every stream's next event late by that much: `bench/sse.py`, p99 1.3 s). Freezing what exists once
the app is built takes it out of every later collection, and a higher first threshold makes the
collections of the long-lived generations rare. Cyclic garbage still goes, a little later.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000  # allocations between young collections (CPython's default: 700)


def tune_for_serving() -> None:
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
