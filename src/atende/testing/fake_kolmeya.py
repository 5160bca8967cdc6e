"""A fake Kolmeya SMS API (kolmeya.md §6) for tests, demos and end-to-end runs.

Mount `fake.app` with `httpx.ASGITransport` in tests, or serve it on 127.0.0.1 with uvicorn
(`serve_fake_kolmeya`, or `python -m atende.testing.fake_kolmeya`). Drive it through `fake.state`
(sent messages, blacklist, balance, ...) and the helpers that play Kolmeya's side: status changes,
status and reply webhooks, replies only visible to polling, failures on the next call.

Behaviour follows what is known of the real API: POST only (any GET is 404 `{"errors":["Not found."]}`),
Bearer token (401 missing, 403 wrong token or IP not allowed), `{"errors": [...]}` bodies, UUID ids,
phones echoed as national-format integers, Laravel paginators with `dd/mm/YYYY HH:MM:SS` dates, and
`X-RateLimit-Limit` / `X-RateLimit-Remaining` headers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

API_PREFIX = "/api/v1"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
MAX_MESSAGES = 1000
MAX_REPORT_ROWS = 30000
MAX_REPORT_WINDOW = timedelta(days=7)
MAX_REPLY_PERIOD_HOURS = 168
STATUS_TEXTS: dict[int, str] = {
    1: "Tentando enviar",
    2: "enviado",
    3: "entregue",
    4: "não entregue",
    5: "rejeitado no broker",
    6: "expirada",
}
NOT_FOUND = {"errors": ["Not found."]}


def national_phone(value: Any) -> int | None:
    """A phone as Kolmeya accepts it (digits, with or without 55) → national int (DDD + 9 + 8 digits),
    or None when it is not a Brazilian mobile number."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit():
        return None
    if len(text) in (12, 13) and text.startswith("55"):
        text = text[2:]
    if len(text) != 11 or text[0] == "0" or text[1] == "0" or text[2] != "9":
        return None
    return int(text)


def br_datetime(moment: datetime, *, seconds: bool = True) -> str:
    """Aware datetime → `dd/mm/YYYY HH:MM:SS` in São Paulo time (Kolmeya's date format)."""
    return moment.astimezone(SAO_PAULO).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m/%Y %H:%M")


def brl(amount: Decimal) -> str:
    """Decimal("9397.3") → "R$9.397,30", as /sms/balance answers."""
    sign = "-" if amount < 0 else ""
    grouped = f"{abs(amount):,.2f}".translate(str.maketrans(",.", ".,"))
    return f"{sign}R${grouped}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class FakeRequest:
    """One /sms/store call ("envio")."""

    id: str
    reference: Any
    webhook_url: str | None
    tenant_segment_id: int | None
    created_at: datetime
    job: int
    message_ids: list[str] = field(default_factory=list)
    status: str = "Válido"
    status_code: int = 2


@dataclass(slots=True)
class FakeMessage:
    """One accepted SMS (an entry of `valids`)."""

    id: str
    request_id: str
    phone: int  # national format, as Kolmeya echoes it
    text: str
    reference: Any
    webhook_url: str | None
    created_at: datetime
    job: int
    status_code: int = 1

    @property
    def status(self) -> str:
        return STATUS_TEXTS[self.status_code]


@dataclass(slots=True)
class FakeReply:
    """A customer's answer (MO)."""

    id: int
    phone: int  # national format
    text: str
    received_at: datetime
    message_id: str | None = None
    via_webhook: bool = False
    job: int | None = None
    original_text: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FakeCall:
    """A request the fake received (what tests assert on)."""

    method: str
    path: str  # relative to /api/v1, e.g. "/sms/store"
    body: Any
    headers: dict[str, str]
    query: dict[str, str]
    status_code: int = 0


@dataclass(slots=True)
class WebhookDelivery:
    url: str
    payload: dict[str, Any]
    status_code: int


@dataclass(slots=True)
class _Failure:
    status_code: int
    body: Any
    headers: dict[str, str]


