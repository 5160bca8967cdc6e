"""The request log of data subjects (LGPD art. 18/19): exports and erasures, with the date the
titular asked, who handled it, the outcome, and the legal deadline (15 days).

A request is registered when it arrives (or, when an export or erasure is done with none open, at
that moment) and completed by the export or erasure itself, so the log can show the deadline met.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from atende.actions import audit
from atende.actions.errors import Conflict, Invalid, NotFound
from atende.db.tables import contacts, data_requests
from atende.db.tx import Tx
from atende.db.types import utcnow

KINDS = ("export", "erasure")
REQUESTERS = ("titular", "representative", "anpd", "other")
DEADLINE = timedelta(days=15)  # LGPD art. 19, II: a complete answer within 15 days
MAX_REFERENCE = 100


async def open_request(tx: Tx, contact_id: int, kind: str, *, requester: str = "titular", reference: str = "",
                       requested_at: datetime | None = None, actor_id: int | None, ip: str | None = None) -> int:
    now = utcnow()
    if kind not in KINDS:
        raise Invalid("tipo de pedido inválido (use export ou erasure)")
    if requester not in REQUESTERS:
        raise Invalid(f"solicitante inválido (use {', '.join(REQUESTERS)})")
    reference = reference.strip()
    if len(reference) > MAX_REFERENCE:
        raise Invalid(f"o protocolo tem no máximo {MAX_REFERENCE} caracteres")
    requested_at = requested_at or now
    if requested_at > now + timedelta(minutes=5):
        raise Invalid("a data do pedido não pode estar no futuro")
    if requested_at < now - timedelta(days=3650):
        raise Invalid("data do pedido inválida")
    if await tx.conn.scalar(select(contacts.c.id).where(contacts.c.id == contact_id)) is None:
        raise NotFound("contato não encontrado")
    request_id = int((await tx.conn.execute(insert(data_requests).values(
        contact_id=contact_id, kind=kind, status="open", requester=requester, reference=reference,
        requested_at=requested_at, due_at=requested_at + DEADLINE, created_by=actor_id, created_at=now,
    ).returning(data_requests.c.id))).scalar_one())
    await audit.record(tx, "data_request.open", actor_id=actor_id, target_type="data_request", target_id=request_id,
                       contact_id=contact_id, ip=ip, detail={"kind": kind, "requester": requester})
    return request_id


async def complete(tx: Tx, contact_id: int, kind: str, *, request_id: int | None, handler_id: int | None,
                   outcome: Mapping[str, Any], ip: str | None = None) -> int:
    """The export or erasure is done: the named request (or the oldest open one of this contact and
    kind, or a new one registered now) is completed with its outcome."""
    if request_id is not None:
        row = (await tx.conn.execute(select(data_requests).where(data_requests.c.id == request_id)
                                     .with_for_update())).first()
        if row is None or row.contact_id != contact_id:
            raise NotFound("pedido não encontrado para este contato")
        if row.kind != kind:
            raise Invalid("este pedido é de outro tipo")
        if row.status != "open" and kind == "erasure":
            raise Conflict("este pedido já foi concluído")
    else:
        found = await tx.conn.scalar(select(data_requests.c.id).where(
            data_requests.c.contact_id == contact_id, data_requests.c.kind == kind, data_requests.c.status == "open",
        ).order_by(data_requests.c.requested_at, data_requests.c.id).limit(1))
        request_id = int(found) if found is not None else await open_request(
            tx, contact_id, kind, actor_id=handler_id, ip=ip)
    now = utcnow()
    await tx.conn.execute(update(data_requests).where(data_requests.c.id == request_id).values(
        status="done", handler_id=handler_id, completed_at=now, outcome=dict(outcome)))
    return request_id


async def refuse(tx: Tx, request_id: int, *, handler_id: int | None, reason: str, ip: str | None = None) -> None:
    """A request that cannot be met (not the titular, legal obligation to keep...): closed with why."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise Invalid("informe o motivo da recusa (até 500 caracteres)")
    row = (await tx.conn.execute(select(data_requests).where(data_requests.c.id == request_id)
                                 .with_for_update())).first()
    if row is None:
        raise NotFound("pedido não encontrado")
    if row.status != "open":
        raise Conflict("este pedido já foi concluído")
    await tx.conn.execute(update(data_requests).where(data_requests.c.id == request_id).values(
        status="refused", handler_id=handler_id, completed_at=utcnow(), outcome={"reason": reason}))
    await audit.record(tx, "data_request.refuse", actor_id=handler_id, target_type="data_request",
                       target_id=request_id, contact_id=int(row.contact_id), ip=ip, detail={"reason": reason})
