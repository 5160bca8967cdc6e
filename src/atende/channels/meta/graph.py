"""A thin async client core for Meta's Graph API (WhatsApp Cloud, later Messenger and Instagram).

It only knows HTTP: base URL + API version, the Bearer token, JSON / multipart bodies and the Graph
error shape. Whether an error means "retry" or "tell the agent" for a given product is decided by
the product's own table (e.g. `atende.channels.whatsapp_cloud.errors`); `GraphError.transient` is
only the generic Graph default (rate limits, `is_transient`, 5xx).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from atende.channels.base import ProviderError

# Graph-wide codes that mean "try again later" whatever the product: 1 unknown API error,
# 2 service temporarily unavailable, 4 app rate limit, 17 user rate limit, 32 page rate limit,
# 341 application limit, 613 call rate limit, 80007 WABA rate limit.
_GENERIC_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 80007})

ParamValue = str | int | float | bool


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    if not headers:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class GraphError(ProviderError):
    """An error answer of the Graph API (`{"error": {...}}`), or a non-JSON error page.

    `code` (inherited, a string) and `graph_code` (int) carry Graph's `error.code`; `details` is
    `error_data.details` (or `error_data` itself when Graph sends it as a string).
    """

    def __init__(
        self,
        message: str,
        *,
        graph_code: int | None,
        http_status: int | None,
        details: str | None = None,
        error_type: str | None = None,
        error_subcode: int | None = None,
        fbtrace_id: str | None = None,
        is_transient: bool | None = None,
        user_title: str | None = None,
        user_message: str | None = None,
        raw: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        transient = bool(
            is_transient
            or (graph_code is not None and graph_code in _GENERIC_TRANSIENT_CODES)
            or (http_status is not None and (http_status >= 500 or http_status == 429))
        )
        super().__init__(
            message,
            transient=transient,
            code=str(graph_code) if graph_code is not None else None,
            status_code=http_status,
            retry_after=retry_after,
        )
        self.graph_code = graph_code
        self.http_status = http_status
        self.details = details
        self.error_type = error_type
        self.error_subcode = error_subcode
        self.fbtrace_id = fbtrace_id
        self.is_transient = is_transient
        self.user_title = user_title
        self.user_message = user_message
        self.raw: Mapping[str, Any] = raw or {}

    def __repr__(self) -> str:
        return (
            f"GraphError(code={self.graph_code!r}, http_status={self.http_status!r}, "
            f"message={self.message!r}, details={self.details!r}, fbtrace_id={self.fbtrace_id!r})"
        )


def graph_error_from_response(
    http_status: int | None,
    body: bytes | str | Mapping[str, Any] | None,
    headers: Mapping[str, str] | None = None,
) -> GraphError:
    """Build a GraphError from an error answer; tolerant of any body (HTML, empty, odd JSON)."""
    data: Any = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
    error = data.get("error") if isinstance(data, Mapping) else None
    retry_after = _retry_after(headers)
    if not isinstance(error, Mapping):
        return GraphError(
            f"HTTP {http_status}" if http_status is not None else "resposta inválida da Graph API",
            graph_code=None,
            http_status=http_status,
            raw=data if isinstance(data, Mapping) else None,
            retry_after=retry_after,
        )
    error_data = error.get("error_data")
    details: str | None = None
    if isinstance(error_data, Mapping):
        raw_details = error_data.get("details")
        details = str(raw_details) if raw_details is not None else None
    elif isinstance(error_data, str) and error_data:
        details = error_data
    is_transient = error.get("is_transient")
    message = error.get("message")
    return GraphError(
        str(message) if message else f"HTTP {http_status}",
        graph_code=_as_int(error.get("code")),
        http_status=http_status,
        details=details,
        error_type=str(error["type"]) if error.get("type") is not None else None,
        error_subcode=_as_int(error.get("error_subcode")),
        fbtrace_id=str(error["fbtrace_id"]) if error.get("fbtrace_id") is not None else None,
        is_transient=is_transient if isinstance(is_transient, bool) else None,
        user_title=error.get("error_user_title") if isinstance(error.get("error_user_title"), str) else None,
        user_message=error.get("error_user_msg") if isinstance(error.get("error_user_msg"), str) else None,
        raw=data,
        retry_after=retry_after,
    )


class GraphClient:
    """Graph API calls on an injected `httpx.AsyncClient`.

    Paths are relative to `{base_url}/{api_version}/` (e.g. `"106540352242922/messages"`); an
    absolute `http(s)://` URL (Graph's `paging.next`) is used as is. The token is sent as
    `Authorization: Bearer` and never appears in reprs or error messages.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_token: str,
        base_url: str = "https://graph.facebook.com",
        api_version: str = "v25.0",
        timeout: float | None = None,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self._access_token = access_token
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"GraphClient(base_url={self.base_url!r}, api_version={self.api_version!r})"

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{self.api_version}/{path.lstrip('/')}"

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token}"}

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._auth, **kwargs.pop("headers", {})}
        if self._timeout is not None:
            kwargs["timeout"] = self._timeout
        try:
            return await self.http.request(method, self.url(path), headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"tempo esgotado ao chamar a Graph API ({type(exc).__name__})", transient=True, code="timeout"
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"falha de rede ao chamar a Graph API ({type(exc).__name__})", transient=True, code="network"
            ) from exc

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise graph_error_from_response(response.status_code, response.content, response.headers)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise GraphError(
                "resposta inválida da Graph API (não é um objeto JSON)",
                graph_code=None,
                http_status=response.status_code,
            )
        return data

    async def get_json(self, path: str, params: Mapping[str, ParamValue] | None = None) -> dict[str, Any]:
        # No `params` kwarg at all when empty: httpx would otherwise drop the query string already
        # in `path` (Graph's paging.next URLs carry their cursor there).
        kwargs: dict[str, Any] = {"params": dict(params)} if params else {}
        return self._json(await self._request("GET", path, **kwargs))

    async def post_json(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._json(await self._request("POST", path, json=dict(body)))

    async def post_multipart(
        self,
        path: str,
        data: Mapping[str, str],
        files: Mapping[str, tuple[str, bytes, str]],
    ) -> dict[str, Any]:
        """POST multipart/form-data: `data` form fields, `files` name → (filename, bytes, mime)."""
        return self._json(await self._request("POST", path, data=dict(data), files=dict(files)))

    async def delete(self, path: str, params: Mapping[str, ParamValue] | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": dict(params)} if params else {}
        return self._json(await self._request("DELETE", path, **kwargs))

    async def get_bytes(self, url: str, *, max_bytes: int | None = None) -> tuple[bytes, str | None]:
        """Download `url` with the same Bearer header (media URLs need it).

        Returns (content, Content-Type). Streams, and stops with a permanent ProviderError
        (code "too_large") as soon as more than `max_bytes` arrive.
        """
        kwargs: dict[str, Any] = {}
        if self._timeout is not None:
            kwargs["timeout"] = self._timeout
        try:
            async with self.http.stream("GET", self.url(url), headers=self._auth, **kwargs) as response:
                if response.status_code >= 400:
                    body = await response.aread()
                    raise graph_error_from_response(response.status_code, body, response.headers)
                declared = _as_int(response.headers.get("content-length"))
                if max_bytes is not None and declared is not None and declared > max_bytes:
                    raise _too_large(declared, max_bytes)
                chunks: list[bytes] = []
                total = 0
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if max_bytes is not None and total > max_bytes:
                        raise _too_large(total, max_bytes)
                    chunks.append(chunk)
                return b"".join(chunks), response.headers.get("content-type")
        except httpx.TimeoutException as exc:
            raise ProviderError(
                f"tempo esgotado ao baixar mídia ({type(exc).__name__})", transient=True, code="timeout"
            ) from exc
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"falha de rede ao baixar mídia ({type(exc).__name__})", transient=True, code="network"
            ) from exc


def _too_large(size: int, limit: int) -> ProviderError:
    return ProviderError(f"arquivo grande demais: {size} bytes (limite {limit})", transient=False, code="too_large")
