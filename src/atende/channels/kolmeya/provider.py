"""The Kolmeya SMS provider: translates between the engine's types and the Kolmeya API.

It never touches the database (design.md, rule 2). Sends go to `POST /sms/store` with our message id
as the per-message `reference` and the connector's webhook URL; every number Kolmeya refuses comes
back as a failed SendResult with the reason, never silently lost.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

from atende.channels.base import (
    N_,
    Capabilities,
    Channel,
    ConfigField,
    ConnectionTest,
    InboundMessage,
    OutboundMessage,
    ProviderError,
    ProviderEvent,
    SendResult,
    WebhookBatch,
    WebhookRequest,
    provider_reason,
)
from atende.channels.kolmeya.client import MAX_MESSAGES_PER_REQUEST, KolmeyaClient
from atende.channels.kolmeya.config import KolmeyaConfig
from atende.channels.kolmeya.parse import (
    parse_replys_page,
    parse_replys_web_page,
    parse_status_request,
    parse_webhook_body,
)
from atende.domain.money import format_brl
from atende.domain.optout import is_opt_in, is_opt_out
from atende.domain.phones import InvalidPhone, normalize_phone

logger = logging.getLogger(__name__)

STATUS_POLL_RATE_RESERVE = 100  # stop polling statuses when fewer API calls than this are left
MAX_POLL_PAGES = 200  # 200 pages of 1000 replies: far above a week of replies for one account

# Outcome arrays of a /sms/store response, in the order they are matched to our messages
# (valids first, so that a repeated number's first message takes the valid entry).
_OUTCOMES: tuple[tuple[str, str | None, str | None], ...] = (
    ("valids", None, None),
    ("blacklist", "blacklist", "Número na blacklist da Kolmeya"),
    ("not_disturb", "not_disturb", "Número no cadastro Não Perturbe"),
    ("invalids", "invalid", "Número inválido para a Kolmeya"),
    ("duplicates", "duplicate", "Número duplicado no envio"),
)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One outbound message checked and turned into a /sms/store item."""

    index: int
    message: OutboundMessage
    e164: str

    @property
    def national(self) -> str:
        return self.e164.removeprefix("+55")

    def item(self) -> dict[str, Any]:
        return {
            "phone": self.e164.removeprefix("+"),  # 55 + DDD + number, digits only
            "message": self.message.text,
            "reference": self.message.reference,
        }


def _national_key(phone: Any) -> str | None:
    """National digits (DDD + number) of a phone Kolmeya echoes: 48991910234 or "5548991910234"."""
    if isinstance(phone, bool) or not isinstance(phone, int | str):
        return None
    digits = "".join(ch for ch in str(phone) if ch.isascii() and ch.isdigit())
    if len(digits) in (12, 13) and digits.startswith("55"):
        digits = digits[2:]
    return digits or None


