"""Mutated real fixtures through the real webhook endpoints (verify, parse, ingest, commit): a 2xx or a
clear 4xx, never a 500. WhatsApp payloads are signed, so they reach the parser and ingest."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings

from atende.testing.fake_graph import signed_headers
from tests.channels.test_fixture_mutations import KOLMEYA, WHATSAPP, mutated
from tests.support.harness import Harness
from tests.support.whatsapp import webhook_path


def _collect(fixtures: list[tuple[str, Any]], n: int) -> list[Any]:
    found: list[Any] = []

    @settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(mutated(fixtures))
    def probe(case: tuple[str, Any]) -> None:
        found.append(case[1])

    probe()
    return found + [doc for _, doc in fixtures]  # the untouched fixtures too


async def test_mutated_provider_payloads_never_yield_a_500(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    kolmeya = await h.kolmeya_connector()
    wa = await h.whatsapp_connector()
    failures: list[str] = []
    for doc in _collect(KOLMEYA, 120):
        raw = json.dumps(doc).encode()
        r = await h.client.post(webhook_path(kolmeya), content=raw, headers={"content-type": "application/json"})
        if r.status_code >= 500:
            failures.append(f"kolmeya {raw[:300]!r} -> {r.status_code} {r.text[:200]}")
    for doc in _collect(WHATSAPP, 120):
        raw = json.dumps(doc).encode()
        r = await h.client.post(webhook_path(wa), content=raw, headers=signed_headers(raw, h.graph.app_secret))
        if r.status_code >= 500:
            failures.append(f"whatsapp {raw[:300]!r} -> {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures[:5])
    await h.drain()  # and the jobs they caused run without crashing the worker either
