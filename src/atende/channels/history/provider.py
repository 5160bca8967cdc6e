"""A provider for history only: connectors that hold conversations imported from another system
(ChatRoom connectors not mapped to a live one). It neither receives nor sends.

The channel is chosen per connector (`config.channel`), so imported WhatsApp, Messenger and
Instagram threads keep their badges and their address kinds (phone, PSID, IGSID).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from atende.channels.base import (
    N_,
    Capabilities,
    Channel,
    ConfigField,
    ConnectionTest,
    OutboundMessage,
    ProviderError,
    SendResult,
    WebhookBatch,
    WebhookRejected,
    WebhookRequest,
)

NOT_LIVE = "conector só de histórico (importado): não envia nem recebe mensagens"


class HistoryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["whatsapp", "messenger", "instagram", "sms", "sandbox"] = "whatsapp"
    source: str = ""  # where the history came from, e.g. "ChatRoom (odoo.example.com/db) #3"


class HistoryProvider:
    name: ClassVar[str] = "history"
    label: ClassVar[str] = N_("Histórico importado")
    channel: ClassVar[Channel] = "sandbox"  # per connector: config.channel (see connectors.channel_of)
    capabilities: ClassVar[Capabilities] = Capabilities()
    config_model: ClassVar[type[BaseModel]] = HistoryConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset()
    form_fields: ClassVar[tuple[ConfigField, ...]] = ()  # made by the ChatRoom import, not in the settings

    def __init__(self, config: BaseModel, http: httpx.AsyncClient) -> None:
        assert isinstance(config, HistoryConfig)
        self.config = config

    def handshake(self, request: WebhookRequest) -> str | None:
        raise WebhookRejected(404, NOT_LIVE)

    def parse_webhook(self, request: WebhookRequest) -> WebhookBatch:
        raise WebhookRejected(404, NOT_LIVE)

    async def send(self, message: OutboundMessage) -> SendResult:
        raise ProviderError(NOT_LIVE, transient=False, code="history_only")

    async def test_connection(self) -> ConnectionTest:
        return ConnectionTest(ok=False, detail=NOT_LIVE)
