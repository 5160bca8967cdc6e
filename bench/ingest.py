"""Benchmark: acknowledged inbound Kolmeya webhooks per second on SQLite (issue 2).

Starts `atende serve` in a subprocess on a fresh SQLite file, posts unique Kolmeya reply webhooks
from a separate load process over loopback, then checks that every acknowledged message is stored.

    .venv/bin/python bench/ingest.py --requests 20000 --concurrency 16 64
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _webhooks
from _load import http_post


def kolmeya_reply(path: str, host: str, i: int, phones: int) -> bytes:
    body = json.dumps({"reply": {"id": f"bench-{i}", "reply": f"mensagem {i} do cliente",
                                 "received_at": "16/11/2025 14:30:00",
                                 "message": {"id": f"m-{i}", "reference": None,
                                             "phone": str(5511900000000 + i % phones), "content": "x"}}}).encode()
    return http_post(path, body, host)


if __name__ == "__main__":
    _webhooks.main("Inbound Kolmeya webhooks", "kolmeya",
                   {"api_token": "t", "base_url": "http://127.0.0.1:9/api/v1", "poll_interval_s": 0},
                   kolmeya_reply, __doc__)
