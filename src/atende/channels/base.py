"""The contract between the engine and a provider package.

A provider package only translates (design.md, rule 2): webhook bytes become normalized
inbound events, a normalized outbound message becomes an HTTP call. It never touches the
database; the engine's actions store what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol

import httpx
from pydantic import BaseModel

Channel = Literal["whatsapp", "sms", "instagram", "messenger", "sandbox"]
Direction = Literal["in", "out"]
# Message kinds of design.md; providers map theirs onto these and use "unsupported" otherwise.
KINDS = (
    "text", "image", "audio", "video", "document", "sticker", "location", "contacts",
    "interactive", "reaction", "template", "note", "event", "unsupported",
)
DeliveryStatus = Literal["queued", "sending", "sent", "delivered", "read", "failed"]


@dataclass(frozen=True, slots=True)
class MediaRef:
    """Media as the provider describes it; the engine downloads and stores it."""

    provider_media_id: str | None = None
    url: str | None = None
    mime_type: str | None = None
    filename: str | None = None
    sha256: str | None = None
    caption: str | None = None
    voice: bool = False


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message the provider reports: from a customer, or an echo of ours (direction="out")."""

    provider_message_id: str
    address: str  # the contact's address on this channel: E.164 phone, BSUID, PSID/IGSID
    kind: str
    text: str | None
    timestamp: datetime  # aware, UTC
    raw: Mapping[str, Any]
    direction: Direction = "in"
    contact_name: str | None = None
    # How to find the conversation / message this one answers, best first.
    reply_to_provider_id: str | None = None  # provider id of the message answered or quoted
    reply_to_reference: str | None = None  # our own reference (message id) of the message answered
    media: MediaRef | None = None
    # Provider-specific facts kept on the message (wa_id, bsuid, forwarded, location, reaction target…).
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # Identity facts about the sender: {"wa_id": "...", "bsuid": "..."}; stored on the contact identity.
    identity: Mapping[str, str] = field(default_factory=dict)
    # The provider account the message arrived on (e.g. WhatsApp phone_number_id), for routing.
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A delivery report for a message we sent."""

    status: DeliveryStatus
    timestamp: datetime
    raw: Mapping[str, Any]
    provider_message_id: str | None = None
    reference: str | None = None  # our message id, when the provider echoes it
    error_code: str | None = None
    error: str | None = None  # agent-facing reason, in pt-BR
    recipient: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """Anything else a webhook reports that the engine may act on (template status, account alerts)."""

    type: str
    data: Mapping[str, Any]


@dataclass(slots=True)
class WebhookBatch:
    messages: list[InboundMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    events: list[ProviderEvent] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.messages or self.statuses or self.events)

    def extend(self, other: WebhookBatch) -> None:
        self.messages.extend(other.messages)
        self.statuses.extend(other.statuses)
        self.events.extend(other.events)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """What the engine asks a provider to send."""

    reference: str  # our message id, as a string; providers echo it where they can
    to: str  # the address to send to (exact wa_id last received, E.164 phone, PSID…)
    kind: str = "text"
    text: str | None = None
    media: MediaRef | None = None
    template: Mapping[str, Any] | None = None  # {"name", "language", "components"}
    reply_to_provider_id: str | None = None
    reaction: Mapping[str, str] | None = None  # {"message_id", "emoji"}
    webhook_url: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """Outcome of one send. A failure that is not transient is reported here, not raised."""

    reference: str
    status: DeliveryStatus  # "sent" when the provider accepted it, "failed" otherwise
    provider_message_id: str | None = None
    provider_request_id: str | None = None
    error_code: str | None = None
    error: str | None = None  # agent-facing reason, in pt-BR
    canonical_address: str | None = None  # e.g. the wa_id the provider resolved `to` into
    raw: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ConnectionTest:
    ok: bool
    detail: str
    balance: Decimal | None = None


class ProviderError(Exception):
    """A call failed as a whole. `transient` tells the job worker whether to retry."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        code: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.code = code
        self.status_code = status_code
        self.retry_after = retry_after


