"""A fake of Meta's Graph API for WhatsApp Cloud, for tests and the demo.

`create_fake_graph()` returns a `FakeGraph`: `.app` is a FastAPI app (mount it in-process with
`httpx.ASGITransport(app=fake.app)`, or run it with uvicorn on 127.0.0.1), and the object itself is
the driveable state: what was sent, injected errors, closed windows, Brazilian legacy numbers,
uploaded media, templates, a clock.

Routes (shapes of shared/providers/whatsapp-meta.md §2):

- `POST /{ver}/{phone_number_id}/messages`: send, mark-as-read, typing indicator
- `POST /{ver}/{phone_number_id}/media`: multipart upload → `{"id"}`
- `GET /{ver}/{media_id}`: metadata with a download `url` valid 5 minutes; `DELETE /{ver}/{media_id}`
- `GET /whatsapp_business/attachments/?mid=…&ext=…&hash=…`: the download (needs the Bearer token)
- `GET /{ver}/{waba_id}/message_templates`: paged (`paging.next`)
- `GET /{ver}/{phone_number_id}`: phone number info (display number, verified name, quality)

Every Graph route needs `Authorization: Bearer <access_token>`; a wrong one answers 401 with code 190.

It also builds the webhooks Meta would POST to us (`build_message_webhook`, `status_for`, …) and
encodes them the way Meta does: compact JSON with escaped unicode and escaped slashes, signed over
those exact bytes (`encode`, `signed_headers`, `deliver`).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from atende.channels.meta.signature import sign
from atende.testing.fake_messaging import MessagingFake

DEFAULT_ACCESS_TOKEN = "test-token"
DEFAULT_APP_SECRET = "test-secret"
DEFAULT_API_VERSION = "v25.0"
DEFAULT_PHONE_NUMBER_ID = "106540352242922"
DEFAULT_WABA_ID = "102290129340398"
DEFAULT_DISPLAY_PHONE_NUMBER = "551140028922"
DEFAULT_VERIFIED_NAME = "Atende Demo"
ERRORS_HREF = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

WindowMode = Literal["sync", "webhook"]

# code → (title, details), as Meta words them (whatsapp-meta.md §2.4-§2.5).
_ERROR_TEXTS: dict[int, tuple[str, str | None]] = {
    0: ("AuthException", "We were unable to authenticate the app user."),
    4: ("Application request limit reached", None),
    10: ("Application does not have permission for this action", None),
    100: ("Invalid parameter", None),
    190: ("Invalid OAuth access token - Cannot parse access token", None),
    368: ("Temporarily blocked for policies violations", None),
    80007: ("Rate limit issues", "The WhatsApp Business Account has reached its rate limit."),
    130429: (
        "Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "in a short period of time.",
    ),
    130472: (
        "User's number is part of an experiment",
        "Failed to send message because this user's phone number is part of an experiment.",
    ),
    130497: ("Business account is restricted from messaging users in this country", None),
    131000: ("Something went wrong", "Message failed to send due to an unknown error."),
    131008: ("Required parameter is missing", None),
    131009: ("Parameter value is not valid", None),
    131016: ("Service unavailable", "A service is temporarily unavailable."),
    131026: (
        "Message undeliverable",
        "Unable to deliver message. Reasons can include: The recipient phone number is not a WhatsApp phone number.",
    ),
    131030: ("Recipient phone number not in allowed list", None),
    131031: ("Business Account locked", None),
    131047: (
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    131048: ("Spam rate limit hit", None),
    131049: ("This message was not delivered to maintain healthy ecosystem engagement.", None),
    131050: ("User has stopped marketing messages", None),
    131051: ("Unsupported message type", "Message type is currently not supported."),
    131052: ("Media download error", None),
    131053: ("Media upload error", None),
    131056: (
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number to "
        "the same phone number in a short period of time.",
    ),
    132000: ("Number of parameters does not match the expected number of params", None),
    132001: ("Template name does not exist in the translation", None),
    132012: ("Parameter format does not match format in the created template", None),
    132015: ("Template is Paused", None),
    132016: ("Template is Disabled", None),
}

_MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
_SEND_TYPES = frozenset({*_MEDIA_TYPES, "text", "reaction", "template", "interactive", "location", "contacts"})
_UPLOAD_LIMITS = {
    "image/jpeg": 5 << 20,
    "image/png": 5 << 20,
    "image/webp": 500 << 10,
    "video/mp4": 16 << 20,
    "video/3gpp": 16 << 20,
    "audio/aac": 16 << 20,
    "audio/amr": 16 << 20,
    "audio/mpeg": 16 << 20,
    "audio/mp4": 16 << 20,
    "audio/ogg": 16 << 20,
    "text/plain": 100 << 20,
    "application/pdf": 100 << 20,
    "application/msword": 100 << 20,
    "application/vnd.ms-excel": 100 << 20,
    "application/vnd.ms-powerpoint": 100 << 20,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 << 20,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 << 20,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 << 20,
}
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_VERSION_RE = re.compile(r"^v\d+\.\d+$")


# ---------------------------------------------------------------------------- webhook encoding


def encode(payload: Mapping[str, Any]) -> bytes:
    """The bytes Meta would POST: compact JSON, escaped unicode ("ä" → `\\u00e4`), escaped "/"."""
    text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
    return text.replace("/", "\\/").encode("ascii")


def signed_headers(raw: bytes, app_secret: str = DEFAULT_APP_SECRET) -> dict[str, str]:
    """Headers of a webhook POST carrying `raw`: JSON content type and `X-Hub-Signature-256`."""
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, app_secret)}


async def deliver(
    url: str,
    payload: Mapping[str, Any] | bytes,
    http: httpx.AsyncClient,
    *,
    app_secret: str = DEFAULT_APP_SECRET,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST a webhook to `url` the way Meta does: `encode(payload)` signed with `app_secret`."""
    raw = payload if isinstance(payload, bytes) else encode(payload)
    return await http.post(url, content=raw, headers={**signed_headers(raw, app_secret), **(headers or {})})


