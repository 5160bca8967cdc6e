"""A provider that talks to nobody: for `atende demo` and tests of the engine alone.

`channel` is chosen per connector ("sms" or "whatsapp" look-alikes) so the demo board shows both
badges; sends are accepted at once and reported delivered by the demo simulator.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from atende.channels.base import (
    N_,
    Capabilities,
    Channel,
    ConfigField,
    ConnectionTest,
    InboundMessage,
    OutboundMessage,
    SendResult,
    StatusUpdate,
    WebhookBatch,
    WebhookRejected,
    WebhookRequest,
)
from atende.domain.phones import InvalidPhone, normalize_phone

LOOK_LIKE = ("sms", "whatsapp", "instagram", "messenger", "sandbox")


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    look_like: Literal["sms", "whatsapp", "instagram", "messenger", "sandbox"] = "sandbox"
    cost_per_segment: str = "0"
    sms_economize: bool = False  # "Economizar SMS" on an SMS look-alike, as on Kolmeya


class SandboxProvider:
    name: ClassVar[str] = "sandbox"
    label: ClassVar[str] = N_("Sandbox (demonstração)")
    channel: ClassVar[Channel] = "sandbox"
    capabilities: ClassVar[Capabilities] = Capabilities()
    config_model: ClassVar[type[BaseModel]] = SandboxConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    form_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("look_like", N_("Simular canal"), "select", options=LOOK_LIKE),
        ConfigField("cost_per_segment", N_("Custo por segmento (R$)"), placeholder="0"),
        ConfigField("sms_economize", N_("Economizar SMS"), "bool"),
    )

    def __init__(self, config: BaseModel, http: httpx.AsyncClient) -> None:
        assert isinstance(config, SandboxConfig)
        self.config = config
        self.http = http

    def handshake(self, request: WebhookRequest) -> str | None:
        return None

    def parse_webhook(self, request: WebhookRequest) -> WebhookBatch:
        """Body: {"messages": [{"id", "from", "text", "name"?}], "statuses": [{"id", "status"}]}."""
        try:
            data = json.loads(request.body)
            batch = WebhookBatch()
            now = datetime.now(UTC)
            for m in data.get("messages", []):
                batch.messages.append(InboundMessage(
                    provider_message_id=str(m["id"]), address=self._address(m["from"]), kind="text",
                    text=str(m["text"]), timestamp=now, raw=m, contact_name=m.get("name"),
                ))
            for s in data.get("statuses", []):
                if s["status"] not in ("sent", "delivered", "read", "failed"):
                    raise ValueError(f"unknown status {s['status']!r}")
                batch.statuses.append(StatusUpdate(
                    status=s["status"], timestamp=now, raw=s, provider_message_id=str(s["id"]),
                    error=s.get("error"),
                ))
        except (ValueError, KeyError, TypeError, AttributeError, InvalidPhone) as exc:
            raise WebhookRejected(400, f"invalid sandbox payload: {exc}") from exc
        return batch

    def _address(self, value: object) -> str:
        """A phone for SMS / WhatsApp look-alikes; a page-scoped id (digits) for Instagram / Messenger."""
        if self.config.look_like in ("instagram", "messenger"):
            text = str(value)
            if not (text.isascii() and text.isdigit() and 5 <= len(text) <= 30):
                raise ValueError(f"not a page-scoped id: {text[:40]!r}")
            return text
        return normalize_phone(str(value))

    async def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(reference=message.reference, status="sent", provider_message_id=f"sbx-{uuid.uuid4()}")

    async def test_connection(self) -> ConnectionTest:
        return ConnectionTest(ok=True, detail="Sandbox: conectado")