class WebhookRejected(Exception):
    """The webhook must be refused with this HTTP status; nothing is stored."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Capabilities:
    media: bool = False
    templates: bool = False
    reactions: bool = False
    read_receipts: bool = False
    service_window_hours: int | None = None  # WhatsApp: 24
    segments: bool = False  # SMS: segment counting and cost
    polling: bool = False  # provider can be polled for replies and statuses
    signed_webhooks: bool = False


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """The parts of an HTTP request a provider needs to verify and parse a webhook."""

    method: str
    body: bytes
    headers: Mapping[str, str]  # lower-case names
    query: Mapping[str, str]


class Provider(Protocol):
    """One provider. Instances are built per connector by the registry: `Provider(config, http)`."""

    name: ClassVar[str]  # "kolmeya", "whatsapp_cloud", ...
    channel: ClassVar[Channel]
    capabilities: ClassVar[Capabilities]
    config_model: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[frozenset[str]]  # config keys never echoed back

    def __init__(self, config: BaseModel, http: httpx.AsyncClient) -> None: ...

    def handshake(self, request: WebhookRequest) -> str | None:
        """Answer a GET verification handshake (raw body to return), or raise WebhookRejected.
        Providers without one return None."""
        ...

    def parse_webhook(self, request: WebhookRequest) -> WebhookBatch:
        """Verify (signature) and translate one webhook POST. Raise WebhookRejected on bad input."""
        ...

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message. Raise ProviderError for whole-call failures (transient or not)."""
        ...

    async def test_connection(self) -> ConnectionTest: ...


_REASONS = {
    "unauthorized": "credenciais recusadas pelo provedor (HTTP 401): confira o token",
    "forbidden": "acesso negado pelo provedor (HTTP 403): confira o token e a liberação de IP",
    "not_found": "endereço não encontrado no provedor (HTTP 404): confira base_url",
    "timeout": "tempo esgotado esperando o provedor",
    "dns_error": "host do provedor não encontrado (DNS): confira base_url",
    "tls_error": "falha TLS/SSL ao conectar no provedor",
    "bad_url": "base_url inválida",
    "connection_error": "não foi possível conectar ao provedor",
    "network": "não foi possível conectar ao provedor",
    "rate_limited": "limite de requisições do provedor atingido",
    "bad_response": "resposta inesperada do provedor: confira base_url",
    "server_error": "provedor indisponível no momento",
}
REASON_MAX = 300
# Codes whose ProviderError message is in our own words (hints about base_url, IP allow-lists…).
OWN_WORDS = frozenset(_REASONS) - {"bad_response"}


def connection_reason(exc: ProviderError) -> str:
    """A short reason for a failed call, in our words only: the remote body may echo anything
    (tokens, markup, other customers' data), so it never reaches the screen."""
    status = exc.status_code or getattr(exc, "http_status", None)
    if exc.code in _REASONS:
        return _REASONS[exc.code]
    if status == 401:
        return _REASONS["unauthorized"]
    if status == 403:
        return _REASONS["forbidden"]
    if status == 404:
        return _REASONS["not_found"]
    if status == 429:
        return _REASONS["rate_limited"]
    if isinstance(status, int) and status >= 500:
        return f"provedor indisponível no momento (HTTP {status})"
    return f"o provedor recusou a chamada (HTTP {status})" if status else "falha ao falar com o provedor"


def sanitize_reason(text: str) -> str:
    """Last guard on what "Testar conexão" shows: one line, no markup, short, and nothing a remote
    server wrote after our own words ("... respondeu: <body>")."""
    line = " ".join(str(text).split())
    for marker in (" respondeu:", " answered:"):
        cut = line.find(marker)
        if cut > 0:
            sentence = line.rfind(". ", 0, cut)
            line = line[:sentence + 1] if sentence > 0 else line[:cut].rstrip(" .:,") + "."
    for marker in ("{", "<"):
        cut = line.find(marker)
        if cut >= 0:
            line = line[:cut].rstrip(" .:,(") + "."
    return line[:REASON_MAX]


def provider_reason(exc: ProviderError) -> str:
    """What a connection test shows for a failed call: the provider package's own hint when it is
    made of our words, else the generic reason; never the remote body."""
    if exc.code in OWN_WORDS:
        return sanitize_reason(exc.message)
    return connection_reason(exc)