# ----------------------------------------------------------------------------- payload builders


def new_wamid(seed: str = "") -> str:
    """A message id shaped like Meta's (`wamid.` + base64)."""
    blob = f"\x18\x0c{seed}\x15\x02\x00\x12\x18 {secrets.token_hex(16).upper()}\x00".encode()
    return "wamid." + base64.b64encode(blob).decode("ascii")


def _now_s() -> str:
    return str(int(time.time()))


def contact_entry(
    wa_id: str | None = None,
    name: str | None = "Cliente",
    *,
    user_id: str | None = None,
    parent_user_id: str | None = None,
) -> dict[str, Any]:
    """One `value.contacts[]` item; `user_id` / `parent_user_id` are the 2026 BSUID fields."""
    item: dict[str, Any] = {}
    if name is not None:
        item["profile"] = {"name": name}
    if wa_id is not None:
        item["wa_id"] = wa_id
    if user_id is not None:
        item["user_id"] = user_id
    if parent_user_id is not None:
        item["parent_user_id"] = parent_user_id
    return item


def message_item(
    from_: str,
    type_: str,
    content: Any = None,
    *,
    wamid: str | None = None,
    timestamp: int | str | None = None,
    context: Mapping[str, Any] | None = None,
    from_user_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One `value.messages[]` item of any type (`content` goes under the key named by the type)."""
    item: dict[str, Any] = {
        "from": from_,
        "id": wamid or new_wamid(from_),
        "timestamp": str(timestamp) if timestamp is not None else _now_s(),
        "type": type_,
    }
    if from_user_id is not None:
        item["from_user_id"] = from_user_id
    if context is not None:
        item["context"] = dict(context)
    if content is not None:
        item[type_] = content
    item.update(extra or {})
    return item


def text_message(from_: str, body: str, **kwargs: Any) -> dict[str, Any]:
    return message_item(from_, "text", {"body": body}, **kwargs)


def media_message(
    from_: str,
    kind: str,
    media_id: str,
    mime_type: str,
    *,
    caption: str | None = None,
    filename: str | None = None,
    voice: bool | None = None,
    sha256: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    obj: dict[str, Any] = {"mime_type": mime_type, "sha256": sha256 or "", "id": media_id}
    if caption is not None:
        obj["caption"] = caption
    if filename is not None:
        obj["filename"] = filename
    if voice is not None:
        obj["voice"] = voice
    return message_item(from_, kind, obj, **kwargs)


def reaction_message(from_: str, target_wamid: str, emoji: str, **kwargs: Any) -> dict[str, Any]:
    """A reaction; `emoji=""` is how WhatsApp reports a removed reaction."""
    return message_item(from_, "reaction", {"message_id": target_wamid, "emoji": emoji}, **kwargs)


def unknown_message(from_: str, type_: str = "poll", content: Any = None, **kwargs: Any) -> dict[str, Any]:
    """A message of a type our parser does not know (must be stored as unsupported)."""
    return message_item(from_, type_, content if content is not None else {"question": "?"}, **kwargs)


def unsupported_message(from_: str, **kwargs: Any) -> dict[str, Any]:
    """What Meta sends for message types the Cloud API itself does not support (code 131051)."""
    return message_item(from_, "unsupported", extra={"errors": [error_item(131051)]}, **kwargs)


def error_item(code: int, details: str | None = None) -> dict[str, Any]:
    """One `errors[]` item as found in failed statuses and messages."""
    title, default_details = _ERROR_TEXTS.get(code, ("Error", None))
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or default_details or title},
        "href": ERRORS_HREF,
    }


def status_item(
    wamid: str,
    status: str,
    recipient_id: str | None,
    *,
    timestamp: int | str | None = None,
    errors: Sequence[Mapping[str, Any]] | None = None,
    reference: str | None = None,
    recipient_user_id: str | None = None,
    pricing: bool = True,
) -> dict[str, Any]:
    """One `value.statuses[]` item (PMP pricing shape; `errors` for failed)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp) if timestamp is not None else _now_s(),
    }
    if recipient_id is not None:
        item["recipient_id"] = recipient_id
    if recipient_user_id is not None:
        item["recipient_user_id"] = recipient_user_id
    if reference is not None:
        item["biz_opaque_callback_data"] = reference
    if status in ("sent", "delivered", "read") and pricing:
        item["pricing"] = {
            "billable": False,
            "pricing_model": "PMP",
            "category": "service",
            "type": "free_customer_service",
        }
    if status == "failed":
        item["errors"] = [dict(e) for e in (errors or [error_item(131026)])]
    return item


