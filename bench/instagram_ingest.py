"""Benchmark: acknowledged, signed Instagram Direct webhooks per second on SQLite (issue 13).

Starts `atende serve` in a subprocess on a fresh SQLite file with one Instagram connector, posts
unique text messages from a separate load process over loopback — each body shaped and encoded the
way Meta sends Instagram's (`object: "instagram"`, `entry[].messaging[]`, millisecond timestamps,
escaped unicode) and signed with `X-Hub-Signature-256` over those exact bytes — then checks that
every acknowledged message is stored. New customers also queue a profile fetch (the Graph API is
unreachable here, so those jobs only retry in the background, as a worst case).

    .venv/bin/python bench/instagram_ingest.py --requests 5000 --concurrency 16 64
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _webhooks
from _load import http_post

APP_SECRET = "bench-app-secret"
IG_ACCOUNT = "17841400123456789"


def signed_text(path: str, host: str, i: int, phones: int) -> bytes:
    from atende.channels.meta.signature import sign
    from atende.testing.fake_graph import encode

    igsid = str(1234567890000000 + (i % phones))
    now = int(time.time() * 1000)
    payload = {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": now, "messaging": [{
        "sender": {"id": igsid}, "recipient": {"id": IG_ACCOUNT}, "timestamp": now,
        "message": {"mid": f"aWdfZAG1faXRlbTo-bench-{i}", "text": f"Olá, mensagem {i} — tem no tamanho 38?"}}]}]}
    raw = encode(payload)
    return http_post(path, raw, host, f"X-Hub-Signature-256: {sign(raw, APP_SECRET)}\r\n")


if __name__ == "__main__":
    _webhooks.main("Inbound signed Instagram webhooks", "instagram",
                   {"ig_user_id": IG_ACCOUNT, "page_access_token": "t", "app_secret": APP_SECRET,
                    "verify_token": "v", "base_url": "http://127.0.0.1:9"},
                   signed_text, __doc__)
