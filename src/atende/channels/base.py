"""The contract between the engine and a provider package.

A provider package only translates (design.md, rule 2): webhook bytes become normalized
inbound events, a normalized outbound message becomes an HTTP call. It never touches the
database; the engine's actions store what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel

Channel = Literal["whatsapp", "sms", "instagram", "messenger", "sandbox"]
Direction = Literal["in", "out"]
# Message kinds of design.md; providers map theirs onto these and use "unsupported" otherwise.
KINDS = (
    "text", "image", "audio", "video", "document", "sticker", "location", "contacts",
    "interactive", "reaction", "template", "note", "event", "order", "share", "story_mention", "unsupported",
)
DeliveryStatus = Literal["queued", "sending", "sent", "delivered", "read", "failed"]
# What an inbound item does to a message already stored (by `revises`, the provider id).
Revision = Literal["edit", "delete"]


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
class AddressChange:
    """The customer now answers at another address (WhatsApp `user_changed_number` and
    `user_changed_user_id`): the conversation moves there and the contact gains the identity.
    Only signed providers may report one (design.md rule 10)."""

    new_address: str
    identity: Mapping[str, str] = field(default_factory=dict)  # {"wa_id": ...} / {"bsuid": ...}


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
    # An edit or deletion of the message whose provider id is `revises` (kind/text/media: the new
    # content of an edit). It changes that message instead of adding one.
    revision: Revision | None = None
    revises: str | None = None
    address_change: AddressChange | None = None


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
    # A watermark (Messenger `delivery`/`read`, Instagram `messaging_seen`): every message sent to
    # `recipient` up to this instant reached this status too.
    up_to: datetime | None = None


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
    # Sent outside the standard window under a message tag the engine allowed (Meta: "HUMAN_AGENT").
    message_tag: str | None = None


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
    # Messenger / Instagram: human agents may answer this long after the customer's last message,
    # with the HUMAN_AGENT tag, when the connector says its app has it (`config.human_agent_tag`).
    human_agent_window_hours: int | None = None
    profiles: bool = False  # the customer's name and picture can be fetched (`ProfileFetcher`)
    fetch_media: bool = False  # files customers send are downloaded by the engine (`MediaFetcher`)
    upload_media: bool = False  # our stored files can be uploaded for sending (`MediaUploader`)
    segments: bool = False  # SMS: segment counting and cost
    polling: bool = False  # provider can be polled for replies and statuses
    signed_webhooks: bool = False


def N_(text: str) -> str:
    """Marks a pt-BR UI string for translation where it is declared (the page translates it when
    shown; `pybabel extract -k N_`)."""
    return text


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One field of a provider's connector form (settings page): the config key, its pt-BR label."""

    name: str
    label: str
    kind: Literal["text", "password", "number", "select", "bool"] = "text"  # bool: a checkbox
    required: bool = False
    placeholder: str = ""
    options: tuple[str, ...] = ()
    help: str = ""


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
    label: ClassVar[str]  # how people know it: "WhatsApp Cloud API", "Instagram"
    channel: ClassVar[Channel]
    capabilities: ClassVar[Capabilities]
    config_model: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[frozenset[str]]  # config keys never echoed back
    form_fields: ClassVar[tuple[ConfigField, ...]]  # the connector form of the settings page

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


# Optional abilities. A provider that has one implements its protocol below and says so in its
# `Capabilities`; the engine asks through the functions after them (`media_fetcher(provider)`…),
# never guessing with hasattr.


@runtime_checkable
class MediaFetcher(Protocol):
    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        """Download a file a customer sent: (content, MIME type). ProviderError (transient or not)."""
        ...


@runtime_checkable
class MediaUploader(Protocol):
    async def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload our file for sending; the provider's id for it (reused while it lives)."""
        ...


@runtime_checkable
class ProfileFetcher(Protocol):
    async def fetch_profile(self, user_id: str) -> dict[str, str]:
        """`{"name", "username"?, "picture"?}` of a customer by the provider's id for them."""
        ...


@runtime_checkable
class ReadMarker(Protocol):
    async def mark_read(self, provider_message_id: str, address: str) -> None:
        """Tell the customer we read up to this message of theirs (WhatsApp blue ticks)."""
        ...


@runtime_checkable
class SentFinder(Protocol):
    async def find_sent(self, reference: str) -> SendResult | None:
        """Was a message with this reference already accepted? (asked after a crash mid-send)"""
        ...


@runtime_checkable
class Poller(Protocol):
    async def poll_replies(self, period_hours: int) -> WebhookBatch: ...

    async def poll_statuses(self, request_ids: Sequence[str]) -> WebhookBatch: ...


@runtime_checkable
class Blocklist(Protocol):
    async def blacklist_add(self, phones: Sequence[str]) -> None: ...

    async def blacklist_remove(self, phones: Sequence[str]) -> None: ...


@runtime_checkable
class TemplateLister(Protocol):
    async def list_templates(self) -> list[dict[str, Any]]: ...


def _declares(provider: object, flag: str) -> bool:
    return bool(getattr(getattr(provider, "capabilities", None), flag, False))


def media_fetcher(provider: object) -> MediaFetcher | None:
    return provider if isinstance(provider, MediaFetcher) and _declares(provider, "fetch_media") else None


def media_uploader(provider: object) -> MediaUploader | None:
    return provider if isinstance(provider, MediaUploader) and _declares(provider, "upload_media") else None


def profile_fetcher(provider: object) -> ProfileFetcher | None:
    return provider if isinstance(provider, ProfileFetcher) and _declares(provider, "profiles") else None


def read_marker(provider: object) -> ReadMarker | None:
    return provider if isinstance(provider, ReadMarker) and _declares(provider, "read_receipts") else None


def poller(provider: object) -> Poller | None:
    return provider if isinstance(provider, Poller) and _declares(provider, "polling") else None


def template_lister(provider: object) -> TemplateLister | None:
    return provider if isinstance(provider, TemplateLister) and _declares(provider, "templates") else None


def sent_finder(provider: object) -> SentFinder | None:
    return provider if isinstance(provider, SentFinder) else None


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
