"""Benchmark: acknowledged, signed WhatsApp Cloud webhooks per second on SQLite (issue 3).

Starts `atende serve` in a subprocess on a fresh SQLite file with one WhatsApp Cloud connector,
posts unique text messages from a separate load process over loopback — each body encoded the way
Meta encodes it (escaped unicode) and signed with `X-Hub-Signature-256` over those exact bytes —
then checks that every acknowledged message is stored.

    .venv/bin/python bench/whatsapp_ingest.py --requests 20000 --concurrency 16 64
    .venv/bin/python bench/whatsapp_ingest.py --requests 2000 --per-request 10 --concurrency 64   # batched
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _webhooks
from _load import http_post

APP_SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "106540352242922"


def signed_text(path: str, host: str, i: int, phones: int, per_request: int = 1) -> bytes:
    """Request i; with `per_request` N it carries messages i·N … i·N+N-1 (Meta batches, distinct senders)."""
    from atende.channels.meta.signature import sign
    from atende.testing.fake_graph import build_message_webhook, contact_entry, encode, text_message

    msgs, contacts = [], []
    for n in range(i * per_request, (i + 1) * per_request):
        wa_id = str(5511900000000 + (n % phones))
        msgs.append(text_message(wa_id, f"Olá, mensagem {n} do cliente — está disponível?", wamid=f"wamid.bench-{n}"))
        contacts.append(contact_entry(wa_id, f"Cliente {n % phones}"))
    payload = build_message_webhook(msgs, contacts, phone_number_id=PHONE_NUMBER_ID)
    raw = encode(payload)  # escaped unicode, as Meta sends it; the signature covers these bytes
    return http_post(path, raw, host, f"X-Hub-Signature-256: {sign(raw, APP_SECRET)}\r\n")


if __name__ == "__main__":
    _webhooks.main("Inbound signed WhatsApp Cloud webhooks", "whatsapp_cloud",
                   {"access_token": "t", "phone_number_id": PHONE_NUMBER_ID, "app_secret": APP_SECRET,
                    "verify_token": "v", "base_url": "http://127.0.0.1:9"},
                   signed_text, __doc__, batches=True)