def _value_envelope(
    phone_number_id: str, display_phone_number: str, waba_id: str, field_name: str, value: dict[str, Any]
) -> dict[str, Any]:
    body = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
    }
    body.update(value)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba_id, "changes": [{"value": body, "field": field_name}]}],
    }


def build_message_webhook(
    messages: Sequence[Mapping[str, Any]],
    contacts: Sequence[Mapping[str, Any]] | None = None,
    *,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """A `messages` webhook; contacts default to one "Cliente" per distinct sender."""
    if contacts is None:
        senders = list(dict.fromkeys(str(m.get("from")) for m in messages if m.get("from")))
        contacts = [
            contact_entry(None, "Cliente", user_id=s) if "." in s else contact_entry(s, "Cliente") for s in senders
        ]
    value = {"contacts": [dict(c) for c in contacts], "messages": [dict(m) for m in messages]}
    return _value_envelope(phone_number_id, display_phone_number, waba_id, "messages", value)


def build_status_webhook(
    statuses: Sequence[Mapping[str, Any]],
    *,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    value = {"statuses": [dict(s) for s in statuses]}
    return _value_envelope(phone_number_id, display_phone_number, waba_id, "messages", value)


def build_echo_webhook(
    echoes: Sequence[Mapping[str, Any]],
    contacts: Sequence[Mapping[str, Any]] = (),
    *,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    """`smb_message_echoes`: messages typed in the WhatsApp Business app (coexistence)."""
    value = {"contacts": [dict(c) for c in contacts], "message_echoes": [dict(e) for e in echoes]}
    return _value_envelope(phone_number_id, display_phone_number, waba_id, "smb_message_echoes", value)


def build_template_status_webhook(
    name: str,
    language: str,
    event: str = "APPROVED",
    *,
    template_id: int = 1,
    reason: str | None = None,
    waba_id: str = DEFAULT_WABA_ID,
) -> dict[str, Any]:
    value = {
        "event": event,
        "message_template_id": template_id,
        "message_template_name": name,
        "message_template_language": language,
        "reason": reason,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "time": int(time.time()),
                "changes": [{"value": value, "field": "message_template_status_update"}],
            }
        ],
    }


def batch(*payloads: Mapping[str, Any]) -> dict[str, Any]:
    """Several webhooks merged into one POST (Meta batches up to 1000 updates)."""
    entries: list[Any] = []
    for payload in payloads:
        entries.extend(copy.deepcopy(payload["entry"]))
    return {"object": "whatsapp_business_account", "entry": entries}


def duplicate(payload: Mapping[str, Any], times: int = 2) -> dict[str, Any]:
    """The same updates repeated inside one POST (redelivery makes the same happen across POSTs)."""
    return batch(*([payload] * times))


# ------------------------------------------------------------------------------------- the fake


@dataclass
class SentMessage:
    wamid: str
    to: str  # `to` (or `recipient` for BSUIDs) exactly as given
    wa_id: str  # what the fake answered in contacts[0].wa_id (BSUID for `recipient` sends)
    type: str
    body: dict[str, Any]
    reference: str | None
    timestamp: int
    arrived: float = 0.0  # time.monotonic() when the request reached the fake: what a pacing test measures


@dataclass
class StoredMedia:
    id: str
    data: bytes
    mime_type: str
    filename: str | None
    sha256: str
    created_at: float


@dataclass
class InjectedError:
    code: int
    http_status: int
    message: str
    details: str | None
    error_subcode: int | None
    is_transient: bool | None
    error_data_as_string: bool
    route: str
    remaining: int


@dataclass
class FakeGraph:
    access_token: str = DEFAULT_ACCESS_TOKEN
    app_secret: str = DEFAULT_APP_SECRET
    api_version: str = DEFAULT_API_VERSION
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID
    waba_id: str = DEFAULT_WABA_ID
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER
    verified_name: str = DEFAULT_VERIFIED_NAME
    quality_rating: str = "GREEN"
    template_page_size: int = 25
    media_url_ttl: float = 300.0  # Meta: download URLs live 5 minutes
    pair_interval_s: float | None = None  # set to enforce 131056 on fast sends to one recipient

    sent: list[SentMessage] = field(default_factory=list)
    read_marks: list[str] = field(default_factory=list)
    typing: list[str] = field(default_factory=list)
    media: dict[str, StoredMedia] = field(default_factory=dict)
    deleted_media: list[str] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    legacy_br: set[str] = field(default_factory=set)
    closed_windows: dict[str, WindowMode] = field(default_factory=dict)
    pending_webhooks: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    errors: list[InjectedError] = field(default_factory=list)
    clock_offset: float = 0.0
    _downloads: dict[str, tuple[str, float]] = field(default_factory=dict, init=False, repr=False)
    _last_send_to: dict[str, float] = field(default_factory=dict, init=False, repr=False)
    app: FastAPI = field(init=False, repr=False)
    messaging: MessagingFake = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.messaging = MessagingFake(clock=self.now)
        self.app = _build_app(self)

    # ------------------------------------------------------------------------------ driving

    def now(self) -> float:
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (expires media URLs, pair-rate windows)."""
        self.clock_offset += seconds

    def fail_next(
        self,
        code: int,
        http_status: int = 400,
        details: str | None = None,
        *,
        message: str | None = None,
        error_subcode: int | None = None,
        is_transient: bool | None = None,
        error_data_as_string: bool = False,
        route: str = "messages",
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `route` with Graph error `code`.

        route: "messages" (send / mark read), "upload", "media" (metadata + delete), "download",
        "templates", "phone", or "*" (any Graph route).
        """
        title, default_details = _ERROR_TEXTS.get(code, ("Error", None))
        self.errors.append(
            InjectedError(
                code=code,
                http_status=http_status,
                message=message or f"(#{code}) {title}",
                details=details if details is not None else default_details,
                error_subcode=error_subcode,
                is_transient=is_transient,
                error_data_as_string=error_data_as_string,
                route=route,
                remaining=times,
            )
        )

    def register_legacy_br(self, number: str) -> str:
        """Mark a Brazilian mobile as registered before the 9th digit: sends to its 13-digit form are
        answered with the 12-digit wa_id (as Meta does). Returns the 12-digit wa_id."""
        digits = re.sub(r"\D", "", number)
        if len(digits) == 13 and digits.startswith("55") and digits[4] == "9":
            digits = digits[:4] + digits[5:]
        if not (len(digits) == 12 and digits.startswith("55")):
            raise ValueError(f"not a Brazilian mobile number: {number!r}")
        self.legacy_br.add(digits)
        return digits

    def window_closed_for(self, wa_id: str, *, mode: WindowMode = "sync") -> None:
        """Free-form sends to `wa_id` fail with 131047: in the HTTP answer ("sync") or as 200 and a
        later `failed` status webhook queued in `pending_webhooks` ("webhook")."""
        self.closed_windows[_recipient_key(wa_id)] = mode

    def open_window(self, wa_id: str) -> None:
        self.closed_windows.pop(_recipient_key(wa_id), None)

    def add_template(
        self,
        name: str,
        language: str = "pt_BR",
        *,
        category: str = "UTILITY",
        status: str = "APPROVED",
        body: str = "Olá {{1}}, seu pedido {{2}} foi atualizado.",
        header: str | None = None,
        header_format: str = "TEXT",
        buttons: Sequence[Mapping[str, Any]] | None = None,
        components: Sequence[Mapping[str, Any]] | None = None,
        parameter_format: str = "POSITIONAL",
    ) -> dict[str, Any]:
        """Add a template to the WABA (as listed by `GET /{waba_id}/message_templates`)."""
        if components is None:
            comps: list[dict[str, Any]] = []
            if header_format != "TEXT":
                comps.append({"type": "HEADER", "format": header_format})
            elif header is not None:
                comps.append({"type": "HEADER", "format": "TEXT", "text": header})
            comps.append({"type": "BODY", "text": body})
            if buttons:
                comps.append({"type": "BUTTONS", "buttons": [dict(b) for b in buttons]})
        else:
            comps = [dict(c) for c in components]
        template = {
            "name": name,
            "parameter_format": parameter_format,
            "components": comps,
            "language": language,
            "status": status,
            "category": category,
            "id": str(10**15 + len(self.templates) + 1),
        }
        self.templates.append(template)
        return template

    def add_media(self, data: bytes, mime_type: str, filename: str | None = None) -> str:
        """Store a media (e.g. one a customer sent) and return its id."""
        media_id = str(secrets.randbelow(9 * 10**15) + 10**15)
        self.media[media_id] = StoredMedia(
            media_id, data, mime_type, filename, hashlib.sha256(data).hexdigest(), self.now()
        )
        return media_id

    def sent_to(self, wa_id: str) -> list[SentMessage]:
        return [m for m in self.sent if m.wa_id == wa_id or m.to == wa_id]

    def find_sent(self, wamid: str) -> SentMessage:
        for message in self.sent:
            if message.wamid == wamid:
                return message
        raise KeyError(wamid)

    # ---------------------------------------------------------------------------- webhooks

    def build_message_webhook(
        self, messages: Sequence[Mapping[str, Any]], contacts: Sequence[Mapping[str, Any]] | None = None
    ) -> dict[str, Any]:
        return build_message_webhook(
            messages,
            contacts,
            phone_number_id=self.phone_number_id,
            display_phone_number=self.display_phone_number,
            waba_id=self.waba_id,
        )

    def build_status_webhook(self, statuses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return build_status_webhook(
            statuses,
            phone_number_id=self.phone_number_id,
            display_phone_number=self.display_phone_number,
            waba_id=self.waba_id,
        )

    def inbound_text(
        self, from_: str, body: str, *, name: str = "Cliente", user_id: str | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """A complete `messages` webhook with one text from `from_` (digits or a BSUID)."""
        is_user = "." in from_
        contact = contact_entry(None if is_user else from_, name, user_id=user_id or (from_ if is_user else None))
        msg = text_message(from_, body, from_user_id=user_id, **kwargs)
        return self.build_message_webhook([msg], [contact])

    def status_item_for(
        self,
        wamid: str,
        status: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        sent = self.find_sent(wamid)
        is_user = "." in sent.wa_id
        return status_item(
            wamid,
            status,
            None if is_user else sent.wa_id,
            recipient_user_id=sent.wa_id if is_user else None,
            timestamp=timestamp if timestamp is not None else sent.timestamp,
            errors=errors,
            reference=sent.reference,
        )

    def status_for(
        self,
        wamid: str,
        status: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        """The `statuses` webhook Meta sends for a message this fake accepted."""
        return self.build_status_webhook([self.status_item_for(wamid, status, errors=errors, timestamp=timestamp)])

    def status_sequence(
        self,
        wamid: str,
        statuses: Sequence[str] = ("sent", "delivered", "read"),
        *,
        skip_delivered: bool = False,
        out_of_order: bool = False,
    ) -> list[dict[str, Any]]:
        """One webhook per status (timestamps one second apart, in lifecycle order);
        `skip_delivered` drops "delivered", `out_of_order` reverses the delivery order."""
        base = self.find_sent(wamid).timestamp
        steps = [s for s in statuses if not (skip_delivered and s == "delivered")]
        payloads = [self.status_for(wamid, s, timestamp=base + i) for i, s in enumerate(steps)]
        return list(reversed(payloads)) if out_of_order else payloads

    def signed_headers(self, raw: bytes) -> dict[str, str]:
        return signed_headers(raw, self.app_secret)

    def encode(self, payload: Mapping[str, Any]) -> bytes:
        return encode(payload)

    async def deliver(self, url: str, payload: Mapping[str, Any] | bytes, http: httpx.AsyncClient) -> httpx.Response:
        return await deliver(url, payload, http, app_secret=self.app_secret)

    async def flush_webhooks(self, url: str, http: httpx.AsyncClient) -> list[httpx.Response]:
        """Deliver (and forget) the webhooks the fake queued, e.g. late 131047 failures."""
        pending, self.pending_webhooks = self.pending_webhooks, []
        return [await self.deliver(url, payload, http) for payload in pending]

    # ----------------------------------------------------------------------------- internals

    def _take_error(self, route: str) -> InjectedError | None:
        for injected in self.errors:
            if injected.route in (route, "*"):
                injected.remaining -= 1
                if injected.remaining <= 0:
                    self.errors.remove(injected)
                return injected
        return None

    def _resolve_wa_id(self, digits: str) -> str:
        if len(digits) == 13 and digits.startswith("55") and digits[4] == "9":
            legacy = digits[:4] + digits[5:]
            if legacy in self.legacy_br:
                return legacy
        return digits


def _recipient_key(wa_id: str) -> str:
    """Digits of a phone / wa_id ("+55 11 …" → "5511…"); a BSUID as is."""
    return wa_id if "." in wa_id else (re.sub(r"\D", "", wa_id) or wa_id)


def create_fake_graph(
    *,
    access_token: str = DEFAULT_ACCESS_TOKEN,
    app_secret: str = DEFAULT_APP_SECRET,
    api_version: str = DEFAULT_API_VERSION,
    phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
    waba_id: str = DEFAULT_WABA_ID,
    display_phone_number: str = DEFAULT_DISPLAY_PHONE_NUMBER,
    verified_name: str = DEFAULT_VERIFIED_NAME,
    template_page_size: int = 25,
    media_url_ttl: float = 300.0,
    pair_interval_s: float | None = None,
) -> FakeGraph:
    return FakeGraph(
        access_token=access_token,
        app_secret=app_secret,
        api_version=api_version,
        phone_number_id=phone_number_id,
        waba_id=waba_id,
        display_phone_number=display_phone_number,
        verified_name=verified_name,
        template_page_size=template_page_size,
        media_url_ttl=media_url_ttl,
        pair_interval_s=pair_interval_s,
    )


def create_app() -> FastAPI:
    """App factory for a standalone fake with the default ids:
    `uvicorn --factory atende.testing.fake_graph:create_app --host 127.0.0.1 --port 9100`."""
    return create_fake_graph().app


# ----------------------------------------------------------------------------------- the app


def graph_error(
    code: int,
    http_status: int = 400,
    message: str | None = None,
    *,
    details: str | None = None,
    error_subcode: int | None = None,
    is_transient: bool | None = None,
    error_data_as_string: bool = False,
    error_type: str = "OAuthException",
) -> JSONResponse:
    """A Graph error answer: `{"error": {message, type, code, error_data, fbtrace_id, ...}}`."""
    title, _ = _ERROR_TEXTS.get(code, ("Error", None))
    error: dict[str, Any] = {
        "message": message or f"(#{code}) {title}",
        "type": error_type,
        "code": code,
    }
    if details is not None:
        error["error_data"] = details if error_data_as_string else {"messaging_product": "whatsapp", "details": details}
    if error_subcode is not None:
        error["error_subcode"] = error_subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
    return JSONResponse({"error": error}, status_code=http_status)


def _injected_response(injected: InjectedError) -> JSONResponse:
    return graph_error(
        injected.code,
        injected.http_status,
        injected.message,
        details=injected.details,
        error_subcode=injected.error_subcode,
        is_transient=injected.is_transient,
        error_data_as_string=injected.error_data_as_string,
    )


def _unknown_object(object_id: str, method: str) -> JSONResponse:
    return graph_error(
        100,
        400,
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        error_subcode=33,
        error_type="GraphMethodException",
    )


def _placeholder_count(text: Any) -> int:
    return len(set(_PLACEHOLDER_RE.findall(text))) if isinstance(text, str) else 0


def _expected_params(template: Mapping[str, Any]) -> dict[str, int]:
    expected: dict[str, int] = {}
    for comp in template.get("components", []):
        ctype = str(comp.get("type", "")).lower()
        if ctype == "body":
            expected["body"] = _placeholder_count(comp.get("text"))
        elif ctype == "header":
            fmt = str(comp.get("format", "TEXT")).upper()
            expected["header"] = _placeholder_count(comp.get("text")) if fmt == "TEXT" else 1
    return expected


def _given_params(components: Any) -> dict[str, int]:
    given: dict[str, int] = {}
    for comp in components if isinstance(components, list) else []:
        if isinstance(comp, dict):
            ctype = str(comp.get("type", "")).lower()
            if ctype in ("body", "header"):
                params = comp.get("parameters")
                given[ctype] = len(params) if isinstance(params, list) else 0
    return given


def _build_app(fake: FakeGraph) -> FastAPI:
    app = FastAPI(title="Fake Meta Graph API", docs_url=None, redoc_url=None, openapi_url=None)

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {fake.access_token}"

    def bad_token() -> JSONResponse:
        return graph_error(190, 401, "Invalid OAuth access token - Cannot parse access token")

    def check(request: Request, ver: str, route: str) -> JSONResponse | None:
        fake.calls.append((request.method, request.url.path))
        if not _VERSION_RE.match(ver):
            return graph_error(2635, 400, f"Unknown path components: /{ver}", error_type="OAuthException")
        if not authorized(request):
            return bad_token()
        injected = fake._take_error(route)
        return _injected_response(injected) if injected else None

    @app.get("/whatsapp_business/attachments/")
    async def download(request: Request) -> Response:
        fake.calls.append((request.method, request.url.path))
        if not authorized(request):
            return bad_token()
        injected = fake._take_error("download")
        if injected:
            return _injected_response(injected)
        token = request.query_params.get("hash", "")
        found = fake._downloads.get(token)
        media_id = request.query_params.get("mid")
        if found is None or found[0] != media_id or fake.now() > found[1] or media_id not in fake.media:
            return Response("URL signature expired", status_code=404, media_type="text/plain")
        stored = fake.media[media_id]
        return Response(stored.data, media_type=stored.mime_type)

    @app.post("/{ver}/{object_id}/messages")
    async def messages(ver: str, object_id: str, request: Request) -> Response:
        problem = check(request, ver, "messages")
        if problem:
            return problem
        if object_id in fake.messaging.pages:  # Messenger / Instagram Send API
            try:
                payload = json.loads(await request.body())
            except ValueError:
                return graph_error(100, 400, "(#100) Invalid JSON in request body")
            return fake.messaging.send(object_id, payload)
        if object_id != fake.phone_number_id:
            return _unknown_object(object_id, "POST")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return graph_error(100, 400, "(#100) Invalid JSON in request body")
        if not isinstance(body, dict):
            return graph_error(100, 400, "(#100) Invalid JSON in request body")
        return _send(fake, body)

    @app.post("/{ver}/{object_id}/message_attachments")
    async def message_attachments(ver: str, object_id: str, request: Request) -> Response:
        problem = check(request, ver, "upload")
        if problem:
            return problem
        if object_id not in fake.messaging.pages:
            return _unknown_object(object_id, "POST")
        async with request.form() as form:
            upload_file = form.get("filedata")
            data = await upload_file.read() if isinstance(upload_file, UploadFile) else None
            mime = upload_file.content_type if isinstance(upload_file, UploadFile) else None
            filename = upload_file.filename if isinstance(upload_file, UploadFile) else None
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
        return fake.messaging.upload(object_id, fields, data, mime, filename)

    @app.get("/cdn/{token}")
    async def cdn(token: str, request: Request) -> Response:
        fake.calls.append((request.method, request.url.path))
        found = fake.messaging.cdn.get(token)
        if found is None:
            return Response("URL signature expired", status_code=403, media_type="text/plain")
        return Response(found[0], media_type=found[1])

    @app.post("/{ver}/{object_id}/media")
    async def upload(ver: str, object_id: str, request: Request) -> Response:
        problem = check(request, ver, "upload")
        if problem:
            return problem
        if object_id != fake.phone_number_id:
            return _unknown_object(object_id, "POST")
        async with request.form() as form:  # closes the spooled upload files
            upload_file = form.get("file")
            mime = form.get("type")
            product = form.get("messaging_product")
            data = await upload_file.read() if isinstance(upload_file, UploadFile) else None
            filename = upload_file.filename if isinstance(upload_file, UploadFile) else None
        if product != "whatsapp":
            return graph_error(100, 400, "(#100) The parameter messaging_product is required.")
        if data is None:
            return graph_error(100, 400, "(#100) The parameter file is required.")
        if not isinstance(mime, str) or not mime:
            return graph_error(100, 400, "(#100) Param type is required.")
        base = mime.split(";", 1)[0].strip().lower()
        limit = _UPLOAD_LIMITS.get(base)
        if limit is None:
            return graph_error(
                100, 400, f"(#100) Param file must be a file with one of the supported types (got {base})"
            )
        if len(data) > limit:
            return graph_error(131053, 400, details=f"Uploaded media size {len(data)} exceeds {limit} bytes")
        return JSONResponse({"id": fake.add_media(data, mime, filename)})

    @app.get("/{ver}/{object_id}/message_templates")
    async def templates(ver: str, object_id: str, request: Request) -> Response:
        problem = check(request, ver, "templates")
        if problem:
            return problem
        if object_id != fake.waba_id:
            return _unknown_object(object_id, "GET")
        try:
            limit = max(
                1, min(int(request.query_params.get("limit", fake.template_page_size)), fake.template_page_size)
            )
        except ValueError:
            return graph_error(100, 400, "(#100) Param limit must be an integer")
        after = request.query_params.get("after")
        start = 0
        if after:
            try:
                start = int(base64.urlsafe_b64decode(after.encode()).decode())
            except ValueError:
                return graph_error(100, 400, "(#100) Invalid cursor")
        page = fake.templates[start : start + limit]
        answer: dict[str, Any] = {"data": copy.deepcopy(page)}
        if page:
            answer["paging"] = {
                "cursors": {
                    "before": base64.urlsafe_b64encode(str(start).encode()).decode(),
                    "after": base64.urlsafe_b64encode(str(start + len(page) - 1).encode()).decode(),
                }
            }
            if start + limit < len(fake.templates):
                cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
                answer["paging"]["next"] = (
                    f"{str(request.base_url).rstrip('/')}/{ver}/{object_id}/message_templates"
                    f"?limit={limit}&after={cursor}"
                )
        return JSONResponse(answer)

    @app.get("/{ver}/{object_id}")
    async def get_object(ver: str, object_id: str, request: Request) -> Response:
        route = "phone" if object_id == fake.phone_number_id else "media"
        problem = check(request, ver, route)
        if problem:
            return problem
        if object_id in fake.messaging.users:
            return fake.messaging.profile(object_id, request.query_params.get("fields", ""))
        if object_id in fake.messaging.pages:
            return fake.messaging.page_info(object_id)
        if object_id == fake.phone_number_id:
            info = {
                "display_phone_number": fake.display_phone_number,
                "verified_name": fake.verified_name,
                "quality_rating": fake.quality_rating,
                "code_verification_status": "VERIFIED",
                "platform_type": "CLOUD_API",
                "throughput": {"level": "STANDARD"},
            }
            wanted = [f for f in request.query_params.get("fields", "").split(",") if f]
            answer = {k: v for k, v in info.items() if not wanted or k in wanted}
            answer["id"] = fake.phone_number_id
            return JSONResponse(answer)
        if object_id == fake.waba_id:
            return JSONResponse({"id": fake.waba_id, "name": fake.verified_name})
        stored = fake.media.get(object_id)
        pnid = request.query_params.get("phone_number_id")
        if stored is None or (pnid is not None and pnid != fake.phone_number_id):
            return _unknown_object(object_id, "GET")
        token = secrets.token_urlsafe(24)
        expires = fake.now() + fake.media_url_ttl
        fake._downloads[token] = (object_id, expires)
        url = (
            f"{str(request.base_url).rstrip('/')}/whatsapp_business/attachments/"
            f"?mid={object_id}&ext={int(expires)}&hash={token}"
        )
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": url,
                "mime_type": stored.mime_type,
                "sha256": stored.sha256,
                "file_size": len(stored.data),
                "id": stored.id,
            }
        )

    @app.delete("/{ver}/{object_id}")
    async def delete_object(ver: str, object_id: str, request: Request) -> Response:
        problem = check(request, ver, "media")
        if problem:
            return problem
        if fake.media.pop(object_id, None) is None:
            return _unknown_object(object_id, "DELETE")
        fake.deleted_media.append(object_id)
        return JSONResponse({"success": True})

    return app


def _send(fake: FakeGraph, body: dict[str, Any]) -> JSONResponse:
    """POST /messages: mark read / typing, or validate and accept one message."""
    if body.get("messaging_product") != "whatsapp":
        return graph_error(100, 400, "(#100) The parameter messaging_product is required.")
    if body.get("status") == "read":
        message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            return graph_error(131008, 400, details="message_id is required")
        fake.read_marks.append(message_id)
        if isinstance(body.get("typing_indicator"), dict):
            fake.typing.append(message_id)
        return JSONResponse({"success": True})

    recipient = body.get("recipient")
    to = body.get("to")
    if body.get("recipient_type") == "group":
        if not isinstance(to, str) or not to:
            return graph_error(131008, 400, details="The parameter to (group id) is required.")
        given, wa_id = to, to
    elif isinstance(recipient, str) and recipient:
        given, wa_id = recipient, recipient
    elif isinstance(to, str | int) and str(to):
        given = str(to)
        digits = re.sub(r"\D", "", given)
        if not 8 <= len(digits) <= 15:
            return graph_error(100, 400, "(#100) Invalid parameter", details=f"Invalid phone number: {given}")
        wa_id = fake._resolve_wa_id(digits)
    else:
        return graph_error(131008, 400, details="The parameter to is required.")

    mtype = body.get("type", "text")
    if mtype not in _SEND_TYPES:
        return graph_error(100, 400, f"(#100) Param type must be one of {sorted(_SEND_TYPES)}")
    problem = _validate_content(fake, mtype, body)
    if problem is not None:
        return problem
    context = body.get("context")
    if context is not None and not (isinstance(context, dict) and isinstance(context.get("message_id"), str)):
        return graph_error(131009, 400, details="context.message_id must be a message id")

    now = fake.now()
    if fake.pair_interval_s is not None:
        last = fake._last_send_to.get(wa_id)
        if last is not None and now - last < fake.pair_interval_s:
            code = 131056
            return graph_error(code, 400, details=_ERROR_TEXTS[code][1])
    window_mode = fake.closed_windows.get(wa_id)
    if window_mode == "sync" and mtype != "template":
        return graph_error(131047, 400, details=_ERROR_TEXTS[131047][1])

    reference = body.get("biz_opaque_callback_data")
    sent = SentMessage(
        wamid=new_wamid(wa_id),
        to=given,
        wa_id=wa_id,
        type=mtype,
        body=body,
        reference=reference if isinstance(reference, str) else None,
        timestamp=int(now),
        arrived=time.monotonic(),
    )
    fake.sent.append(sent)
    fake._last_send_to[wa_id] = now
    if window_mode == "webhook" and mtype != "template":
        fake.pending_webhooks.append(fake.status_for(sent.wamid, "failed", errors=[error_item(131047)]))
    if body.get("recipient_type") == "group":
        contact: dict[str, str] = {"input": given}
    elif "." in wa_id:
        contact = {"input": given, "user_id": wa_id}
    else:
        contact = {"input": given, "wa_id": wa_id}
    message: dict[str, Any] = {"id": sent.wamid}
    if mtype == "template":
        message["message_status"] = "accepted"
    return JSONResponse({"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]})


def _validate_content(fake: FakeGraph, mtype: str, body: Mapping[str, Any]) -> JSONResponse | None:
    content = body.get(mtype)
    if not isinstance(content, dict):
        return graph_error(131008, 400, details=f"The parameter {mtype} is required.")
    if mtype == "text":
        text = content.get("body")
        if not isinstance(text, str) or not text.strip():
            return graph_error(131008, 400, details="The parameter text['body'] is required.")
        if len(text) > 4096:
            return graph_error(100, 400, "(#100) Param text['body'] must be at most 4096 characters long.")
    elif mtype in _MEDIA_TYPES:
        has_id, has_link = "id" in content, "link" in content
        if has_id == has_link:
            return graph_error(131008, 400, details=f"{mtype} needs exactly one of id or link")
        if has_id and str(content["id"]) not in fake.media:
            return graph_error(131053, 400, details=f"Media id {content['id']} not found")
        if has_link and not str(content["link"]).startswith(("http://", "https://")):
            return graph_error(131009, 400, details=f"{mtype}['link'] must be an http(s) URL")
        allowed = (
            {"id", "link", "caption", "filename"}
            if mtype == "document"
            else ({"id", "link"} if mtype in ("audio", "sticker") else {"id", "link", "caption"})
        )
        extra = set(content) - allowed
        if extra:
            return graph_error(100, 400, f"(#100) Param {mtype}['{sorted(extra)[0]}'] is not a valid parameter")
    elif mtype == "reaction":
        if not isinstance(content.get("message_id"), str) or not content.get("message_id"):
            return graph_error(131008, 400, details="reaction['message_id'] is required")
        if not isinstance(content.get("emoji"), str):
            return graph_error(131009, 400, details="reaction['emoji'] must be a string")
    elif mtype == "template":
        return _validate_template(fake, content)
    return None


def _validate_template(fake: FakeGraph, content: Mapping[str, Any]) -> JSONResponse | None:
    name = content.get("name")
    language = content.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(name, str) or not name or not isinstance(code, str) or not code:
        return graph_error(131008, 400, details="template name and language.code are required")
    template = next((t for t in fake.templates if t["name"] == name and t["language"] == code), None)
    if template is None:
        return graph_error(132001, 404, details=f"template name ({name}) does not exist in {code}")
    status = str(template.get("status", "")).upper()
    if status == "PAUSED":
        return graph_error(132015, 400, details=f"template {name} is paused")
    if status == "DISABLED":
        return graph_error(132016, 400, details=f"template {name} is disabled")
    if status != "APPROVED":
        return graph_error(132001, 404, details=f"template {name} is not approved ({status})")
    expected = _expected_params(template)
    given = _given_params(content.get("components"))
    for part in ("header", "body"):
        if expected.get(part, 0) != given.get(part, 0):
            return graph_error(
                132000,
                400,
                details=f"{part}: number of localizable_params ({given.get(part, 0)}) does not match the "
                f"expected number of params ({expected.get(part, 0)})",
            )
    return None


def iter_payload_messages(payload: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    """Every messages[] item of a webhook payload (handy in tests)."""
    for entry in payload.get("entry", []):
        for change in entry.get("changes", []):
            yield from change.get("value", {}).get("messages", [])


__all__ = [
    "FakeGraph",
    "SentMessage",
    "batch",
    "build_echo_webhook",
    "build_message_webhook",
    "build_status_webhook",
    "build_template_status_webhook",
    "contact_entry",
    "create_app",
    "create_fake_graph",
    "deliver",
    "duplicate",
    "encode",
    "error_item",
    "graph_error",
    "iter_payload_messages",
    "media_message",
    "message_item",
    "new_wamid",
    "reaction_message",
    "signed_headers",
    "status_item",
    "text_message",
    "unknown_message",
    "unsupported_message",
]