@dataclass
class FakeKolmeyaState:
    """Everything the fake knows; tests read and change it directly."""

    tokens: set[str]
    allowed: bool = True  # False: the caller's IP is not whitelisted (403 for every call)
    balance: Decimal = Decimal("9397.30")
    price_per_message: Decimal = Decimal("0.05")
    blacklist: set[int] = field(default_factory=set)  # national ints
    not_disturb: set[int] = field(default_factory=set)  # national ints on the "Não Perturbe" register
    segments: list[dict[str, Any]] = field(default_factory=lambda: [{"id": 109, "name": "CORPORATIVO"}])
    per_page: int = 1000
    rate_limit: int = 500
    rate_window_s: float = 60.0
    requests: dict[str, FakeRequest] = field(default_factory=dict)
    messages: dict[str, FakeMessage] = field(default_factory=dict)
    replies: list[FakeReply] = field(default_factory=list)  # replies to API sends (/sms/replys)
    web_replies: list[FakeReply] = field(default_factory=list)  # replies to panel campaigns (/sms/replys-web)
    calls: list[FakeCall] = field(default_factory=list)
    webhook_deliveries: list[WebhookDelivery] = field(default_factory=list)
    clock: Callable[[], datetime] = _utcnow
    _failures: deque[_Failure] = field(default_factory=deque)
    _rate_used: int = 0
    _rate_window_start: float = field(default_factory=time.monotonic)
    _next_reply_id: int = 1
    _next_job: int = 1380013

    @property
    def sent(self) -> list[FakeMessage]:
        """Accepted messages, oldest first."""
        return list(self.messages.values())

    def calls_to(self, path: str) -> list[FakeCall]:
        return [call for call in self.calls if call.path == path]

    def messages_to(self, phone: Any) -> list[FakeMessage]:
        national = national_phone(phone if not isinstance(phone, str) else phone.lstrip("+"))
        return [message for message in self.messages.values() if message.phone == national]


