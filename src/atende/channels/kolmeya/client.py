"""HTTP client of the Kolmeya SMS API (kolmeya.md §1-2).

Every endpoint is a POST with `Authorization: Bearer <token>` and a JSON body. Failures become
`ProviderError` with an agent/admin-facing pt-BR message and a `transient` flag for the job worker.
The token is never logged nor put in an error message.
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
import ssl
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from atende.channels.base import ProviderError
from atende.channels.kolmeya.config import DEFAULT_BASE_URL
from atende.domain.money import parse_brl

logger = logging.getLogger(__name__)

KNOWN_HOST = "kolmeya.com.br"
MAX_MESSAGES_PER_REQUEST = 1000
MAX_PHONES_PER_BLACKLIST_CALL = 1000
MAX_REPLY_PERIOD_HOURS = 168
RATE_LIMIT_WARNING = 50

_TLS_WORDS = re.compile(r"\b(SSL|TLS|TLSV1|CERTIFICATE)", re.IGNORECASE)
_DNS_WORDS = re.compile(
    r"Name or service not known|nodename nor servname|getaddrinfo failed|No address associated"
    r"|Temporary failure in name resolution|Name does not resolve",
    re.IGNORECASE,
)


def error_text(response: httpx.Response, limit: int = 300) -> str | None:
    """The human text of an error body: Kolmeya's `{"errors": [...]}`, Laravel's field map or `message`."""
    try:
        data = response.json()
    except ValueError:
        text = response.text.strip()
        if not text or text.startswith("<"):  # empty or an HTML error page
            return None
        return text[:limit]
    parts: list[str] = []
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list):
            parts.extend(str(item) for item in errors if item not in (None, ""))
        elif isinstance(errors, dict):  # Laravel's validation map: keep which field each one is about
            for field_name, value in errors.items():
                said = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
                parts.append(said if str(field_name) in said else f"{field_name}: {said}")
        elif isinstance(errors, str):
            parts.append(errors)
        message = data.get("message")
        if isinstance(message, str) and message and (not parts or isinstance(errors, dict)):
            parts.insert(0, message)
    elif isinstance(data, str) and data:
        parts.append(data)
    if not parts:
        return None
    return "; ".join(parts)[:limit]


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait: `Retry-After` (seconds or a date), `X-RateLimit-Reset`, or a `retry_after`
    in the JSON body (Laravel throttle answers carry one)."""
    value = response.headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
    reset = response.headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    try:
        data = response.json()
    except ValueError:
        return None
    body_value = data.get("retry_after") if isinstance(data, dict) else None
    if isinstance(body_value, int | float | str) and not isinstance(body_value, bool):
        try:
            seconds = float(body_value)
        except ValueError:
            return None
        return max(0.0, seconds) if seconds == seconds and seconds < 86400 else None
    return None


