"""/api/v1/conversations and /api/v1/messages"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from atende.actions import conversations as conv_actions
from atende.actions import outbound
from atende.actions import tags as tag_actions
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.db.types import utcnow
from atende.domain.ids import parse_id
from atende.domain.phones import InvalidPhone, is_bsuid, normalize_phone
from atende.jobs.handlers import sendable
from atende.media.links import MAX_MEDIA_URL, InvalidLink, check_media_link
from atende.web.auth import Rt, Who
from atende.web.params import BodyId, OptId, RowId

router = APIRouter(tags=["conversations"])

MAX_TEXT = 4096


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    language: str = Field(default="pt_BR", min_length=2, max_length=20)
    components: list[dict[str, Any]] = Field(default_factory=list)


class MessageIn(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    template: TemplateIn | None = None
    media_id: BodyId | None = None
    kind: Literal["text", "image", "audio", "video", "document", "sticker", "template", "note"] | None = None
    reply_to_id: BodyId | None = None
    # WhatsApp: send a media kind by public https link instead of an uploaded file (`text` = caption).
    media_url: str | None = Field(default=None, min_length=1, max_length=MAX_MEDIA_URL)


class NewMessageIn(BaseModel):
    connector_id: BodyId
    to: str = Field(min_length=3, max_length=140)
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    template: TemplateIn | None = None  # WhatsApp: the way to open a conversation


class AssignIn(BaseModel):
    agent_id: BodyId


class TransferIn(BaseModel):
    agent_id: BodyId | None = None
    team_id: BodyId | None = None
    note: str | None = Field(default=None, max_length=MAX_TEXT)


class TagIn(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    tag_id: BodyId | None = None


async def _conversation_or_404(rt: Rt, conversation_id: RowId, viewer: Viewer | None = None) -> dict[str, Any]:
    """The conversation as the API shows it; with a viewer, only if they may read it (404 otherwise)."""
    async with rt.read() as conn:
        conv = await queries.conversation(conn, conversation_id)
        if conv is None:
            raise HTTPException(404, "conversa não encontrada")
        if viewer is not None:
            await policy.require_read(conn, viewer, conv)
    return conv


async def _tag_filter(rt: Rt, tag: str | None) -> int | None:
    if not tag:
        return None
    if tag.isascii() and tag.isdigit():
        return int(tag)
    async with rt.read() as conn:
        tag_id = await queries.tag_by_name(conn, tag)
    return -1 if tag_id is None else tag_id  # an unknown tag matches nothing


def _assignee_filter(assignee: str | None, user: Viewer) -> tuple[int | None, bool]:
    if assignee in (None, ""):
        return None, False
    if assignee == "me":
        return user.id, False
    if assignee == "none":
        return None, True
    if (agent_id := parse_id(assignee)) is not None:
        return agent_id, False
    raise HTTPException(422, "assignee deve ser 'me', 'none' ou o id de um agente")


Channel = Literal["whatsapp", "sms", "instagram", "messenger", "sandbox"]
TeamQ = Query(default=None, ge=0, le=2**63 - 1, description="a team's id; 0 = the default queue (no team)")


@router.get("/conversations")
async def list_conversations(
    rt: Rt, user: Who,
    channel: Channel | None = None,
    status: Literal["new", "open", "done"] | None = None,
    assignee: str | None = Query(default=None, max_length=20),
    connector_id: OptId = None,
    team_id: int | None = TeamQ,
    tag: str | None = Query(default=None, max_length=60, description="a tag's name or id"),
    order: Literal["activity", "waiting"] = "activity",
    q: str | None = Query(default=None, max_length=200),
    limit: int = Query(default=50, ge=1, le=queries.MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=200),
) -> dict[str, Any]:
    """What the caller may see (auth.policy), newest activity first (`order=waiting`: the queue, oldest
    waiting first)."""
    assignee_id, unassigned = _assignee_filter(assignee, user)
    tag_id = await _tag_filter(rt, tag)
    try:
        async with rt.read() as conn:
            items, next_cursor = await queries.list_conversations(
                conn, channel=channel, status=status, assignee=assignee_id, unassigned=unassigned, q=q,
                limit=limit, cursor=cursor, connector_id=connector_id, scope=policy.conversation_scope(user),
                team_id=team_id or None, no_team=team_id == 0, tag_id=tag_id, order=order)
    except queries.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return {"items": items, "next_cursor": next_cursor}


@router.get("/conversations/counts")
async def conversation_counts(
    rt: Rt, user: Who, channel: Channel | None = None, assignee: str | None = Query(default=None, max_length=20),
    team_id: int | None = TeamQ,
) -> dict[str, int]:
    """The board's counters, within what the caller may see."""
    assignee_id, unassigned = _assignee_filter(assignee, user)
    async with rt.read() as conn:
        return await queries.board_counts(conn, channel=channel, assignee=assignee_id, unassigned=unassigned,
                                          scope=policy.conversation_scope(user), team_id=team_id or None,
                                          no_team=team_id == 0)