class FakeKolmeya:
    """The fake: `app` (ASGI) plus `state` and the helpers that act as Kolmeya."""

    def __init__(self, state: FakeKolmeyaState, *, webhook_http: httpx.AsyncClient | None = None) -> None:
        self.state = state
        self.webhook_http = webhook_http
        self.app = self._build_app()

    # -- driving the fake from tests ---------------------------------------------------------

    def fail_next(
        self,
        status_code: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` calls answer `status_code` with `body` (JSON; a str/bytes body is sent as is).
        Default body: `{"errors": ["Server Error"]}`."""
        payload = {"errors": ["Server Error"]} if body is None else body
        for _ in range(times):
            self.state._failures.append(_Failure(status_code, payload, dict(headers or {})))

    def set_status(self, message_id: str, code: int) -> FakeMessage:
        """Move a message to status `code` (1..6) without telling anyone (only polling sees it)."""
        if code not in STATUS_TEXTS:
            raise ValueError(f"Kolmeya status codes are 1..6, got {code}")
        message = self.state.messages[message_id]
        message.status_code = code
        return message

    async def deliver_status(
        self, message_id: str, code: int, *, http: httpx.AsyncClient | None = None
    ) -> httpx.Response:
        """Set the status and POST the nested status webhook to the message's webhook_url."""
        message = self.set_status(message_id, code)
        if not message.webhook_url:
            raise LookupError(f"message {message_id} was sent without webhook_url")
        request = self.state.requests[message.request_id]
        payload = {
            "id": request.id,
            "reference": request.reference,
            "messages": [
                {
                    "id": message.id,
                    "reference": message.reference,
                    "status_code": message.status_code,
                    "status": message.status,
                }
            ],
        }
        return await self._post_webhook(message.webhook_url, payload, http)

    async def send_reply(
        self,
        message_id_or_phone: str | int,
        text: str,
        *,
        http: httpx.AsyncClient | None = None,
        received_at: datetime | None = None,
    ) -> FakeReply:
        """A customer answers: record the reply (pollable on /sms/replys) and POST the nested reply
        webhook to the answered message's webhook_url (skipped when it has none)."""
        message = self._find_message(message_id_or_phone)
        reply = self._record_reply(message, text, received_at, via_webhook=True)
        if message.webhook_url:
            payload = {
                "reply": {
                    "id": reply.id,
                    "reply": reply.text,
                    "received_at": br_datetime(reply.received_at),
                    "message": {
                        "id": message.id,
                        "reference": message.reference,
                        "phone": f"55{message.phone}",
                        "content": message.text,
                    },
                }
            }
            await self._post_webhook(message.webhook_url, payload, http)
        return reply

    def add_reply_without_webhook(
        self, message_id_or_phone: str | int, text: str, *, received_at: datetime | None = None
    ) -> FakeReply:
        """A reply whose webhook went missing: only /sms/replys shows it."""
        message = self._find_message(message_id_or_phone)
        return self._record_reply(message, text, received_at, via_webhook=False)

    def add_web_reply(
        self,
        phone: str | int,
        text: str,
        *,
        job: int = 1380013,
        original_text: str = "Mensagem da campanha",
        parameters: Mapping[str, Any] | None = None,
        received_at: datetime | None = None,
    ) -> FakeReply:
        """A reply to a campaign created in the web panel (/sms/replys-web)."""
        national = national_phone(str(phone).lstrip("+"))
        if national is None:
            raise ValueError(f"not a Brazilian mobile: {phone!r}")
        reply = FakeReply(
            id=self._reply_id(),
            phone=national,
            text=text,
            received_at=received_at or self.state.clock(),
            job=job,
            original_text=original_text,
            parameters=dict(parameters or {}),
        )
        self.state.web_replies.append(reply)
        return reply

    async def reject_request(
        self,
        request_id: str,
        *,
        reason: str = "Request rejected due to validation failure",
        http: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """Homologation refused the whole request: POST the "request rejected" webhook."""
        request = self.state.requests[request_id]
        request.status, request.status_code = "rejected", 5
        if not request.webhook_url:
            raise LookupError(f"request {request_id} was sent without webhook_url")
        payload = {"id": request.id, "reference": None, "status": "rejected", "status_message": reason}
        return await self._post_webhook(request.webhook_url, payload, http)

    def _find_message(self, message_id_or_phone: str | int) -> FakeMessage:
        if isinstance(message_id_or_phone, str) and message_id_or_phone in self.state.messages:
            return self.state.messages[message_id_or_phone]
        candidates = self.state.messages_to(message_id_or_phone)
        if not candidates:
            raise LookupError(f"no message sent to {message_id_or_phone!r}")
        return candidates[-1]

    def _reply_id(self) -> int:
        reply_id = self.state._next_reply_id
        self.state._next_reply_id += 1
        return reply_id

    def _record_reply(
        self, message: FakeMessage, text: str, received_at: datetime | None, *, via_webhook: bool
    ) -> FakeReply:
        reply = FakeReply(
            id=self._reply_id(),
            phone=message.phone,
            text=text,
            received_at=received_at or self.state.clock(),
            message_id=message.id,
            via_webhook=via_webhook,
            original_text=message.text,
        )
        self.state.replies.append(reply)
        return reply

    async def _post_webhook(self, url: str, payload: dict[str, Any], http: httpx.AsyncClient | None) -> httpx.Response:
        client = http or self.webhook_http
        if client is None:
            async with httpx.AsyncClient(timeout=10.0) as own:
                response = await own.post(url, json=payload)
        else:
            response = await client.post(url, json=payload)
        self.state.webhook_deliveries.append(WebhookDelivery(url, payload, response.status_code))
        return response

    # -- the HTTP side -----------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="Fake Kolmeya", openapi_url=None, docs_url=None, redoc_url=None)
        handlers: dict[str, Callable[[dict[str, Any], Request], Awaitable[Response]]] = {
            "/sms/store": self._store,
            "/sms/store-token": self._store_token,
            "/sms/status/request": self._status_request,
            "/sms/status/message": self._status_message,
            "/sms/replys": self._replys,
            "/sms/replys-web": self._replys_web,
            "/sms/balance": self._balance,
            "/sms/segments": self._segments,
            "/sms/apis": self._apis,
            "/sms/reports/statuses": self._reports_statuses,
            "/blacklist/store": self._blacklist_store,
            "/blacklist/destroy": self._blacklist_destroy,
        }

        @app.api_route("/{full_path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
        async def dispatch(full_path: str, request: Request) -> Response:
            raw = await request.body()
            try:
                body: Any = json.loads(raw) if raw.strip() else {}
            except ValueError:
                body = None
            path = "/" + full_path
            path = path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path
            call = FakeCall(
                method=request.method,
                path=path,
                body=body,
                headers={key.lower(): value for key, value in request.headers.items()},
                query=dict(request.query_params),
            )
            self.state.calls.append(call)
            response = await self._handle(call, request, handlers, "/" + full_path)
            call.status_code = response.status_code
            return response

        return app

    async def _handle(
        self,
        call: FakeCall,
        request: Request,
        handlers: Mapping[str, Callable[[dict[str, Any], Request], Awaitable[Response]]],
        full_path: str,
    ) -> Response:
        state = self.state
        if state._failures:
            failure = state._failures.popleft()
            if isinstance(failure.body, str | bytes):
                return Response(failure.body, status_code=failure.status_code, headers=failure.headers)
            return JSONResponse(failure.body, status_code=failure.status_code, headers=failure.headers)
        handler = handlers.get(call.path)
        if call.method != "POST" or handler is None or not full_path.startswith(API_PREFIX + "/"):
            return JSONResponse(NOT_FOUND, status_code=404)
        authorization = call.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _errors(401, "Unauthenticated.")
        if token.strip() not in state.tokens:
            return _errors(403, "Invalid token.")
        if not state.allowed:
            return _errors(403, "IP não autorizado para este token.")
        now = time.monotonic()
        if now - state._rate_window_start >= state.rate_window_s:
            state._rate_window_start, state._rate_used = now, 0
        state._rate_used += 1
        remaining = max(0, state.rate_limit - state._rate_used)
        rate_headers = {"X-RateLimit-Limit": str(state.rate_limit), "X-RateLimit-Remaining": str(remaining)}
        if state._rate_used > state.rate_limit:
            retry = max(1, int(state.rate_window_s - (now - state._rate_window_start)))
            refused = _errors(429, "Too Many Attempts.")
            refused.headers.update({**rate_headers, "Retry-After": str(retry)})
            return refused
        response: Response
        if not isinstance(call.body, dict):
            response = _errors(422, "The given data was invalid.")
        else:
            response = await handler(call.body, request)
        response.headers.update(rate_headers)
        return response

    # -- endpoints ---------------------------------------------------------------------------

    async def _store(self, body: dict[str, Any], request: Request) -> Response:
        return self._accept(body, token_sms=False)

    async def _store_token(self, body: dict[str, Any], request: Request) -> Response:
        return self._accept(body, token_sms=True)

    def _accept(self, body: dict[str, Any], *, token_sms: bool) -> Response:
        state = self.state
        items = body.get("messages")
        if not isinstance(items, list) or not items:
            return _errors(422, "The messages field is required.")
        if len(items) > MAX_MESSAGES:
            return _errors(422, f"The messages may not have more than {MAX_MESSAGES} items.")
        if token_sms and len(items) != 1:
            return _errors(422, "The messages must contain 1 items.")
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                return _errors(422, f"The messages.{index} must be an array.")
            if "phone" not in item:
                return _errors(422, 'Undefined array key "phone"')
            if "message" not in item:
                return _errors(422, 'Undefined array key "message"')
            if not isinstance(item["message"], str) or not item["message"].strip():
                return _errors(422, f"The messages.{index}.message field is required.")
            if token_sms and any(word in item["message"].lower() for word in ("http", "www.", "0800")):
                return _errors(422, "Mensagens de token não podem conter links nem números 0800.")
        segment = body.get("tenant_segment_id")
        if segment is not None and segment not in {item.get("id") for item in state.segments}:
            return _errors(422, "The selected tenant segment id is invalid.")
        webhook_url = body.get("webhook_url")
        if webhook_url is not None and not isinstance(webhook_url, str):
            return _errors(422, "The webhook url must be a string.")

        valids: list[tuple[int, dict[str, Any]]] = []
        invalids: list[dict[str, Any]] = []
        duplicates: list[dict[str, Any]] = []
        blacklisted: list[dict[str, Any]] = []
        not_disturb: list[dict[str, Any]] = []
        seen: set[int] = set()
        for item in items:
            reference = item.get("reference")
            national = national_phone(item["phone"])
            if national is None:
                invalids.append(
                    {
                        "phone": item["phone"],
                        "message": item["message"],
                        "reference": reference,
                        "error": "Telefone inválido",
                    }
                )
            elif national in seen:
                duplicates.append({"phone": national, "message": item["message"], "reference": reference})
            elif national in state.blacklist:
                seen.add(national)
                blacklisted.append({"phone": national, "reference": reference})
            elif national in state.not_disturb and not token_sms:
                seen.add(national)
                not_disturb.append({"phone": national, "reference": reference})
            else:
                seen.add(national)
                valids.append((national, item))
        cost = state.price_per_message * len(valids)
        if cost > state.balance:
            return _errors(422, "Saldo insuficiente.")
        state.balance -= cost
        now = state.clock()
        request = FakeRequest(
            id=str(uuid.uuid4()),
            reference=body.get("reference"),
            webhook_url=webhook_url,
            tenant_segment_id=segment,
            created_at=now,
            job=state._next_job,
        )
        state._next_job += 1
        state.requests[request.id] = request
        valid_out: list[dict[str, Any]] = []
        for national, item in valids:
            message = FakeMessage(
                id=str(uuid.uuid4()),
                request_id=request.id,
                phone=national,
                text=item["message"],
                reference=item.get("reference"),
                webhook_url=webhook_url,
                created_at=now,
                job=request.job,
            )
            state.messages[message.id] = message
            request.message_ids.append(message.id)
            valid_out.append({"id": message.id, "phone": national, "reference": message.reference})
        return JSONResponse(
            {
                "id": request.id,
                "reference": request.reference,
                "valids": valid_out,
                "invalids": invalids,
                "duplicates": duplicates,
                "blacklist": blacklisted,
                "not_disturb": not_disturb,
            }
        )

    async def _status_request(self, body: dict[str, Any], request: Request) -> Response:
        has_id, has_reference = body.get("id") is not None, body.get("reference") is not None
        if has_id and has_reference:
            return _errors(422, "Informe apenas id ou reference.")
        if not has_id and not has_reference:
            return _errors(422, "The id field is required.")
        if has_id:
            found = self.state.requests.get(str(body["id"]))
        else:
            found = next((item for item in self.state.requests.values() if item.reference == body["reference"]), None)
        if found is None:
            return JSONResponse(NOT_FOUND, status_code=404)
        messages = [self.state.messages[message_id] for message_id in found.message_ids]
        return JSONResponse(
            {
                "id": found.id,
                "status": found.status,
                "status_code": found.status_code,
                "reference": found.reference,
                "messages": [
                    {"id": m.id, "reference": m.reference, "status": m.status, "status_code": m.status_code}
                    for m in messages
                ],
            }
        )

    async def _status_message(self, body: dict[str, Any], request: Request) -> Response:
        if body.get("id") is None:
            return _errors(422, "The id field is required.")
        message = self.state.messages.get(str(body["id"]))
        if message is None:
            return JSONResponse(NOT_FOUND, status_code=404)
        return JSONResponse(
            {
                "id": message.id,
                "reference": message.reference,
                "status": message.status,
                "status_code": message.status_code,
            }
        )

    async def _replys(self, body: dict[str, Any], request: Request) -> Response:
        period = body.get("period", 24)
        if isinstance(period, bool) or not isinstance(period, int) or not 1 <= period <= MAX_REPLY_PERIOD_HOURS:
            return _errors(422, f"The period must be between 1 and {MAX_REPLY_PERIOD_HOURS}.")
        since = self.state.clock() - timedelta(hours=period)
        replies = sorted(
            (reply for reply in self.state.replies if reply.received_at >= since),
            key=lambda reply: (reply.received_at, reply.id),
        )
        items = []
        for reply in replies:
            message = self.state.messages.get(reply.message_id or "")
            request_row = self.state.requests.get(message.request_id) if message else None
            items.append(
                {
                    "id": reply.id,
                    "reply": reply.text,
                    "received_at": br_datetime(reply.received_at),
                    "message": {
                        "id": message.id if message else None,
                        "reference": message.reference if message else None,
                        "phone": int(f"55{reply.phone}"),
                    },
                    "request": {
                        "id": request_row.id if request_row else None,
                        "reference": request_row.reference if request_row else None,
                    },
                }
            )
        return self._paginate(items, body, request)

    async def _replys_web(self, body: dict[str, Any], request: Request) -> Response:
        items = [
            {
                "id": reply.id,
                "job": reply.job,
                "phone": reply.phone,
                "message": reply.original_text,
                "parameters": reply.parameters,
                "send_at": br_datetime(reply.received_at - timedelta(minutes=5)),
                "reply": reply.text,
                "received_at": br_datetime(reply.received_at),
            }
            for reply in sorted(self.state.web_replies, key=lambda reply: (reply.received_at, reply.id))
        ]
        return self._paginate(items, body, request)

    def _paginate(self, items: list[dict[str, Any]], body: dict[str, Any], request: Request) -> Response:
        raw_page = request.query_params.get("page", body.get("page", 1))
        try:
            page = max(1, int(raw_page))
        except (TypeError, ValueError):
            page = 1
        per_page = max(1, self.state.per_page)
        total = len(items)
        last_page = max(1, -(-total // per_page))
        start = (page - 1) * per_page
        data = items[start : start + per_page]
        path = str(request.url).split("?", 1)[0]

        def url(number: int) -> str:
            return f"{path}?page={number}"

        return JSONResponse(
            {
                "current_page": page,
                "data": data,
                "first_page_url": url(1),
                "from": start + 1 if data else None,
                "last_page": last_page,
                "last_page_url": url(last_page),
                "next_page_url": url(page + 1) if page < last_page else None,
                "path": path,
                "per_page": per_page,
                "prev_page_url": url(page - 1) if page > 1 else None,
                "to": start + len(data) if data else None,
                "total": total,
            }
        )

    async def _balance(self, body: dict[str, Any], request: Request) -> Response:
        return JSONResponse({"balance": brl(self.state.balance)})

    async def _segments(self, body: dict[str, Any], request: Request) -> Response:
        return JSONResponse({"segments": self.state.segments})

    async def _apis(self, body: dict[str, Any], request: Request) -> Response:
        return JSONResponse([{"id": 47, "name": "Kolmeya"}])

    def _blacklist_phones(self, body: dict[str, Any]) -> list[int] | Response:
        phones = body.get("phones")
        if not isinstance(phones, list) or not phones:
            return _errors(422, "The phones field is required.")
        if len(phones) > MAX_MESSAGES:
            return _errors(422, f"The phones may not have more than {MAX_MESSAGES} items.")
        result: list[int] = []
        for index, item in enumerate(phones):
            national = national_phone(item.get("phone")) if isinstance(item, dict) else None
            if national is None:
                return _errors(422, f"The phones.{index}.phone is invalid.")
            result.append(national)
        return result

    async def _blacklist_store(self, body: dict[str, Any], request: Request) -> Response:
        phones = self._blacklist_phones(body)
        if isinstance(phones, Response):
            return phones
        self.state.blacklist.update(phones)
        return Response(status_code=201)

    async def _blacklist_destroy(self, body: dict[str, Any], request: Request) -> Response:
        phones = self._blacklist_phones(body)
        if isinstance(phones, Response):
            return phones
        self.state.blacklist.difference_update(phones)
        return Response(status_code=204)

    async def _reports_statuses(self, body: dict[str, Any], request: Request) -> Response:
        try:
            start = datetime.strptime(str(body["start_at"]), "%Y-%m-%d %H:%M").replace(tzinfo=SAO_PAULO)
            end = datetime.strptime(str(body["end_at"]), "%Y-%m-%d %H:%M").replace(tzinfo=SAO_PAULO)
        except (KeyError, ValueError):
            return _errors(422, "start_at e end_at são obrigatórios no formato YYYY-MM-DD HH:MM.")
        if end < start:
            return _errors(422, "end_at deve ser depois de start_at.")
        if end - start > MAX_REPORT_WINDOW:
            return _errors(422, "O período máximo é de 7 dias.")
        limit = body.get("limit", MAX_REPORT_ROWS)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_REPORT_ROWS:
            return _errors(422, f"O limite deve estar entre 1 e {MAX_REPORT_ROWS}.")
        segment = body.get("tenant_segment_id")
        rows = []
        for message in self.state.messages.values():
            request_row = self.state.requests[message.request_id]
            if not start <= message.created_at <= end + timedelta(seconds=59):
                continue
            if segment and request_row.tenant_segment_id not in (None, segment):
                continue
            rows.append(
                {
                    "telefone": message.phone,
                    "nome": "",
                    "cpf": 0,
                    "mensagem": message.text,
                    "status": message.status,
                    "enviada_em": br_datetime(message.created_at, seconds=False),
                    "parametros": {},
                    "lote": message.job,
                    "job": message.job,
                    "centro_custo": "CORPORATIVO",
                    "api": "Kolmeya",
                    "broker": "Fake",
                    "produto": "SMS Score (short code)",
                }
            )
            if len(rows) >= limit:
                break
        return JSONResponse({"messages": rows})


def _errors(status_code: int, *messages: str) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status_code)


def create_fake_kolmeya(
    tokens: Iterable[str] = ("test-token",),
    *,
    allowed: bool = True,
    webhook_http: httpx.AsyncClient | None = None,
) -> FakeKolmeya:
    """A fresh fake accepting `tokens`; `allowed=False` answers 403 as for a non-whitelisted IP.
    `webhook_http` posts the webhooks (default: a real httpx client per delivery)."""
    return FakeKolmeya(FakeKolmeyaState(tokens=set(tokens), allowed=allowed), webhook_http=webhook_http)


@asynccontextmanager
async def serve_asgi(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn in the running event loop; yields its root URL
    (`http://127.0.0.1:<port>`). `port=0` picks a free port. Stops the server on exit."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False)
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
                raise RuntimeError("uvicorn stopped during startup")
            await asyncio.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def serve_fake_kolmeya(fake: FakeKolmeya, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve the fake on 127.0.0.1 over TCP; yields the API base URL (`http://127.0.0.1:<port>/api/v1`)."""
    async with serve_asgi(fake.app, host=host, port=port) as root:
        yield root + API_PREFIX


def main(argv: list[str] | None = None) -> None:
    """`python -m atende.testing.fake_kolmeya --port 9100 --token demo-token`: a fake for demos."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Fake Kolmeya SMS API")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--token", action="append", dest="tokens", help="accepted token (repeatable)")
    args = parser.parse_args(argv)
    fake = create_fake_kolmeya(args.tokens or ["test-token"])
    host = urlsplit(f"http://{args.host}").hostname or args.host
    print(f"Fake Kolmeya on http://{host}:{args.port}{API_PREFIX} (tokens: {len(fake.state.tokens)})")
    uvicorn.run(fake.app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