def _ident(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return text or None


def _failed(message: OutboundMessage, code: str, error: str, **extra: Any) -> SendResult:
    return SendResult(reference=message.reference, status="failed", error_code=code, error=error, **extra)


class KolmeyaProvider:
    """Kolmeya SMS (kolmeya.com.br). Built by the registry as `KolmeyaProvider(config, http)`."""

    name: ClassVar[str] = "kolmeya"
    label: ClassVar[str] = "Kolmeya (SMS)"
    channel: ClassVar[Channel] = "sms"
    capabilities: ClassVar[Capabilities] = Capabilities(segments=True, polling=True)
    config_model: ClassVar[type[BaseModel]] = KolmeyaConfig
    secret_fields: ClassVar[frozenset[str]] = frozenset({"api_token"})
    form_fields: ClassVar[tuple[ConfigField, ...]] = (
        ConfigField("api_token", N_("Token da API"), "password", True, help=N_("Token Bearer do painel Kolmeya.")),
        ConfigField("base_url", N_("URL da API"), placeholder="https://kolmeya.com.br/api/v1"),
        ConfigField("tenant_segment_id", N_("Centro de custo (segment id)"), "number"),
        ConfigField("cost_per_segment", N_("Custo por segmento (R$)"), placeholder="0,10"),
        ConfigField("poll_interval_s", N_("Consulta de respostas a cada (s, 0 = desligada)"), "number",
                    placeholder="60"),
        ConfigField("low_balance_threshold", N_("Alerta de saldo baixo abaixo de (R$)"), placeholder="50,00",
                    help=N_("O painel avisa quando o saldo da Kolmeya cai abaixo deste valor.")),
        ConfigField("sms_economize", N_("Economizar SMS"), "bool", help=N_(
            "Escreve os SMS no alfabeto GSM-7 (á→a, ç→c, aspas curvas→retas) quando isso economiza segmentos: "
            "160 caracteres por segmento em vez de 70. O agente ainda pode desligar no envio.")),
    )

    def __init__(self, config: BaseModel | Mapping[str, Any], http: httpx.AsyncClient) -> None:
        if isinstance(config, KolmeyaConfig):
            self.config = config
        elif isinstance(config, BaseModel):
            self.config = KolmeyaConfig.model_validate(config.model_dump())
        else:
            self.config = KolmeyaConfig.model_validate(dict(config))
        self.client = KolmeyaClient(http, token=self.config.api_token, base_url=self.config.base_url)

    def __repr__(self) -> str:
        return f"KolmeyaProvider(base_url={self.config.base_url!r})"

    # -- webhooks --------------------------------------------------------------------------

    def handshake(self, request: WebhookRequest) -> str | None:
        """Kolmeya has no verification handshake."""
        return None

    def parse_webhook(self, request: WebhookRequest) -> WebhookBatch:
        """Kolmeya signs nothing: the connector's unguessable webhook URL is the only check (web layer).
        Raises WebhookRejected(400) on a body of no known shape."""
        batch = parse_webhook_body(request.body, content_type=request.headers.get("content-type"))
        return self._mark_keywords(batch)

    def _mark_keywords(self, batch: WebhookBatch) -> WebhookBatch:
        """Flag replies that are exactly an opt-out/opt-in keyword of this connector
        (attributes["keyword"] = "opt_out" | "opt_in"); the engine decides what to do."""
        marked: list[InboundMessage] = []
        for message in batch.messages:
            keyword = None
            if message.text is not None:
                if is_opt_out(message.text, self.config.opt_out_keywords):
                    keyword = "opt_out"
                elif is_opt_in(message.text, self.config.opt_in_keywords):
                    keyword = "opt_in"
            if keyword is not None:
                message = dataclasses.replace(message, attributes={**message.attributes, "keyword": keyword})
            marked.append(message)
        batch.messages = marked
        return batch

    # -- sending ---------------------------------------------------------------------------

    def _prepare(self, index: int, message: OutboundMessage) -> _Prepared | SendResult:
        if message.kind != "text" or message.media is not None:
            return _failed(message, "unsupported", f"SMS só envia texto; '{message.kind}' não é suportado.")
        if message.text is None or not message.text.strip():
            return _failed(message, "empty", "Mensagem vazia.")
        try:
            e164 = normalize_phone(message.to)
        except InvalidPhone:
            return _failed(message, "invalid_phone", f"Número inválido para SMS: {message.to}")
        if not e164.startswith("+55"):
            return _failed(message, "not_brazil", "A Kolmeya só envia SMS para números do Brasil (+55).")
        return _Prepared(index=index, message=message, e164=e164)

    async def send(self, message: OutboundMessage) -> SendResult:
        """One SMS through POST /sms/store. Numbers Kolmeya refuses come back as failed SendResults;
        whole-call failures (auth, validation, 5xx, timeouts) raise ProviderError."""
        prepared = self._prepare(0, message)
        if isinstance(prepared, SendResult):
            return prepared
        response = await self.client.store(
            [prepared.item()],
            webhook_url=message.webhook_url,
            reference=message.reference,
            tenant_segment_id=self.config.tenant_segment_id,
        )
        return self._match(response, [prepared])[0]

    async def find_sent(self, reference: str) -> SendResult | None:
        """Was a message with this reference already accepted? Asked before re-sending after a worker
        died mid-send, so a crash never sends the same SMS twice. None when Kolmeya has no such request.
        (A single send's request carries the message's reference as its batch reference too.)"""
        found = await self.find_batch(reference)
        return next((result for result in found or [] if result.reference == reference), None)

    async def find_batch(self, reference: str) -> list[SendResult] | None:
        """The messages Kolmeya accepted in the /sms/store request sent with this batch `reference`
        (one SendResult per message, by its own reference); None when Kolmeya has no such request,
        i.e. the batch never arrived. Asked when a batch's answer was lost, so nothing is sent twice."""
        try:
            response = await self.client.status_by_reference(reference)
        except ProviderError as exc:
            if exc.status_code == 404:
                return None
            raise
        request_id = _ident(response.get("id"))
        found: list[SendResult] = []
        for item in response.get("messages") or []:
            own = _ident(item.get("reference")) if isinstance(item, dict) else None
            if own is not None and item.get("id"):
                found.append(SendResult(reference=own, status="sent", provider_message_id=str(item["id"]),
                                        provider_request_id=request_id, raw=item))
        return found

    async def send_many(self, messages: Sequence[OutboundMessage], *, reference: str | None = None) -> list[SendResult]:
        """Send many SMS in /sms/store requests of at most 1000 (one webhook_url per request), and
        return one SendResult per message, in input order, matched by `reference` (phone as fallback).

        `reference` is the batch reference sent at the top level of every request (e.g. a campaign).
        If the very first request fails, ProviderError is raised (nothing was sent, retry it all).
        If a later request fails, the messages already accepted keep their results and the ones not
        sent get status "failed" (permanent error) or "queued" with error_code "not_sent" (transient
        error: send them again later)."""
        results: list[SendResult | None] = [None] * len(messages)
        groups: dict[str | None, list[_Prepared]] = {}
        for index, message in enumerate(messages):
            prepared = self._prepare(index, message)
            if isinstance(prepared, SendResult):
                results[index] = prepared
            else:
                groups.setdefault(message.webhook_url, []).append(prepared)
        chunks = [
            (webhook_url, items[start : start + MAX_MESSAGES_PER_REQUEST])
            for webhook_url, items in groups.items()
            for start in range(0, len(items), MAX_MESSAGES_PER_REQUEST)
        ]
        sent_any = False
        for position, (webhook_url, chunk) in enumerate(chunks):
            try:
                response = await self.client.store(
                    [item.item() for item in chunk],
                    webhook_url=webhook_url,
                    reference=reference,
                    tenant_segment_id=self.config.tenant_segment_id,
                )
            except ProviderError as error:
                if not sent_any:
                    raise
                logger.warning("kolmeya send_many stopped after %d requests: %s", position, error.message)
                for _, pending in chunks[position:]:
                    for item in pending:
                        if error.transient:
                            results[item.index] = SendResult(
                                reference=item.message.reference,
                                status="queued",
                                error_code="not_sent",
                                error=error.message,
                            )
                        else:
                            results[item.index] = _failed(item.message, error.code or "error", error.message)
                break
            sent_any = True
            for item, result in zip(chunk, self._match(response, chunk), strict=True):
                results[item.index] = result
        return [result for result in results if result is not None]

    def _match(self, response: Mapping[str, Any], prepared: Sequence[_Prepared]) -> list[SendResult]:
        """SendResults for `prepared` (same order) from a /sms/store response."""
        request_id = _ident(response.get("id"))
        request = {"id": request_id, "reference": _ident(response.get("reference"))}
        by_reference: dict[str, deque[int]] = {}
        by_phone: dict[str, deque[int]] = {}
        for position, item in enumerate(prepared):
            by_reference.setdefault(item.message.reference, deque()).append(position)
            by_phone.setdefault(item.national, deque()).append(position)
        results: dict[int, SendResult] = {}
        unmatched: list[tuple[str, str | None, str | None, Mapping[str, Any]]] = []

        def take(queue: deque[int] | None) -> int | None:
            while queue:
                position = queue.popleft()
                if position not in results:
                    return position
            return None

        def result(position: int, key: str, code: str | None, error: str | None, entry: Mapping[str, Any]) -> None:
            message = prepared[position].message
            raw = {"request": request, "outcome": key, "item": dict(entry)}
            if code is None:
                results[position] = SendResult(
                    reference=message.reference,
                    status="sent",
                    provider_message_id=_ident(entry.get("id")),
                    provider_request_id=request_id,
                    raw=raw,
                )
                return
            said = next((entry[k].strip() for k in ("error", "reason", "message_error")
                         if isinstance(entry.get(k), str) and entry[k].strip()), None)
            if code == "invalid" and said:
                error = said  # Kolmeya's own words ("error", or "reason" in some answers)
            results[position] = _failed(message, code, error or "", provider_request_id=request_id, raw=raw)

        for key, code, error in _OUTCOMES:
            entries = response.get(key)
            if not isinstance(entries, list):
                continue
            for entry in entries:
                if not isinstance(entry, dict):
                    continue
                reference = _ident(entry.get("reference"))
                found = take(by_reference.get(reference)) if reference is not None else None
                if found is None:
                    phone = _national_key(entry.get("phone"))
                    found = take(by_phone.get(phone)) if phone is not None else None
                if found is None:
                    unmatched.append((key, code, error, entry))
                    continue
                result(found, key, code, error, entry)

        missing = [position for position in range(len(prepared)) if position not in results]
        if len(missing) == 1 and len(unmatched) == 1:  # one message, one answer: they belong together
            key, code, error, entry = unmatched.pop()
            result(missing.pop(), key, code, error, entry)
        if unmatched:
            logger.warning("kolmeya /sms/store: %d result entries matched no message", len(unmatched))
        for position in missing:
            message = prepared[position].message
            logger.warning("kolmeya /sms/store: no result for reference %s", message.reference)
            results[position] = _failed(
                message,
                "unmatched",
                "A Kolmeya não informou o resultado deste número; confira no painel antes de reenviar.",
                provider_request_id=request_id,
                raw={"request": request},
            )
        return [results[position] for position in range(len(prepared))]

    # -- account ---------------------------------------------------------------------------

    async def balance(self) -> Decimal:
        """The account's balance (BRL), for the dashboard's timer (ProviderError when it cannot say)."""
        return await self.client.balance()

    async def test_connection(self) -> ConnectionTest:
        """Balance call (token, IP allow-list, host); also checks the configured cost center exists."""
        try:
            balance = await self.client.balance()
        except ProviderError as error:
            return ConnectionTest(ok=False, detail=provider_reason(error))
        detail = f"Conectado, saldo {format_brl(balance)}"
        segment_id = self.config.tenant_segment_id
        if segment_id is not None:
            try:
                segments = await self.client.segments()
            except ProviderError as error:
                return ConnectionTest(
                    ok=False,
                    detail=f"{detail}, mas a consulta dos centros de custo falhou: {provider_reason(error)}",
                    balance=balance,
                )
            known = {_ident(item.get("id")): item.get("name") for item in segments}
            if str(segment_id) not in known:
                listed = ", ".join(f"{key} {name}" for key, name in known.items() if key) or "nenhum"
                return ConnectionTest(
                    ok=False,
                    detail=(
                        f"{detail}, mas o centro de custo {segment_id} (tenant_segment_id) não existe nesta "
                        f"conta. Disponíveis: {listed}."
                    ),
                    balance=balance,
                )
        return ConnectionTest(ok=True, detail=detail, balance=balance)

    # -- polling (webhooks from Kolmeya are unproven: kolmeya.md §6) ----------------------------

    async def poll_replies(self, period_hours: int) -> WebhookBatch:
        """Every reply of the last `period_hours` (1..168) to API sends, walking all /sms/replys pages.
        Replies have the same provider ids as the reply webhook, so the engine dedups both."""
        batch = await self._walk(lambda page: self.client.replys(period_hours, page), web=False)
        return self._mark_keywords(batch)

    async def poll_campaign_replies(self) -> WebhookBatch:
        """Replies to campaigns created in the Kolmeya web panel (/sms/replys-web), all pages."""
        batch = await self._walk(self.client.replys_web, web=True)
        return self._mark_keywords(batch)

    async def _walk(self, fetch: Callable[[int], Awaitable[dict[str, Any]]], *, web: bool) -> WebhookBatch:
        batch = WebhookBatch()
        seen: set[str] = set()
        page = 1
        for _ in range(MAX_POLL_PAGES):
            document = await fetch(page)
            parsed = parse_replys_web_page(document) if web else parse_replys_page(document)
            for message in parsed.batch.messages:
                if message.provider_message_id not in seen:
                    seen.add(message.provider_message_id)
                    batch.messages.append(message)
            batch.statuses.extend(parsed.batch.statuses)
            batch.events.extend(parsed.batch.events)
            if not parsed.has_more:
                break
            page = max(parsed.current_page, page) + 1
        else:
            logger.warning("kolmeya reply polling stopped at %d pages", MAX_POLL_PAGES)
        return batch

    async def poll_statuses(self, request_ids: Sequence[str]) -> WebhookBatch:
        """The status of every message of the given requests (/sms/status/request), one call per request.
        A request Kolmeya refuses to report becomes a ProviderEvent("status_poll_failed"); transient
        errors raise. When Kolmeya's X-RateLimit-Remaining drops below STATUS_POLL_RATE_RESERVE the rest
        is skipped (ProviderEvent("status_poll_deferred")) so that polling never starves sends."""
        batch = WebhookBatch()
        pending = list(dict.fromkeys(request_ids))
        for position, request_id in enumerate(pending):
            remaining = self.client.rate_limit_remaining
            if remaining is not None and remaining < STATUS_POLL_RATE_RESERVE:
                # Keep the account's request budget for sends; the next poll picks these up.
                logger.warning("kolmeya status polling deferred: %s requests left", remaining)
                batch.events.append(
                    ProviderEvent(
                        "status_poll_deferred",
                        {"request_ids": pending[position:], "rate_limit_remaining": remaining},
                    )
                )
                break
            try:
                document = await self.client.status_request(request_id)
            except ProviderError as error:
                if error.transient:
                    raise
                batch.events.append(
                    ProviderEvent(
                        "status_poll_failed",
                        {"request_id": request_id, "code": error.code, "error": error.message},
                    )
                )
                continue
            batch.extend(parse_status_request(document))
        return batch

    # -- blacklist -------------------------------------------------------------------------

    async def blacklist_add(self, phones: Sequence[str]) -> None:
        """Block E.164 numbers at Kolmeya (opt-out). Raises InvalidPhone for a number that is not one."""
        if phones:
            await self.client.blacklist_store([self._digits(phone) for phone in phones])

    async def blacklist_remove(self, phones: Sequence[str]) -> None:
        """Unblock E.164 numbers at Kolmeya (opt-in)."""
        if phones:
            await self.client.blacklist_destroy([self._digits(phone) for phone in phones])

    @staticmethod
    def _digits(phone: str) -> str:
        return normalize_phone(phone, strict=False).removeprefix("+")
