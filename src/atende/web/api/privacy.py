"""LGPD: data-subject export and erasure, the request log, the consent ledger, legal hold and
hidden messages (contract.md, "LGPD")."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from atende.actions import audit as audit_actions
from atende.actions import data_requests, erasure, hidden_messages, legal_hold
from atende.auth import policy
from atende.db import privacy_queries, queries
from atende.privacy import export
from atende.web.auth import Rt, User, Who, client_ip
from atende.web.params import BodyId, OptId, RowId

router = APIRouter(tags=["lgpd"])


class EraseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=erasure.MAX_REASON)
    request_id: BodyId | None = None


class RequestIn(BaseModel):
    contact_id: BodyId
    kind: Literal["export", "erasure"]
    requester: Literal["titular", "representative", "anpd", "other"] = "titular"
    reference: str = Field(default="", max_length=data_requests.MAX_REFERENCE)
    requested_at: date | datetime | None = None  # when the titular asked (default: now)


class RefuseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class HoldIn(BaseModel):
    reason: str = Field(min_length=1, max_length=legal_hold.MAX_REASON)


def _moment(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(12), UTC)  # a date: midday UTC is that day in Brazil


async def _stream(out: IO[bytes]) -> AsyncIterator[bytes]:
    try:
        out.seek(0)
        while chunk := out.read(256 * 1024):
            yield chunk
    finally:
        out.close()


@router.get("/contacts/{contact_id}/export", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}}})
async def export_contact(contact_id: RowId, rt: Rt, user: User, request: Request, request_id: OptId = None) -> Any:
    """Everything held about the contact: a ZIP with dados.json, dados.html and the media (admin, dpo)."""
    policy.require_data_requests(user)
    out = export.spooled()
    try:
        summary = await export.write_zip(rt, contact_id, out)
    except LookupError:
        out.close()
        raise HTTPException(404, "contato não encontrado") from None
    except BaseException:
        out.close()
        raise
    with contextlib.ExitStack() as undo:
        undo.callback(out.close)
        async with rt.write() as tx:
            done = await data_requests.complete(tx, contact_id, "export", request_id=request_id or None,
                                                handler_id=user.id, outcome=summary, ip=client_ip(request))
            await audit_actions.record(tx, "contact.export", actor_id=user.id, target_type="contact",
                                       target_id=contact_id, contact_id=contact_id, ip=client_ip(request),
                                       detail={**summary, "request_id": done})
        undo.pop_all()
    return StreamingResponse(_stream(out), media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="dados-titular-{contact_id}.zip"',
        "Cache-Control": "no-store"})


@router.post("/contacts/{contact_id}/erase")
async def erase_contact(contact_id: RowId, body: EraseIn, rt: Rt, user: User, request: Request) -> dict[str, Any]:
    """Irreversible: the contact's data leaves, the skeleton stays (admin, dpo)."""
    policy.require_data_requests(user)
    result = await run_erasure(rt, contact_id, reason=body.reason, actor_id=user.id, ip=client_ip(request),
                               request_id=body.request_id)
    return {"erased": result.counts()}


async def run_erasure(rt: Any, contact_id: int, *, reason: str, actor_id: int | None, ip: str | None,
                      request_id: int | None) -> erasure.ErasureResult:
    """Plan (read), erase (one write transaction, with the request log), then the files."""
    async with rt.read() as conn:
        found = await erasure.plan(conn, contact_id)
    async with rt.write() as tx:
        result = await erasure.erase(tx, found, actor_id=actor_id, reason=reason, ip=ip, request_id=request_id)
        await data_requests.complete(tx, contact_id, "erasure", request_id=request_id, handler_id=actor_id,
                                     outcome=result.counts(), ip=ip)
    await erasure.after_commit(rt, result)
    return result


@router.get("/contacts/{contact_id}/consents")
async def contact_consents(contact_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    """The consent ledger: every opt-in and opt-out per channel, with source, time and actor."""
    async with rt.read() as conn:
        found = await privacy_queries.consents_of(conn, contact_id)
        if found is not None:
            await policy.require_consents(conn, user, contact_id)
    if found is None:
        raise HTTPException(404, "contato não encontrado")
    return found


@router.get("/data-requests")
async def list_requests(
    rt: Rt, user: User, status: Literal["open", "done", "refused"] | None = None, contact_id: OptId = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The request log, newest first, each with its legal deadline (admin, dpo)."""
    policy.require_data_requests(user)
    try:
        async with rt.read() as conn:
            items, next_cursor = await privacy_queries.requests_page(conn, status=status, contact_id=contact_id or None,
                                                                     limit=limit, cursor=cursor)
    except queries.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return {"items": items, "next_cursor": next_cursor}


@router.post("/data-requests", status_code=201)
async def open_request(body: RequestIn, rt: Rt, user: User, request: Request) -> dict[str, Any]:
    """Register a titular's request when it arrives: the 15-day deadline starts at `requested_at`."""
    policy.require_data_requests(user)
    async with rt.write() as tx:
        request_id = await data_requests.open_request(
            tx, body.contact_id, body.kind, requester=body.requester, reference=body.reference,
            requested_at=_moment(body.requested_at), actor_id=user.id, ip=client_ip(request))
    return await _request_view(rt, request_id)


@router.post("/data-requests/{request_id}/refuse")
async def refuse_request(request_id: RowId, body: RefuseIn, rt: Rt, user: User, request: Request) -> dict[str, Any]:
    policy.require_data_requests(user)
    async with rt.write() as tx:
        await data_requests.refuse(tx, request_id, handler_id=user.id, reason=body.reason, ip=client_ip(request))
    return await _request_view(rt, request_id)


async def _request_view(rt: Any, request_id: int) -> dict[str, Any]:
    async with rt.read() as conn:
        item = await privacy_queries.request(conn, request_id)
    if item is None:
        raise HTTPException(404, "pedido não encontrado")
    return item


@router.put("/conversations/{conversation_id}/legal-hold")
async def put_legal_hold(conversation_id: RowId, body: HoldIn, rt: Rt, user: Who) -> dict[str, Any]:
    """Keep the conversation out of retention (supervisors, admins, dpo), with a reason."""
    async with rt.write() as tx:
        await legal_hold.set_hold(tx, conversation_id, body.reason, by=user)
    return await _hold_view(rt, conversation_id)


@router.delete("/conversations/{conversation_id}/legal-hold")
async def delete_legal_hold(conversation_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await legal_hold.release_hold(tx, conversation_id, by=user)
    return await _hold_view(rt, conversation_id)


async def _hold_view(rt: Any, conversation_id: int) -> dict[str, Any]:
    async with rt.read() as conn:
        hold = await privacy_queries.legal_hold(conn, conversation_id)
    if hold is None:
        raise HTTPException(404, "conversa não encontrada")
    return hold


@router.post("/messages/{message_id}/hide")
async def hide_message(message_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    """Hide a sensitive message from agents (supervisors still read it); audited."""
    async with rt.write() as tx:
        await hidden_messages.hide(tx, message_id, by=user)
    return await _message_view(rt, message_id, user)


@router.post("/messages/{message_id}/unhide")
async def unhide_message(message_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await hidden_messages.unhide(tx, message_id, by=user)
    return await _message_view(rt, message_id, user)


async def _message_view(rt: Any, message_id: int, user: Any) -> dict[str, Any]:
    async with rt.read() as conn:
        msg = await queries.message(conn, message_id)
    if msg is None:
        raise HTTPException(404, "mensagem não encontrada")
    return policy.visible_message(msg, user)
