"""The `whatsapp_cloud` provider: WhatsApp Cloud API (Meta Graph) ↔ atende's normalized messages.

Translation only (design.md rule 2): no database, no window enforcement, no rate limiting — the
engine does those with `capabilities.service_window_hours`, `config.rate_per_second` and
`config.pair_interval_s`. Shapes and codes: shared/providers/whatsapp-meta.md §1-§2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from pydantic import BaseModel

from atende.channels.base import (
    N_,
    Capabilities,
    Channel,
    ConfigField,
    ConnectionTest,
    MediaRef,
    OutboundMessage,
    Provider,
    ProviderError,
    SendResult,
    WebhookBatch,
    WebhookRejected,
    WebhookRequest,
    connection_reason,
)
from atende.channels.meta.graph import GraphClient, GraphError
from atende.channels.meta.signature import SIGNATURE_HEADER, valid_signature, verify_handshake
from atende.channels.whatsapp_cloud.config import WhatsAppCloudConfig
from atende.channels.whatsapp_cloud.errors import ERRORS, ErrorInfo, classify
from atende.channels.whatsapp_cloud.parse import GROUP_PREFIX, parse_webhook_body
from atende.domain.phones import format_phone_display, is_bsuid
from atende.domain.templates import template_parameters
from atende.media.links import InvalidLink, check_media_link, link_filename

KB = 1024
MB = 1024 * 1024

#: Largest file WhatsApp accepts / delivers per media kind (whatsapp-meta.md §2.6).
MEDIA_LIMITS: dict[str, int] = {
    "image": 5 * MB,
    "video": 16 * MB,
    "audio": 16 * MB,
    "document": 100 * MB,
    "sticker": 500 * KB,
}

#: MIME types we upload and download (parameters such as "; codecs=opus" stripped), by media kind.
#: Anything else (HTML, SVG, executables…) is refused: it would be served back to agents.
ALLOWED_MIME_TYPES: dict[str, str] = {
    "image/jpeg": "image",
    "image/png": "image",
    "image/webp": "sticker",
    "video/mp4": "video",
    "video/3gpp": "video",
    "audio/aac": "audio",
    "audio/amr": "audio",
    "audio/mpeg": "audio",
    "audio/mp4": "audio",
    "audio/ogg": "audio",
    "text/plain": "document",
    "text/csv": "document",
    "application/pdf": "document",
    "application/msword": "document",
    "application/vnd.ms-excel": "document",
    "application/vnd.ms-powerpoint": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document",
    "application/vnd.oasis.opendocument.text": "document",
    "application/vnd.oasis.opendocument.spreadsheet": "document",
    "application/vnd.oasis.opendocument.presentation": "document",
}

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
_CAPTION_KINDS = frozenset({"image", "video", "document"})
_URL_RE = re.compile(r"https?://", re.IGNORECASE)
_MAX_TEXT = 4096
_MAX_CAPTION = 1024
_MAX_TEMPLATE_PAGES = 200
# Default back-off hints (seconds) for rate-limit codes when Graph sends no Retry-After.
_RETRY_AFTER_DEFAULTS: dict[int, float] = {130429: 1.0, 4: 60.0, 80007: 60.0}


def base_mime(mime_type: str | None) -> str:
    """`"audio/ogg; codecs=opus"` → `"audio/ogg"` (lower case)."""
    return (mime_type or "").split(";", 1)[0].strip().lower()


def media_kind_for_mime(mime_type: str | None) -> str | None:
    """The WhatsApp media kind a MIME type belongs to, or None when it is not allowed."""
    return ALLOWED_MIME_TYPES.get(base_mime(mime_type))


def normalize_template(template: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of `GET /{waba_id}/message_templates` in the shape the engine stores."""
    components = template.get("components") if isinstance(template.get("components"), list) else []
    counts, names = template_parameters(components)
    return {
        "id": str(template["id"]) if template.get("id") is not None else None,
        "name": template.get("name"),
        "language": template.get("language"),
        "category": template.get("category"),
        "status": template.get("status"),
        # Graph lists why a template was rejected (`rejected_reason`, "NONE" when it was not).
        "status_reason": reason if isinstance(reason := template.get("rejected_reason"), str)
        and reason.upper() != "NONE" else None,
        "parameter_format": template.get("parameter_format", "POSITIONAL"),
        "components": components,
        "parameters": counts,
        "parameter_names": names,
    }