@router.get("/queue")
async def queue(rt: Rt, user: Who, team_id: int | None = TeamQ,
                limit: int = Query(default=100, ge=1, le=500)) -> dict[str, Any]:
    """The waiting conversations of each queue the caller may see, oldest waiting first, with their waits
    (`team_id`: one queue; 0 = the default queue)."""
    allowed = policy.queue_scope(user)
    wanted: tuple[int | None, ...] | None = allowed
    if team_id is not None:
        one = team_id or None
        if allowed is not None and one not in allowed:
            raise HTTPException(404, "fila não encontrada")
        wanted = (one,)
    async with rt.read() as conn:
        queues = await queries.queue(conn, wanted, now=utcnow(), limit=limit)
    return {"queues": queues, "waiting": sum(q["waiting"] for q in queues),
            "longest_wait_s": max((q["longest_wait_s"] for q in queues), default=0)}


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    return await _conversation_or_404(rt, conversation_id, user)


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: RowId, rt: Rt, user: Who,
    limit: int = Query(default=50, ge=1, le=queries.MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=200),
    latest: bool = False,
) -> dict[str, Any]:
    await _conversation_or_404(rt, conversation_id, user)
    try:
        async with rt.read() as conn:
            items, next_cursor = await queries.list_messages(conn, conversation_id, limit=limit, cursor=cursor,
                                                             latest=latest)
    except queries.BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    reader = policy.may_read_deleted(user)
    return {"items": [queries.visible_message(m, may_read_deleted=reader) for m in items], "next_cursor": next_cursor}


async def message_view(rt: Rt, message_id: RowId) -> dict[str, Any]:
    """A message just written by an action, as the API returns it."""
    async with rt.read() as conn:
        msg = await queries.message(conn, message_id)
    assert msg is not None
    return msg


@router.post("/conversations/{conversation_id}/messages", status_code=202)
async def send_message(conversation_id: RowId, body: MessageIn, rt: Rt, user: Who) -> dict[str, Any]:
    conv = await _conversation_or_404(rt, conversation_id, user)
    loaded = await rt.connector(conv["connector_id"])
    if loaded is None:
        raise HTTPException(404, "conector não encontrado")
    kind = body.kind or ("template" if body.template else "text")
    if kind == "template" and body.template is None:
        raise HTTPException(422, "informe o modelo (template)")
    if kind == "text" and not (body.text or "").strip():
        raise HTTPException(422, "informe o texto da mensagem")
    if body.media_url is not None:
        _check_media_url(body.media_url, kind, loaded.channel, loaded.provider.capabilities.media,
                         has_file=body.media_id is not None)
    async with rt.write() as tx:
        if kind == "note":
            from atende.actions.notes import add_note

            message_id = await add_note(tx, conversation_id, body.text or "", author_id=user.id, by=user)
        else:
            message_id = await outbound.queue_message(
                tx, sendable(loaded), conversation_id, text=body.text, kind=kind, author_id=user.id,
                template=body.template.model_dump() if body.template else None, media_id=body.media_id,
                reply_to_id=body.reply_to_id, media_url=body.media_url, by=user)
    return await message_view(rt, message_id)


