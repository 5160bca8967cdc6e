"""Creating a campaign from its list: validate, screen the rows and store them, chunk by chunk.

A list may have 100,000 rows. They are screened and stored in chunks of `CHUNK` rows, each chunk
one short write transaction, so webhooks and agents keep writing in between (SQLite has one writer)
and the web process never stalls. The campaign stays `preparing` (it cannot be started) until the
last chunk is in; a list that turns out unreadable halfway is removed with its rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from atende.actions import campaigns as campaign_actions
from atende.actions.errors import Invalid, NotFound
from atende.actions.outbound import cost_per_segment
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db.tables import campaigns, users
from atende.db.tx import Tx
from atende.domain.campaign_csv import CsvError, Row
from atende.domain.campaign_estimate import Estimate, Exclusion, MessageSpec, Recipient, Screener
from atende.domain.sending_window import SendingWindow, WindowError

if TYPE_CHECKING:
    from atende.runtime import LoadedConnector, Runtime

CHUNK = 1000
DEFAULT_RATE = 600
MAX_TEXT = 4096


@dataclass
class CampaignSpec:
    name: str
    connector_id: int
    text: str | None = None
    template: Mapping[str, Any] | None = None  # {"name", "language", "params": [...] | {...}}
    rate_per_minute: int | None = None
    window: Mapping[str, Any] | None = None
    schedule_at: datetime | None = None


async def _message_spec(rt: Runtime, loaded: LoadedConnector, spec: CampaignSpec) -> tuple[
        MessageSpec, dict[str, Any] | None]:
    caps = loaded.provider.capabilities
    if (spec.text is None) == (spec.template is None):
        raise Invalid("informe o texto (text) ou o modelo (template) da campanha, um dos dois")
    if caps.templates:
        if spec.template is None:
            raise Invalid("no WhatsApp, campanhas usam modelos aprovados: informe template {name, language, params}",
                          code="template_required")
        return await _template_spec(rt, loaded, spec.template)
    if spec.template is not None:
        raise Invalid("este canal não usa modelos aprovados: informe o texto (text)")
    text = (spec.text or "").strip()
    if not text:
        raise Invalid("o texto da campanha está vazio")
    if len(text) > MAX_TEXT:
        raise Invalid(f"texto longo demais (máximo {MAX_TEXT} caracteres)")
    return MessageSpec(text=text, counts_segments=caps.segments), None


async def _template_spec(rt: Runtime, loaded: LoadedConnector, template: Mapping[str, Any]) -> tuple[
        MessageSpec, dict[str, Any]]:
    from atende.actions.templates import require_approved
    from atende.domain.templates import template_parameters

    name = str(template.get("name") or "").strip()
    language = str(template.get("language") or "pt_BR").strip()
    params = template.get("params") or []
    if not isinstance(params, list | dict) or not all(isinstance(p, str) for p in
                                                      (params.values() if isinstance(params, dict) else params)):
        raise Invalid("params do modelo: uma lista de textos (ou um objeto nome → texto), com {{variáveis}}")
    spec = MessageSpec(params=dict(params) if isinstance(params, dict) else list(params))
    sample, _ = spec.send_components({})
    async with rt.read() as conn:
        definition = await require_approved(Tx(conn), loaded.id, {"name": name, "language": language,
                                                                  "components": sample})
    expected, _ = template_parameters(definition)
    if any(expected.get(key) for key in expected if key != "body"):
        raise Invalid("modelos com parâmetros no cabeçalho ou nos botões ainda não podem ser usados em campanhas",
                      code="template_parameters")
    stored = {"name": name, "language": language, "params": spec.params}
    return MessageSpec(template_components=definition, params=spec.params, counts_segments=False), stored


def _window(spec: CampaignSpec) -> dict[str, Any] | None:
    if not spec.window:
        return None
    try:
        return SendingWindow.parse(spec.window).as_dict()
    except WindowError as exc:
        raise Invalid(f"janela de envio: {exc}") from None


async def create_campaign(rt: Runtime, spec: CampaignSpec, rows: Iterator[Row], *, created_by: int | None,
                          by: Viewer | None = None) -> int:
    """Validate the campaign, screen and store its list; returns the id of the `draft` campaign.
    `by`: the campaign goes out on a connector they may use (auth.policy)."""
    loaded = await rt.connector(spec.connector_id)
    if loaded is None:
        raise NotFound("conector não encontrado")
    if by is not None:
        async with rt.read() as conn:
            await policy.require_connector(conn, by, loaded.id)
    if not loaded.active:
        raise Invalid("o conector está desativado")
    name = spec.name.strip()
    if not name:
        raise Invalid("dê um nome à campanha")
    message, template = await _message_spec(rt, loaded, spec)
    window = _window(spec)
    rate = spec.rate_per_minute or DEFAULT_RATE
    if not 1 <= rate <= 100_000:
        raise Invalid("rate_per_minute deve estar entre 1 e 100000")
    if spec.schedule_at is not None and spec.schedule_at.tzinfo is None:
        raise Invalid("schedule_at precisa de fuso horário (por exemplo 2025-12-01T08:00:00-03:00)")
    price = cost_per_segment(loaded.config) if loaded.provider.capabilities.segments else Decimal(0)
    async with rt.read() as conn:
        author = await conn.scalar(select(users.c.name).where(users.c.id == created_by)) if created_by else None
    base = {"agente": author} if author else {}
    async with rt.write() as tx:
        campaign_id = await campaign_actions.create(
            tx, name=name[:200], connector_id=loaded.id, channel=loaded.channel,
            text=message.text, template=template, rate_per_minute=rate, window=window,
            schedule_at=spec.schedule_at, created_by=created_by)
    try:
        estimate = await _store_rows(rt, campaign_id, loaded, Screener(loaded.channel, message, price, base),
                                     Estimate(price), rows)
    except BaseException as exc:
        async with rt.write() as tx:  # nothing half-made survives: the list is all in or not at all
            await tx.conn.execute(delete(campaigns).where(campaigns.c.id == campaign_id))
        if isinstance(exc, CsvError):
            raise Invalid(str(exc), code="campaign_list") from None
        raise
    variables = message.variables()
    async with rt.write() as tx:
        await campaign_actions.finish_preparing(tx, campaign_id, {**estimate.as_dict(), "variables": variables})
    return campaign_id


async def _store_rows(rt: Runtime, campaign_id: int, loaded: LoadedConnector, screener: Screener,
                      estimate: Estimate, rows: Iterator[Row]) -> Estimate:
    while True:
        chunk: list[Row] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK:
                break
        if not chunk:
            return estimate
        checked = [(row, screener.check(row)) for row in chunk]
        addresses = [address for _, address in checked if isinstance(address, str)]
        async with rt.read() as conn:
            opted, blocked, known = await campaign_actions.screen_lookups(
                Tx(conn, identity_key=rt.identity_key), loaded.id, loaded.channel, addresses)
        items: list[Recipient | Exclusion] = []
        for row, address in checked:
            item = address if isinstance(address, Exclusion) else screener.finish(
                row, address, opted_out=address in opted, blocked=blocked.get(address), known=known.get(address))
            estimate.add(item)
            items.append(item)
        async with rt.write() as tx:
            await campaign_actions.add_chunk(tx, campaign_id, loaded.id, items)
        await asyncio.sleep(0)  # let requests waiting on this process run between chunks