class InvalidOutbound(ValueError):
    """The engine asked for something WhatsApp cannot send (reported as a failed SendResult)."""


class WhatsAppCloudProvider:
    name: ClassVar[str] = "whatsapp_cloud"
    channel: ClassVar[Channel] = "whatsapp"
    capabilities: ClassVar[Capabilities] = Capabilities(
        media=True,
        templates=True,
        reactions=True,
        read_receipts=True,
        service_window_hours=24,
        signed_webhooks=True,
        fetch_media=True,
        upload_media=True,
    )
    config_model: ClassVar[type[BaseModel]] = WhatsAppCloudConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"access_token", "app_secret", "verify_token"})
    label: ClassVar[str] = "WhatsApp Cloud API"
    form_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("access_token", N_("Token de acesso"), "password", True),
        ConfigField("phone_number_id", N_("Phone number ID"), required=True),
        ConfigField("app_secret", N_("App secret"), "password", True),
        ConfigField("verify_token", N_("Verify token"), "password", True),
        ConfigField("waba_id", N_("WABA ID (para sincronizar modelos)")),
        ConfigField("base_url", N_("URL da API"), placeholder="https://graph.facebook.com"),
        ConfigField("api_version", N_("Versão da API"), placeholder="v25.0"),
    )

    def __init__(self, config: BaseModel | Mapping[str, Any], http: httpx.AsyncClient) -> None:
        if isinstance(config, WhatsAppCloudConfig):
            self.config = config
        elif isinstance(config, BaseModel):
            self.config = WhatsAppCloudConfig.model_validate(config.model_dump())
        else:
            self.config = WhatsAppCloudConfig.model_validate(dict(config))
        self.http = http
        self.graph = GraphClient(
            http,
            access_token=self.config.access_token,
            base_url=self.config.base_url,
            api_version=self.config.api_version,
        )

    def __repr__(self) -> str:
        return f"WhatsAppCloudProvider(phone_number_id={self.config.phone_number_id!r})"

    # ------------------------------------------------------------------------------ webhooks

    def handshake(self, request: WebhookRequest) -> str | None:
        """GET `hub.challenge` verification: the challenge to answer with, or WebhookRejected(403)."""
        return verify_handshake(request.query, self.config.verify_token)

    def parse_webhook(self, request: WebhookRequest) -> WebhookBatch:
        """Check `X-Hub-Signature-256` over the raw body (401 missing, 403 wrong), then parse."""
        header = _header(request.headers, SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected(401, "assinatura X-Hub-Signature-256 ausente")
        if not valid_signature(request.body, header, self.config.app_secret):
            raise WebhookRejected(403, "assinatura X-Hub-Signature-256 inválida")
        return parse_webhook_body(request.body)

    # ------------------------------------------------------------------------------- sending

    def build_message_body(self, message: OutboundMessage) -> dict[str, Any]:
        """The JSON body of `POST /{ver}/{phone_number_id}/messages`; InvalidOutbound if impossible."""
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}
        to = (message.to or "").strip()
        if to.startswith(GROUP_PREFIX):  # Groups API: the group id, not a participant
            group_id = to.removeprefix(GROUP_PREFIX)
            if not group_id:
                raise InvalidOutbound("grupo sem identificador")
            body.update(recipient_type="group", to=group_id)
        elif to and (is_bsuid(to) or ("." in to and not to.lstrip("+").isdigit())):
            body["recipient"] = to
        else:
            number = re.sub(r"\D", "", to)
            if not number:
                raise InvalidOutbound(f"destinatário inválido para WhatsApp: {to!r}")
            body["to"] = number
        kind = message.kind
        if kind == "text":
            text = message.text or ""
            if not text.strip():
                raise InvalidOutbound("mensagem de texto vazia")
            if len(text) > _MAX_TEXT:
                raise InvalidOutbound(f"texto longo demais para o WhatsApp ({len(text)} > {_MAX_TEXT})")
            body["type"] = "text"
            body["text"] = {"body": text, "preview_url": bool(_URL_RE.search(text))}
        elif kind in MEDIA_KINDS:
            body["type"] = kind
            body[kind] = self._media_object(kind, message)
        elif kind == "reaction":
            reaction = dict(message.reaction or {})
            target = reaction.get("message_id") or message.reply_to_provider_id
            if not target:
                raise InvalidOutbound("reação sem a mensagem de destino")
            emoji = reaction.get("emoji", message.text or "")
            body["type"] = "reaction"
            body["reaction"] = {"message_id": target, "emoji": emoji}
        elif kind == "template":
            body["type"] = "template"
            body["template"] = self._template_object(message.template)
        else:
            raise InvalidOutbound(f"tipo de mensagem não suportado no WhatsApp: {kind!r}")
        if message.reply_to_provider_id and kind != "reaction":
            body["context"] = {"message_id": message.reply_to_provider_id}
        if message.reference:
            body["biz_opaque_callback_data"] = message.reference[:512]
        return body

    @staticmethod
    def _media_object(kind: str, message: OutboundMessage) -> dict[str, Any]:
        media = message.media
        if media is None or not (media.provider_media_id or media.url):
            raise InvalidOutbound(f"{kind} sem mídia (id ou link)")
        if media.provider_media_id:
            obj: dict[str, Any] = {"id": media.provider_media_id}
        else:
            obj = {"link": check_media_link(media.url or "")}
        caption = media.caption or message.text
        if caption and kind in _CAPTION_KINDS:
            if len(caption) > _MAX_CAPTION:
                raise InvalidOutbound(f"legenda longa demais ({len(caption)} > {_MAX_CAPTION})")
            obj["caption"] = caption
        filename = media.filename or (link_filename(media.url) if media.url else None)
        if kind == "document" and filename:
            obj["filename"] = filename
        return obj

    @staticmethod
    def _template_object(template: Mapping[str, Any] | None) -> dict[str, Any]:
        if not template or not template.get("name"):
            raise InvalidOutbound("modelo sem nome")
        language = template.get("language")
        if isinstance(language, str) and language:
            lang: dict[str, Any] = {"code": language, "policy": "deterministic"}
        elif isinstance(language, Mapping) and language.get("code"):
            lang = {"policy": "deterministic", **language}
        else:
            raise InvalidOutbound("modelo sem idioma")
        obj: dict[str, Any] = {"name": template["name"], "language": lang}
        components = template.get("components")
        if components:
            obj["components"] = list(components)
        return obj

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message. Transient Graph errors raise ProviderError; permanent ones return failed."""
        try:
            body = self.build_message_body(message)
        except (InvalidOutbound, InvalidLink) as exc:
            return SendResult(message.reference, "failed", error_code="invalid_message", error=str(exc))
        try:
            data = await self.graph.post_json(f"{self.config.phone_number_id}/messages", body)
        except GraphError as exc:
            info = self._classify(exc)
            if info.retry:
                raise self._transient(exc, info) from exc
            return SendResult(
                message.reference,
                "failed",
                provider_request_id=exc.fbtrace_id,
                error_code=info.error_code or (f"http_{exc.http_status}" if exc.http_status else None),
                error=info.reason,
                raw=exc.raw,
            )
        messages = data.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else None
        wamid = first.get("id") if isinstance(first, dict) else None
        if not isinstance(wamid, str) or not wamid:
            raise ProviderError("resposta da Graph API sem id de mensagem", transient=False, code="bad_response")
        return SendResult(
            message.reference,
            "sent",
            provider_message_id=wamid,
            canonical_address=None if body.get("recipient_type") == "group" else _canonical_address(data),
            raw=data,
        )

    async def mark_read(self, provider_message_id: str, address: str = "", *, typing: bool = False) -> None:
        """Mark an inbound message (and the ones before it) as read; optionally show "typing…".
        (`address` is not needed: WhatsApp knows the thread by the message.)"""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": provider_message_id,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        try:
            await self.graph.post_json(f"{self.config.phone_number_id}/messages", body)
        except GraphError as exc:
            raise self._as_provider_error(exc) from exc

    # --------------------------------------------------------------------------------- media

    async def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload a file for later sending; returns the media id (valid 30 days)."""
        kind = media_kind_for_mime(mime_type)
        if kind is None:
            raise ProviderError(
                f"tipo de arquivo não aceito pelo WhatsApp: {base_mime(mime_type) or '?'}",
                transient=False,
                code="mime_not_allowed",
            )
        if len(data) > MEDIA_LIMITS[kind]:
            raise ProviderError(
                f"arquivo grande demais para {kind}: {len(data)} bytes (limite {MEDIA_LIMITS[kind]})",
                transient=False,
                code="too_large",
            )
        try:
            answer = await self.graph.post_multipart(
                f"{self.config.phone_number_id}/media",
                data={"messaging_product": "whatsapp", "type": mime_type},
                files={"file": (filename or "file", data, mime_type)},
            )
        except GraphError as exc:
            raise self._as_provider_error(exc) from exc
        media_id = answer.get("id")
        if not isinstance(media_id, str | int) or isinstance(media_id, bool) or not str(media_id):
            raise ProviderError("resposta do upload sem id de mídia", transient=False, code="bad_response")
        return str(media_id)

    async def fetch_media(self, ref: MediaRef | str) -> tuple[bytes, str]:
        """Download an inbound media: metadata GET, then the short-lived URL with the Bearer token.

        Returns (content, mime_type). Refuses MIME types outside ALLOWED_MIME_TYPES and files over
        the kind's limit (permanent ProviderError). An expired URL is fetched anew once.
        """
        media_id = ref if isinstance(ref, str) else ref.provider_media_id
        if not media_id:
            raise ProviderError("mídia sem identificador para download", transient=False, code="no_media_id")
        for attempt in (1, 2):
            try:
                meta = await self.graph.get_json(str(media_id), {"phone_number_id": self.config.phone_number_id})
            except GraphError as exc:
                raise self._as_provider_error(exc) from exc
            url = meta.get("url")
            raw_mime = meta.get("mime_type")
            mime: str = raw_mime if isinstance(raw_mime, str) else ""
            kind = media_kind_for_mime(mime)
            if kind is None:
                raise ProviderError(
                    f"tipo de arquivo recusado: {base_mime(mime) or '?'}",
                    transient=False,
                    code="mime_not_allowed",
                )
            limit = MEDIA_LIMITS[kind]
            size = meta.get("file_size")
            if isinstance(size, str) and size.isdigit():
                size = int(size)
            if isinstance(size, int) and not isinstance(size, bool) and size > limit:
                raise ProviderError(
                    f"arquivo grande demais para {kind}: {size} bytes (limite {limit})",
                    transient=False,
                    code="too_large",
                )
            if not isinstance(url, str) or not url:
                raise ProviderError("metadados da mídia sem url", transient=True, code="bad_response")
            try:
                content, _ = await self.graph.get_bytes(url, max_bytes=limit)
            except GraphError as exc:
                if exc.http_status in (401, 403, 404):
                    if attempt == 1:
                        continue  # the 5-minute URL expired between the two calls: ask again
                    raise ProviderError(
                        "link de download da mídia expirado",
                        transient=True,
                        code="media_url_expired",
                        status_code=exc.http_status,
                    ) from exc
                raise self._as_provider_error(exc) from exc
            return content, mime
        raise AssertionError("unreachable")  # pragma: no cover

    async def delete_media(self, media_id: str) -> None:
        try:
            await self.graph.delete(str(media_id), {"phone_number_id": self.config.phone_number_id})
        except GraphError as exc:
            raise self._as_provider_error(exc) from exc

    # ----------------------------------------------------------------------------- templates

    async def list_templates(self) -> list[dict[str, Any]]:
        """Every message template of the WABA (all pages), normalised by `normalize_template`."""
        if not self.config.waba_id:
            raise ProviderError(
                "waba_id não configurado: informe a conta do WhatsApp Business para sincronizar modelos",
                transient=False,
                code="config",
            )
        templates: list[dict[str, Any]] = []
        next_url: str | None = f"{self.config.waba_id}/message_templates"
        params: dict[str, str | int] | None = {"limit": 100}
        seen: set[str] = set()
        pages = 0
        while next_url and pages < _MAX_TEMPLATE_PAGES and next_url not in seen:
            seen.add(next_url)
            pages += 1
            try:
                page = await self.graph.get_json(next_url, params)
            except GraphError as exc:
                raise self._as_provider_error(exc) from exc
            params = None  # paging.next already carries the query
            data = page.get("data")
            for item in data if isinstance(data, list) else []:
                if isinstance(item, dict):
                    templates.append(normalize_template(item))
            paging = page.get("paging")
            nxt = paging.get("next") if isinstance(paging, dict) else None
            next_url = nxt if isinstance(nxt, str) and nxt else None
        return templates

    # ---------------------------------------------------------------------------- connection

    async def test_connection(self) -> ConnectionTest:
        try:
            info = await self.graph.get_json(
                self.config.phone_number_id,
                {"fields": "display_phone_number,verified_name,quality_rating"},
            )
        except GraphError as exc:  # our own words for known codes; Meta's text stays off the screen
            known = ERRORS.get(exc.graph_code) if exc.graph_code is not None else None
            return ConnectionTest(ok=False, detail=known[0] if known else connection_reason(exc))
        except ProviderError as exc:
            return ConnectionTest(ok=False, detail=connection_reason(exc))
        display = str(info.get("display_phone_number") or "")
        only_digits = re.sub(r"\D", "", display)
        number = format_phone_display("+" + only_digits) if only_digits else self.config.phone_number_id
        name = info.get("verified_name")
        detail = f"Conectado: {number} ({name})" if name else f"Conectado: {number}"
        return ConnectionTest(ok=True, detail=detail)

    # ------------------------------------------------------------------------------- helpers

    @staticmethod
    def _classify(exc: GraphError) -> ErrorInfo:
        title = exc.user_title or (re.sub(r"^\(#\d+\)\s*", "", exc.message) if exc.graph_code is not None else None)
        return classify(exc.graph_code, exc.details, exc.http_status, exc.is_transient, title=title or None)

    def _retry_after(self, exc: GraphError, info: ErrorInfo) -> float | None:
        if info.code == 131056:
            return max(self.config.pair_interval_s, exc.retry_after or 0.0)
        if exc.retry_after is not None:
            return exc.retry_after
        return _RETRY_AFTER_DEFAULTS.get(info.code) if info.code is not None else None

    def _transient(self, exc: GraphError, info: ErrorInfo) -> ProviderError:
        return ProviderError(
            info.reason,
            transient=True,
            code=info.error_code or exc.code,
            status_code=exc.http_status,
            retry_after=self._retry_after(exc, info),
        )

    def _as_provider_error(self, exc: GraphError) -> ProviderError:
        info = self._classify(exc)
        if info.retry:
            return self._transient(exc, info)
        return ProviderError(
            info.reason, transient=False, code=info.error_code or exc.code, status_code=exc.http_status
        )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # tolerate callers that did not lower-case the names
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _canonical_address(data: Mapping[str, Any]) -> str | None:
    contacts = data.get("contacts")
    first = contacts[0] if isinstance(contacts, list) and contacts else None
    wa_id = first.get("wa_id") if isinstance(first, dict) else None
    if not isinstance(wa_id, str) or not wa_id:
        return None
    if wa_id.isascii() and wa_id.isdigit():
        return "+" + wa_id
    return wa_id  # a BSUID


if TYPE_CHECKING:  # mypy proves the class satisfies the engine's Provider protocol
    _provider_check: type[Provider] = WhatsAppCloudProvider
