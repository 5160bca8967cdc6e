"""What Messenger and Instagram share beyond the webhook shapes: the handshake and signature (as
WhatsApp), the Send API, attachments, profiles and the connection test.

Translation only: the engine decides the window (24 h, or 7 days with the HUMAN_AGENT tag when the
connector's app has it) and passes `OutboundMessage.message_tag`; this class turns that into
`messaging_type`/`tag`. Every send carries our reference in `message.metadata`, so the page's echo
of it reports "sent" instead of becoming a second message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from atende.channels.base import (
    N_,
    Capabilities,
    ConfigField,
    ConnectionTest,
    MediaRef,
    OutboundMessage,
    ProviderError,
    SendResult,
    WebhookBatch,
    WebhookRejected,
    WebhookRequest,
)
from atende.channels.meta.graph import GraphClient, GraphError
from atende.channels.meta.messaging import REFERENCE_PREFIX, MetaObject, parse_messaging_body
from atende.channels.meta.send_errors import classify_send_error
from atende.channels.meta.signature import SIGNATURE_HEADER, valid_signature, verify_handshake
from atende.media.links import InvalidLink, check_media_link

MB = 1024 * 1024
# What Messenger and Instagram both do: the 24 h window then HUMAN_AGENT for 7 days, files both ways,
# profiles, "seen" receipts, signed webhooks. (Reactions and templates are not sent.)
MESSAGING_CAPABILITIES = Capabilities(
    media=True, read_receipts=True, service_window_hours=24, human_agent_window_hours=24 * 7, profiles=True,
    signed_webhooks=True, fetch_media=True, upload_media=True,
)
# The form fields both share (contract.md: page_access_token, app_secret, verify_token, base_url, api_version).
COMMON_FIELDS = (
    ConfigField("page_access_token", N_("Token de acesso da página"), "password", True),
    ConfigField("app_secret", N_("App secret"), "password", True),
    ConfigField("verify_token", N_("Verify token"), "password", True),
    ConfigField("human_agent_tag", N_("App aprovado para a etiqueta HUMAN_AGENT (respostas até 7 dias)"), "select",
                options=("false", "true")),
    ConfigField("base_url", N_("URL da API"), placeholder="https://graph.facebook.com"),
    ConfigField("api_version", N_("Versão da API"), placeholder="v25.0"),
)
# Where Meta serves the files customers send (plus the configured base_url's host, for fakes).
META_MEDIA_HOSTS = ("fbcdn.net", "fbsbx.com", "cdninstagram.com", "facebook.com", "instagram.com")
_ATTACHMENT_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file", "sticker": "image"}


class InvalidOutbound(ValueError):
    """The engine asked for something this channel cannot send (reported as a failed SendResult)."""


def base_mime(mime_type: str | None) -> str:
    return (mime_type or "").split(";", 1)[0].strip().lower()


class MessagingProvider:
    """Base of the `messenger` and `instagram` providers (built by the registry per connector)."""

    name: ClassVar[str]
    channel: ClassVar[Any]
    capabilities: ClassVar[Capabilities]
    config_model: ClassVar[type[BaseModel]]
    secret_fields: ClassVar[frozenset[str]] = frozenset({"page_access_token", "app_secret", "verify_token"})
    meta_object: ClassVar[MetaObject]
    max_text: ClassVar[int]
    #: MIME type → our media kind, and the largest file per kind (uploads and downloads).
    mime_kinds: ClassVar[Mapping[str, str]]
    media_limits: ClassVar[Mapping[str, int]]
    profile_fields: ClassVar[str]
    label: ClassVar[str]
    form_fields: ClassVar[tuple[ConfigField, ...]]

    def __init__(self, config: BaseModel, http: httpx.AsyncClient) -> None:
        parsed: Any = config if isinstance(config, self.config_model) else \
            self.config_model.model_validate(config.model_dump() if isinstance(config, BaseModel) else config)
        self.config = parsed
        self.http = http
        self.graph = GraphClient(http, access_token=parsed.page_access_token, base_url=parsed.base_url,
                                 api_version=parsed.api_version)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account_id!r})"

    @property
    def account_id(self) -> str:
        return str(self.config.account_id)

    @property
    def send_node(self) -> str:
        """The Graph node whose `/messages` sends for this account."""
        return self.account_id

    # ------------------------------------------------------------------------------ webhooks

    def handshake(self, request: WebhookRequest) -> str | None:
        return verify_handshake(request.query, self.config.verify_token)

    def parse_webhook(self, request: WebhookRequest) -> WebhookBatch:
        header = request.headers.get(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected(401, "assinatura X-Hub-Signature-256 ausente")
        if not valid_signature(request.body, header, self.config.app_secret):
            raise WebhookRejected(403, "assinatura X-Hub-Signature-256 inválida")
        return parse_messaging_body(request.body, self.meta_object)

    # ------------------------------------------------------------------------------- sending

    def build_bodies(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """The Send API bodies for one message: a media with a caption goes as the file, then the text
        (the platform carries no captions). InvalidOutbound when the channel cannot send it."""
        to = (message.to or "").strip()
        if not to or not to.isascii() or not to.isdigit():
            raise InvalidOutbound(f"destinatário inválido para {self.label}: {to!r}")
        envelope: dict[str, Any] = {"recipient": {"id": to}, "messaging_type": "RESPONSE"}
        if message.message_tag:
            envelope.update(messaging_type="MESSAGE_TAG", tag=message.message_tag)
        metadata = (REFERENCE_PREFIX + message.reference)[:1000]
        kind = message.kind
        texts: list[str] = []
        bodies: list[dict[str, Any]] = []
        if kind == "text":
            texts.append(message.text or "")
        elif kind in _ATTACHMENT_TYPES:
            media = message.media
            if media is None or not (media.provider_media_id or media.url):
                raise InvalidOutbound(f"{kind} sem mídia (id ou link)")
            payload: dict[str, Any] = ({"attachment_id": media.provider_media_id} if media.provider_media_id
                                       else {"url": self.check_link(media.url or ""), "is_reusable": True})
            bodies.append({**envelope, "message": {
                "attachment": {"type": _ATTACHMENT_TYPES[kind], "payload": payload}, "metadata": metadata}})
            caption = media.caption or message.text
            if caption and caption.strip():
                texts.append(caption)
        else:
            raise InvalidOutbound(f"tipo de mensagem não suportado no {self.label}: {kind!r}")
        for text in texts:
            if not text.strip():
                raise InvalidOutbound("mensagem de texto vazia")
            if len(text) > self.max_text:
                raise InvalidOutbound(f"texto longo demais para o {self.label} ({len(text)} > {self.max_text})")
            bodies.append({**envelope, "message": {"text": text, "metadata": metadata}})
        return bodies

    @staticmethod
    def check_link(url: str) -> str:
        try:
            return check_media_link(url)
        except InvalidLink as exc:
            raise InvalidOutbound(str(exc)) from None

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            bodies = self.build_bodies(message)
        except InvalidOutbound as exc:
            return SendResult(message.reference, "failed", error_code="invalid_message", error=str(exc))
        ids: list[str] = []
        for position, body in enumerate(bodies):
            try:
                data = await self.graph.post_json(f"{self.send_node}/messages", body)
            except GraphError as exc:
                info = classify_send_error(exc)
                if info.retry and not ids:
                    raise ProviderError(info.reason, transient=True, code=info.code, status_code=exc.http_status,
                                        retry_after=exc.retry_after) from exc
                if not ids:
                    return SendResult(message.reference, "failed", error_code=info.code, error=info.reason,
                                      raw=exc.raw)
                # The file went, its caption did not: report what reached the customer.
                return SendResult(message.reference, "sent", provider_message_id=ids[0],
                                  raw={"message_ids": ids, "caption_error": info.reason, "failed_part": position})
            mid = data.get("message_id")
            if not isinstance(mid, str) or not mid:
                raise ProviderError("resposta da Send API sem message_id", transient=False, code="bad_response")
            ids.append(mid)
        return SendResult(message.reference, "sent", provider_message_id=ids[0],
                          raw={"message_ids": ids} if len(ids) > 1 else None)

    async def mark_read(self, provider_message_id: str, address: str) -> None:
        """`sender_action: mark_seen`: the customer sees we read the thread (by their id, not a message)."""
        try:
            await self.graph.post_json(f"{self.send_node}/messages",
                                       {"recipient": {"id": address}, "sender_action": "mark_seen"})
        except GraphError as exc:
            info = classify_send_error(exc)
            raise ProviderError(info.reason, transient=info.retry, code=info.code) from exc

    # --------------------------------------------------------------------------------- media

    def kind_for_mime(self, mime_type: str | None) -> str | None:
        return self.mime_kinds.get(base_mime(mime_type))

    async def upload_media(self, data: bytes, mime_type: str, filename: str) -> str:
        """Upload a file once (`/message_attachments`, reusable); returns its attachment id."""
        kind = self.kind_for_mime(mime_type)
        if kind is None:
            raise ProviderError(f"tipo de arquivo não aceito pelo {self.label}: {base_mime(mime_type) or '?'}",
                                transient=False, code="mime_not_allowed")
        if len(data) > self.media_limits[kind]:
            raise ProviderError(f"arquivo grande demais para {kind} no {self.label}: {len(data)} bytes "
                                f"(limite {self.media_limits[kind]})", transient=False, code="too_large")
        node = self.upload_node()
        message = {"attachment": {"type": _ATTACHMENT_TYPES.get(kind, "file"), "payload": {"is_reusable": True}}}
        try:
            answer = await self.graph.post_multipart(
                f"{node}/message_attachments", data={"message": json.dumps(message)},
                files={"filedata": (filename or "arquivo", data, mime_type)})
        except GraphError as exc:
            info = classify_send_error(exc)
            raise ProviderError(info.reason, transient=info.retry, code=info.code, status_code=exc.http_status) \
                from exc
        attachment = answer.get("attachment_id")
        if not isinstance(attachment, str | int) or isinstance(attachment, bool) or not str(attachment):
            raise ProviderError("resposta do upload sem attachment_id", transient=False, code="bad_response")
        return str(attachment)

    def upload_node(self) -> str:
        return self.send_node

    def _media_host_allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        own = (urlsplit(self.config.base_url).hostname or "").lower()
        if host and host == own:
            return True
        return parts.scheme == "https" and any(host == h or host.endswith("." + h) for h in META_MEDIA_HOSTS)

    async def fetch_media(self, ref: MediaRef) -> tuple[bytes, str]:
        """Download a file a customer sent (its CDN `url`, valid for a while). No token goes with it:
        the URL is signed. Refuses hosts that are not Meta's, MIME types outside `mime_kinds` and files
        over the kind's limit (permanent errors); network trouble is transient."""
        url = ref.url or ""
        if not url or not self._media_host_allowed(url):
            raise ProviderError("link de mídia fora dos servidores da Meta", transient=False, code="media_host")
        try:
            async with self.http.stream("GET", url) as response:
                if response.status_code in (403, 404, 410):
                    raise ProviderError("o link da mídia expirou na Meta", transient=False,
                                        code="media_url_expired", status_code=response.status_code)
                if response.status_code >= 400:
                    raise ProviderError(f"falha ao baixar mídia (HTTP {response.status_code})",
                                        transient=response.status_code >= 500, code="media_download",
                                        status_code=response.status_code)
                mime = base_mime(response.headers.get("content-type")) or base_mime(ref.mime_type)
                kind = self.kind_for_mime(mime)
                if kind is None:
                    raise ProviderError(f"tipo de arquivo recusado: {mime or '?'}", transient=False,
                                        code="mime_not_allowed")
                limit = self.media_limits[kind]
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > limit:
                        raise ProviderError(f"arquivo grande demais para {kind}: mais de {limit} bytes",
                                            transient=False, code="too_large")
                    chunks.append(chunk)
                return b"".join(chunks), mime
        except httpx.TimeoutException as exc:
            raise ProviderError("tempo esgotado ao baixar mídia", transient=True, code="timeout") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"falha de rede ao baixar mídia ({type(exc).__name__})", transient=True,
                                code="network") from exc

    # ------------------------------------------------------------------------------ profiles

    async def fetch_profile(self, user_id: str) -> dict[str, str]:
        """The customer's name (and username, picture) by PSID / IGSID: `{"name", "username"?,
        "picture"?}`; {} when Meta shares nothing (privacy settings)."""
        try:
            data = await self.graph.get_json(user_id, {"fields": self.profile_fields})
        except GraphError as exc:
            info = classify_send_error(exc)
            if info.retry:
                raise ProviderError(info.reason, transient=True, code=info.code) from exc
            return {}
        return self.profile_of(data)

    def profile_of(self, data: Mapping[str, Any]) -> dict[str, str]:
        raise NotImplementedError

    # ---------------------------------------------------------------------------- connection

    async def test_connection(self) -> ConnectionTest:
        try:
            info = await self.graph.get_json(self.account_id, {"fields": "name,username"})
        except GraphError as exc:
            return ConnectionTest(ok=False, detail=classify_send_error(exc).reason)
        except ProviderError as exc:
            return ConnectionTest(ok=False, detail=f"não foi possível conectar à Graph API: {exc.message}")
        shown = info.get("username") or info.get("name") or self.account_id
        prefix = "@" if info.get("username") else ""
        return ConnectionTest(ok=True, detail=f"Conectado: {prefix}{shown} ({self.label})")