def _check_media_url(url: str, kind: str, channel: str, media: bool, *, has_file: bool) -> None:
    """Media by link: only where the channel sends media, for a media kind, to a public https URL."""
    if not media:
        detail = ("SMS só envia texto: não é possível enviar mídia por link" if channel == "sms"
                  else f"este canal ({channel}) não envia mídia por link")
        raise HTTPException(422, detail)
    if kind not in outbound.MEDIA_KINDS:
        raise HTTPException(422, f"para enviar um link de mídia informe kind: {', '.join(outbound.MEDIA_KINDS)}")
    if has_file:
        raise HTTPException(422, "envie o arquivo (media_id) ou o link (media_url), não os dois")
    try:
        check_media_link(url)
    except InvalidLink as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/messages", status_code=202)
async def start_message(body: NewMessageIn, rt: Rt, user: Who) -> dict[str, Any]:
    loaded = await rt.connector(body.connector_id)
    if loaded is None:
        raise HTTPException(404, "conector não encontrado")
    if (body.text is None) == (body.template is None):
        raise HTTPException(422, "informe o texto ou o modelo (template), um dos dois")
    to = body.to.strip()
    try:
        address = normalize_phone(to) if loaded.channel in ("sms", "whatsapp") and not is_bsuid(to) else to
    except InvalidPhone as exc:
        raise HTTPException(422, f"telefone inválido: {exc}") from None
    async with rt.write() as tx:
        _, message_id = await outbound.start_conversation(
            tx, sendable(loaded), address, text=body.text, author_id=user.id,
            template=body.template.model_dump() if body.template else None, by=user)
    return await message_view(rt, message_id)


@router.post("/messages/{message_id}/retry", status_code=202)
async def retry_message(message_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await outbound.retry(tx, message_id, by=user)
    return await message_view(rt, message_id)


@router.post("/conversations/{conversation_id}/assign")
async def assign(conversation_id: RowId, body: AssignIn, rt: Rt, user: Who) -> dict[str, Any]:
    """Take (`agent_id` = yourself: a compare-and-set, 409 when someone else already has it) or assign
    to someone (supervisors; agents for conversations they hold or that wait in their queues)."""
    async with rt.write() as tx:
        await conv_actions.assign(tx, conversation_id, body.agent_id, by=user)
    return await _conversation_or_404(rt, conversation_id)


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(conversation_id: RowId, body: TransferIn, rt: Rt, user: Who) -> dict[str, Any]:
    """To an agent, or to a team (its queue; assigned by its policy). The note is kept as an internal note."""
    async with rt.write() as tx:
        await conv_actions.transfer(tx, conversation_id, agent_id=body.agent_id, team_id=body.team_id,
                                    note=body.note, by=user)
    return await _conversation_or_404(rt, conversation_id)


@router.post("/conversations/{conversation_id}/close")
async def close(conversation_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await conv_actions.close(tx, conversation_id, by=user)
    return await _conversation_or_404(rt, conversation_id)


@router.post("/conversations/{conversation_id}/reopen")
async def reopen(conversation_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await conv_actions.reopen(tx, conversation_id, by=user)
    return await _conversation_or_404(rt, conversation_id)


@router.post("/conversations/{conversation_id}/release")
async def release(conversation_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await conv_actions.release(tx, conversation_id, by=user)
    return await _conversation_or_404(rt, conversation_id)


@router.post("/conversations/{conversation_id}/read")
async def mark_read(conversation_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await conv_actions.mark_read(tx, conversation_id, by=user)
    return await _conversation_or_404(rt, conversation_id)


@router.post("/conversations/{conversation_id}/tags")
async def add_tag(conversation_id: RowId, body: TagIn, rt: Rt, user: Who) -> dict[str, Any]:
    """Tag a conversation, by the tag's id or by name (a new name creates the tag)."""
    if (body.name is None) == (body.tag_id is None):
        raise HTTPException(422, "informe name ou tag_id, um dos dois")
    async with rt.write() as tx:
        await tag_actions.tag_conversation(tx, conversation_id, body.tag_id if body.tag_id is not None
                                           else str(body.name), by=user)
    return await _conversation_or_404(rt, conversation_id)


@router.delete("/conversations/{conversation_id}/tags/{tag_id}")
async def remove_tag(conversation_id: RowId, tag_id: RowId, rt: Rt, user: Who) -> dict[str, Any]:
    async with rt.write() as tx:
        await tag_actions.untag_conversation(tx, conversation_id, tag_id, by=user)
    return await _conversation_or_404(rt, conversation_id)