def _exception_chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class KolmeyaClient:
    """Thin typed wrapper over the Kolmeya endpoints, on an injected `httpx.AsyncClient`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | None = None,
    ) -> None:
        self._http = http
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).hostname or self.base_url
        self._timeout = timeout
        self.rate_limit_limit: int | None = None
        self.rate_limit_remaining: int | None = None

    def __repr__(self) -> str:  # never show the token
        return f"KolmeyaClient(base_url={self.base_url!r})"

    # -- transport -------------------------------------------------------------------------

    async def post(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        """POST `body` as JSON to `path`; return the 2xx response or raise ProviderError."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        url = self.base_url + path
        try:
            if self._timeout is None:
                response = await self._http.post(
                    url, json=body, headers=headers, params=dict(params) if params else None
                )
            else:
                response = await self._http.post(
                    url,
                    json=body,
                    headers=headers,
                    params=dict(params) if params else None,
                    timeout=self._timeout,
                )
        except httpx.TimeoutException as exc:
            logger.warning("kolmeya %s: timeout (%s)", path, type(exc).__name__)
            raise ProviderError(
                f"Tempo esgotado esperando a Kolmeya ({self.host}); tentaremos de novo.",
                transient=True,
                code="timeout",
            ) from exc
        except httpx.RequestError as exc:
            error = self._transport_error(exc)
            logger.warning("kolmeya %s: %s", path, error.message)
            raise error from exc
        self._note_rate_limit(response)
        logger.debug("kolmeya %s -> %s", path, response.status_code)
        if response.is_success:
            return response
        raise self._http_error(response)

    async def post_json(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        response = await self.post(path, body, params=params)
        try:
            return response.json()
        except ValueError:
            raise ProviderError(
                f"Resposta inesperada da Kolmeya em {path} (não é JSON). Confira base_url ({self.base_url}).",
                transient=False,
                code="bad_response",
                status_code=response.status_code,
            ) from None

    async def _post_object(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str | int] | None = None,
    ) -> dict[str, Any]:
        data = await self.post_json(path, body, params=params)
        if not isinstance(data, dict):
            raise ProviderError(
                f"Resposta inesperada da Kolmeya em {path}: esperava um objeto JSON.",
                transient=False,
                code="bad_response",
            )
        return data

    def _note_rate_limit(self, response: httpx.Response) -> None:
        limit = response.headers.get("x-ratelimit-limit")
        remaining = response.headers.get("x-ratelimit-remaining")
        if limit and limit.isdigit():
            self.rate_limit_limit = int(limit)
        if remaining and remaining.isdigit():
            self.rate_limit_remaining = int(remaining)
            if self.rate_limit_remaining < RATE_LIMIT_WARNING:
                logger.warning("kolmeya rate limit low: %s requests left", self.rate_limit_remaining)

    def _wrong_host_hint(self) -> str:
        if self.host == KNOWN_HOST:
            return ""
        return f" Confira base_url: o endereço da API Kolmeya é {DEFAULT_BASE_URL}."

    def _transport_error(self, exc: httpx.RequestError) -> ProviderError:
        chain = list(_exception_chain(exc))
        text = " ".join(str(item) for item in chain)
        on_known_host = self.host == KNOWN_HOST
        if isinstance(exc, httpx.UnsupportedProtocol):
            return ProviderError(
                f"URL da Kolmeya inválida ({self.base_url}).{self._wrong_host_hint()}",
                transient=False,
                code="bad_url",
            )
        if any(isinstance(item, ssl.SSLError) for item in chain) or _TLS_WORDS.search(text):
            return ProviderError(
                f"Falha TLS/SSL ao conectar em {self.host}.{self._wrong_host_hint()}",
                transient=on_known_host,
                code="tls_error",
            )
        gai = next((item for item in chain if isinstance(item, socket.gaierror)), None)
        if gai is not None or _DNS_WORDS.search(text):
            temporary = (gai is not None and gai.errno == socket.EAI_AGAIN) or "Temporary failure" in text
            return ProviderError(
                f"Host {self.host} não encontrado (DNS).{self._wrong_host_hint()}",
                transient=temporary or on_known_host,
                code="dns_error",
            )
        return ProviderError(
            f"Não foi possível falar com a Kolmeya em {self.host} ({type(exc).__name__}); tentaremos de novo.",
            transient=True,
            code="connection_error",
        )

    def _http_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        detail = error_text(response)
        said = f" A Kolmeya respondeu: {detail}." if detail else ""
        logger.warning("kolmeya HTTP %s: %s", status, detail or "(no error text)")
        if status == 401:
            return ProviderError(
                f"Token da Kolmeya inválido ou ausente (HTTP 401). Confira o api_token do conector.{said}",
                transient=False,
                code="unauthorized",
                status_code=status,
            )
        if status == 403:
            return ProviderError(
                "Token recusado ou IP não liberado no painel Kolmeya (HTTP 403). Libere o IP deste "
                f"servidor no painel da Kolmeya e confira o api_token.{said}",
                transient=False,
                code="forbidden",
                status_code=status,
            )
        if status == 404:
            return ProviderError(
                f"Endereço não encontrado na Kolmeya (HTTP 404). Confira base_url ({self.base_url}).{said}",
                transient=False,
                code="not_found",
                status_code=status,
            )
        if status == 422:
            return ProviderError(
                f"A Kolmeya recusou a requisição (HTTP 422): {detail or 'dados inválidos'}",
                transient=False,
                code="validation",
                status_code=status,
            )
        if status == 429:
            return ProviderError(
                "Limite de requisições da Kolmeya atingido (HTTP 429); tentaremos de novo.",
                transient=True,
                code="rate_limited",
                status_code=status,
                retry_after=_retry_after(response),
            )
        if status >= 500 or status == 408:
            return ProviderError(
                f"Kolmeya indisponível (HTTP {status}); tentaremos de novo.{said}",
                transient=True,
                code="server_error",
                status_code=status,
                retry_after=_retry_after(response),
            )
        return ProviderError(
            f"Erro da Kolmeya (HTTP {status}).{said}",
            transient=False,
            code=f"http_{status}",
            status_code=status,
        )

    # -- endpoints -------------------------------------------------------------------------

    async def store(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        webhook_url: str | None,
        reference: str | None = None,
        tenant_segment_id: int | None = None,
    ) -> dict[str, Any]:
        """POST /sms/store with 1..1000 `{"phone", "message", "reference"}` items; the parsed response
        `{"id", "reference", "valids", "invalids", "duplicates", "blacklist", "not_disturb"}`."""
        if not 1 <= len(messages) <= MAX_MESSAGES_PER_REQUEST:
            raise ValueError(f"/sms/store takes 1..{MAX_MESSAGES_PER_REQUEST} messages, got {len(messages)}")
        body: dict[str, Any] = {"messages": [dict(item) for item in messages]}
        if reference is not None:
            body["reference"] = reference
        if tenant_segment_id is not None:
            body["tenant_segment_id"] = tenant_segment_id
        if webhook_url:
            body["webhook_url"] = webhook_url
        return await self._post_object("/sms/store", body)

    async def status_request(self, request_id: str) -> dict[str, Any]:
        """POST /sms/status/request: the request and the status of each of its messages."""
        return await self._post_object("/sms/status/request", {"id": request_id})

    async def status_by_reference(self, reference: str) -> dict[str, Any]:
        """POST /sms/status/request with `{"reference": ...}` (kolmeya.md §2.3: id OR reference)."""
        return await self._post_object("/sms/status/request", {"reference": reference})

    async def status_message(self, message_id: str) -> dict[str, Any]:
        """POST /sms/status/message: `{"id", "reference", "status", "status_code"}` (shape unconfirmed)."""
        return await self._post_object("/sms/status/message", {"id": message_id})

    async def replys(self, period_hours: int, page: int = 1) -> dict[str, Any]:
        """POST /sms/replys: one page (Laravel paginator) of replies to API sends of the last hours."""
        period = min(max(int(period_hours), 1), MAX_REPLY_PERIOD_HOURS)
        body: dict[str, Any] = {"period": period}
        params: dict[str, str | int] | None = None
        if page > 1:
            body["page"] = page
            params = {"page": page}
        return await self._post_object("/sms/replys", body, params=params)

    async def replys_web(self, page: int = 1) -> dict[str, Any]:
        """POST /sms/replys-web: one page of replies to campaigns created in the web panel."""
        params: dict[str, str | int] | None = {"page": page} if page > 1 else None
        return await self._post_object("/sms/replys-web", {"page": page} if page > 1 else None, params=params)

    async def balance(self) -> Decimal:
        """POST /sms/balance. Kolmeya answers `{"balance": "R$9.397,30"}`; "1500.50" is accepted too."""
        data = await self._post_object("/sms/balance")
        value = data.get("balance")
        if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
            raise ProviderError(
                "Resposta inesperada da Kolmeya em /sms/balance: sem o campo balance.",
                transient=False,
                code="bad_response",
            )
        try:
            return parse_brl(str(value))
        except (ValueError, ArithmeticError):
            raise ProviderError(
                f"Saldo da Kolmeya em formato desconhecido: {str(value)[:40]!r}.",
                transient=False,
                code="bad_response",
            ) from None

    async def segments(self) -> list[dict[str, Any]]:
        """POST /sms/segments: the account's cost centers `[{"id": 109, "name": "CORPORATIVO"}]`."""
        data = await self._post_object("/sms/segments")
        items = data.get("segments")
        if not isinstance(items, list):
            return []
        return [item for item in items if isinstance(item, dict)]

    async def blacklist_store(self, phones: Sequence[str | int]) -> None:
        """POST /blacklist/store (201, empty body). `phones` are digits (55+DDD+number)."""
        for start in range(0, len(phones), MAX_PHONES_PER_BLACKLIST_CALL):
            chunk = phones[start : start + MAX_PHONES_PER_BLACKLIST_CALL]
            await self.post("/blacklist/store", {"phones": [{"phone": phone} for phone in chunk]})

    async def blacklist_destroy(self, phones: Sequence[str | int]) -> None:
        """POST /blacklist/destroy (204). `phones` are digits (55+DDD+number)."""
        for start in range(0, len(phones), MAX_PHONES_PER_BLACKLIST_CALL):
            chunk = phones[start : start + MAX_PHONES_PER_BLACKLIST_CALL]
            await self.post("/blacklist/destroy", {"phones": [{"phone": phone} for phone in chunk]})
