"""Helpers shared by the whatsapp_cloud tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from atende.channels.base import WebhookBatch, WebhookRequest
from atende.channels.meta.signature import sign
from atende.channels.whatsapp_cloud.config import WhatsAppCloudConfig
from atende.channels.whatsapp_cloud.fixtures import fixture_bytes
from atende.channels.whatsapp_cloud.parse import parse_webhook_body
from atende.testing.fake_graph import FakeGraph

APP_SECRET = "test-secret"
VERIFY_TOKEN = "verifica-123"
GRAPH_BASE = "http://graph.test"


def make_config(fake: FakeGraph, **overrides: object) -> WhatsAppCloudConfig:
    values: dict[str, object] = {
        "access_token": fake.access_token,
        "phone_number_id": fake.phone_number_id,
        "app_secret": fake.app_secret,
        "verify_token": VERIFY_TOKEN,
        "waba_id": fake.waba_id,
        "base_url": GRAPH_BASE,
        "api_version": fake.api_version,
    }
    values.update(overrides)
    return WhatsAppCloudConfig.model_validate(values)


def signed_request(raw: bytes, secret: str = APP_SECRET, header: str | None = "auto") -> WebhookRequest:
    headers = {"content-type": "application/json"}
    if header == "auto":
        headers["x-hub-signature-256"] = sign(raw, secret)
    elif header is not None:
        headers["x-hub-signature-256"] = header
    return WebhookRequest(method="POST", body=raw, headers=headers, query={})


def parse_fixture(name: str) -> WebhookBatch:
    return parse_webhook_body(fixture_bytes(name))
