"""Inbox and chat: conversation list, thread, composer, actions and the contact panel."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import access_log, outbound
from atende.actions import conversations as conv_actions
from atende.actions.errors import NotFound
from atende.actions.notes import add_note
from atende.actions.scheduled import check_send_at
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.db.tables import messages
from atende.db.types import utcnow
from atende.domain.ids import MAX_ID
from atende.domain.text_limits import API_MAX_TEXT, max_text
from atende.domain.window import send_allowance
from atende.jobs.handlers import sendable
from atende.runtime import LoadedConnector
from atende.web.auth import CurrentUser, client_ip, viewer_of
from atende.web.pages.common import (
    PAGE_SIZE,
    ConvFilter,
    FilterQ,
    SearchQ,
    SortQ,
    TagQ,
    TeamQ,
    filter_labels,
    load_conversation,
    move,
    sort_labels,
    status_labels,
    team_chips,
)
from atende.web.pages.conversation_meta import header_extras
from atende.web.pages.core import PageError, PageUser, full_ui, make_ui, render, rt_of
from atende.web.pages.i18n import _, as_datetime
from atende.web.pages.pane_extras import pane_extras
from atende.web.pages.send_at import local_send_at
from atende.web.params import OptId, RowId

router = APIRouter(include_in_schema=False)

THREAD_PAGE = 50
JUMP_CONTEXT = 10  # messages shown before a search hit
JUMP_TAIL = 500  # and after it (with the hit), so the thread stays contiguous up to the newest
MAX_TEXT = API_MAX_TEXT
MEDIA_KINDS = {"image": "image", "audio": "audio", "video": "video", "sticker": "sticker", "document": "document"}


def system_line(event: dict[str, Any], names: dict[int, str], teams: dict[int, str] | None = None) -> str:
    """The sentence a lifecycle event shows in the thread ("Ana assumiu a conversa")."""
    p = event["payload"]

    def name(key: str) -> str:
        value = p.get(key)
        return names.get(int(value), "?") if value else ""

    actor, assignee, previous = name("actor_id"), name("assignee_id"), name("previous_assignee_id")
    kind = event["type"]
    if kind == "conversation.assigned":
        if p.get("actor_id") and p.get("actor_id") == p.get("assignee_id"):
            return _("%(name)s assumiu a conversa") % {"name": assignee}
        if actor:
            return _("%(actor)s atribuiu a conversa a %(name)s") % {"actor": actor, "name": assignee}
        return _("Atribuída automaticamente a %(name)s") % {"name": assignee}
    if kind == "conversation.transferred" and p.get("assignee_id"):
        if actor and p.get("actor_id") == p.get("previous_assignee_id"):
            return _("%(actor)s transferiu a conversa para %(name)s") % {"actor": actor, "name": assignee}
        if actor:
            return _("%(actor)s transferiu a conversa de %(previous)s para %(name)s") % {
                "actor": actor, "previous": previous, "name": assignee}
        return _("Transferida de %(previous)s para %(name)s") % {"previous": previous, "name": assignee}
    if kind == "conversation.transferred" and not p.get("assignee_id"):
        team = (teams or {}).get(int(p.get("team_id") or 0)) or _("outra equipe")
        return (_("%(actor)s transferiu a conversa para a equipe %(team)s") % {"actor": actor, "team": team}) \
            if actor else _("Encaminhada para a equipe %(team)s") % {"team": team}
    if kind == "conversation.released":
        return (_("%(actor)s devolveu a conversa para a fila") % {"actor": actor}) if actor \
            else _("Devolvida para a fila (sem resposta)")
    if kind == "conversation.closed":
        line = (_("Concluída por %(actor)s") % {"actor": actor}) if actor else _("Concluída automaticamente")
        return f"{line} · {p['reason']}" if p.get("reason") else line
    if kind == "conversation.reopened":
        return (_("Reaberta por %(actor)s") % {"actor": actor}) if actor else _("Reaberta: nova mensagem do cliente")
    return kind


def merge_items(msgs: list[dict[str, Any]], evts: list[dict[str, Any]], names: dict[int, str],
                teams: dict[int, str] | None = None, reader: Viewer | None = None) -> list[dict[str, Any]]:
    items: list[tuple[datetime, int, dict[str, Any]]] = []
    may_read_deleted = reader is not None and policy.may_read_deleted(reader)
    msgs = [queries.visible_message(m, may_read_deleted=may_read_deleted) for m in msgs]
    if reader is not None:  # hidden messages: withheld from agents
        msgs = [policy.visible_message(m, reader) for m in msgs]
    for m in msgs:
        m["author_name"] = names.get(int(m["author_id"])) if m["author_id"] else None
        items.append((as_datetime(m["created_at"]) or utcnow(), 1, {"type": "message", "m": m}))
    for e in evts:
        items.append((as_datetime(e["created_at"]) or utcnow(), 0,
                      {"type": "event", "e": e, "text": system_line(e, names, teams)}))
    items.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in items]


async def thread_items(request: Request, conversation_id: RowId, *, before_id: int | None = None,
                       after_msg: OptId = None, after_event: OptId = None, around: int | None = None,
                       reader: Viewer | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Messages plus system lines, oldest first; (items, has_older). With `around` (a search hit),
    the thread opens on that message: a little before it, and everything after it up to JUMP_TAIL."""
    async with rt_of(request).read() as conn:
        names = await queries.user_names(conn)
        teams = {t["id"]: t["name"] for t in await queries.team_list(conn)}
        if around is not None:
            tail = await queries.messages_page(conn, conversation_id, after_id=around - 1, limit=JUMP_TAIL)
            if tail and tail[0]["id"] == around:
                head = await queries.messages_page(conn, conversation_id, before_id=around, limit=JUMP_CONTEXT)
                msgs = head + tail
                has_older = len(head) == JUMP_CONTEXT
                since = as_datetime(msgs[0]["created_at"]) if has_older else None
                evts = await queries.conversation_events(conn, conversation_id, since=since, limit=500)
                return merge_items(msgs, evts, names, teams, reader), has_older
        if after_msg is not None or after_event is not None:
            msgs = await queries.messages_page(conn, conversation_id, after_id=after_msg or 0, limit=200)
            evts = await queries.conversation_events(conn, conversation_id, after_id=after_event or 0)
            return merge_items(msgs, evts, names, teams, reader), False
        msgs = await queries.messages_page(conn, conversation_id, before_id=before_id, limit=THREAD_PAGE)
        has_older = len(msgs) == THREAD_PAGE
        since = as_datetime(msgs[0]["created_at"]) if msgs and has_older else None
        until = None
        if before_id is not None:
            until = await conn.scalar(select(messages.c.created_at).where(messages.c.id == before_id))
        evts = await queries.conversation_events(conn, conversation_id, since=since, until=until)
    return merge_items(msgs, evts, names, teams, reader), has_older


def window_state(loaded: LoadedConnector | None, conv: dict[str, Any]) -> dict[str, Any]:
    caps = loaded.provider.capabilities if loaded else None
    if caps is None or not caps.service_window_hours:
        return {"applies": False, "open": True}
    last_in = as_datetime(conv.get("last_inbound_at"))
    human_agent = bool(getattr(loaded.config, "human_agent_tag", False)) if loaded else False
    allowed, tag = send_allowance(last_in, utcnow(), hours=caps.service_window_hours,
                                  human_agent_hours=caps.human_agent_window_hours, human_agent=human_agent)
    return {"applies": True, "open": allowed, "hours": caps.service_window_hours, "tagged": tag is not None,
            "templates": caps.templates}


def permissions(who: Viewer, conv: dict[str, Any]) -> dict[str, Any]:
    """What the chat offers this viewer, as the policy decides it (the actions check again)."""
    may_act = policy.can_act(who, conv)
    return {"may_handle": may_act, "may_note": may_act or policy.can_read(who, conv)}


async def pane_context(request: Request, user: CurrentUser, conv: dict[str, Any],
                       around: int | None = None) -> dict[str, Any]:
    rt = rt_of(request)
    who = await viewer_of(request, user)
    loaded = await rt.connector(conv["connector_id"])
    items, has_older = await thread_items(request, conv["id"], around=around, reader=who)
    async with rt.read() as conn:
        contact = await queries.contact(conn, conv["contact"]["id"])
        if contact is not None:
            contact = await policy.visible_contact(conn, who, contact)
        agent_list = [a for a in await queries.agents(conn) if a["active"]]
        team_list = await queries.team_list(conn)
        quick = await queries.quick_reply_list(conn)
        templates = await queries.connector_templates(conn, conv["connector_id"]) if loaded else []
        # Close reasons and priorities for the header; message templates with variables for the composer.
        extras = {**await header_extras(conn, conv), **await pane_extras(conn, conv, user)}
        timeline = await policy.may_read_timeline(conn, who, conv["contact"]["id"])
    caps = loaded.provider.capabilities if loaded else None
    return {
        **extras,
        "c": conv, "thread_items": items, "thread_has_older": has_older, "contact": contact, "agents": agent_list,
        "teams": team_list, "quick_replies": quick, "templates": templates, "window": window_state(loaded, conv),
        "connector": loaded, "cost_per_segment": str(outbound.cost_per_segment(loaded.config)) if loaded else "0",
        "media_allowed": bool(caps and caps.media),
        "max_text": max_text(conv["channel"]), "segment_warning": rt.settings.sms_segment_warning,
        "economize": bool(loaded and outbound.economize_by_default(loaded.config)),
        "statuses": status_labels(), "may_timeline": timeline, **permissions(who, conv),
    }


# ---- pages ------------------------------------------------------------------------------------


async def _inbox(request: Request, user: CurrentUser, flt: ConvFilter, conv_id: int | None,
                 around: int | None = None) -> Response:
    who = await viewer_of(request, user)
    conv = await load_conversation(rt_of(request), conv_id, who) if conv_id is not None else None
    ui = await full_ui(request, user)
    async with rt_of(request).read() as conn:
        items, cursor = await queries.list_conversations(conn, limit=PAGE_SIZE, order=flt.list_order(),
                                                         **flt.list_args(who))
        chips = await team_chips(conn, who)
    context: dict[str, Any] = {"flt": flt, "filters": filter_labels(), "statuses": status_labels(), "items": items,
                               "cursor": cursor, "active_id": conv_id, "page": "inbox", "sort_key": flt.sort_key,
                               "sorts": sort_labels(), "team_chips": chips}
    if conv is not None:
        await access_log.record_view(rt_of(request), user.id, conv["contact"]["id"], via="conversation",
                                     conversation_id=conv["id"], ip=client_ip(request))
        context.update(await pane_context(request, user, conv, around))
    return render(request, "inbox.html", context, ui=ui)


@router.get("/inbox")
async def inbox(request: Request, user: PageUser, f: FilterQ = None, q: SearchQ = None, team: TeamQ = None,
                tag: TagQ = None, s: SortQ = None) -> Response:
    return await _inbox(request, user, ConvFilter.parse(f, q, team, tag, s), None)


@router.get("/inbox/list")
async def inbox_list(request: Request, user: PageUser, f: FilterQ = None, q: SearchQ = None,
                     team: TeamQ = None, tag: TagQ = None, s: SortQ = None,
                     cursor: Annotated[str | None, Query(max_length=200)] = None,
                     active: OptId = None) -> Response:
    flt = ConvFilter.parse(f, q, team, tag, s)
    who = await viewer_of(request, user)
    try:
        async with rt_of(request).read() as conn:
            items, next_cursor = await queries.list_conversations(conn, limit=PAGE_SIZE, cursor=cursor,
                                                                  order=flt.list_order(), **flt.list_args(who))
    except queries.BadCursor:
        raise PageError(400, _("Cursor inválido.")) from None
    return render(request, "_list_page.html", {"flt": flt, "items": items, "cursor": next_cursor,
                                               "active_id": active, "statuses": status_labels(),
                                               "sort_key": flt.sort_key}, ui=make_ui(request, user))


@router.get("/conversations/{conversation_id}")
async def conversation_page(request: Request, conversation_id: RowId, user: PageUser, f: FilterQ = None,
                            q: SearchQ = None, s: SortQ = None, m: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
                            ) -> Response:
    """`m`: open the thread on that message (a search result's jump)."""
    return await _inbox(request, user, ConvFilter.parse(f, q, s), conversation_id, around=m)


@router.get("/conversations/{conversation_id}/pane")
async def conversation_pane(request: Request, conversation_id: RowId, user: PageUser) -> Response:
    conv = await load_conversation(rt_of(request), conversation_id, await viewer_of(request, user))
    await access_log.record_view(rt_of(request), user.id, conv["contact"]["id"], via="conversation",
                                 conversation_id=conversation_id, ip=client_ip(request))
    return render(request, "_pane.html", await pane_context(request, user, conv), ui=make_ui(request, user))


@router.get("/conversations/{conversation_id}/header")
async def conversation_header(request: Request, conversation_id: RowId, user: PageUser) -> Response:
    conv = await load_conversation(rt_of(request), conversation_id, await viewer_of(request, user))
    return await _header(request, user, conv)


async def _header(request: Request, user: CurrentUser, conv: dict[str, Any],
                  headers: dict[str, str] | None = None) -> Response:
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        agent_list = [a for a in await queries.agents(conn) if a["active"]]
        team_list = await queries.team_list(conn)
        extras = await header_extras(conn, conv)
    ctx = {"c": conv, "agents": agent_list, "teams": team_list, "statuses": status_labels(),
           **permissions(who, conv), **extras}
    return render(request, "_chat_header.html", ctx, ui=make_ui(request, user), headers=headers)


@router.get("/conversations/{conversation_id}/thread")
async def thread(request: Request, conversation_id: RowId, user: PageUser,
                 before: OptId = None, after_msg: OptId = None, after_event: OptId = None) -> Response:
    """Older history (`before`) or what is new since the last shown message/event (live sync)."""
    who = await viewer_of(request, user)
    await load_conversation(rt_of(request), conversation_id, who)
    items, has_older = await thread_items(request, conversation_id, before_id=before, after_msg=after_msg,
                                          after_event=after_event, reader=who)
    return render(request, "_thread_items.html", {"items": items, "has_older": has_older,
                                                  "conversation_id": conversation_id,
                                                  "older_link": before is not None},
                  ui=make_ui(request, user))


@router.get("/messages/{message_id}/bubble")
async def bubble(request: Request, message_id: RowId, user: PageUser) -> Response:
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        msg = await queries.message(conn, message_id)
        names = await queries.user_names(conn)
        try:
            await policy.require_message(conn, who, message_id)
        except NotFound:
            msg = None
    if msg is None:
        raise PageError(404, _("Mensagem não encontrada."))
    msg = policy.visible_message(queries.visible_message(msg, may_read_deleted=policy.may_read_deleted(who)), who)
    msg["author_name"] = names.get(int(msg["author_id"])) if msg["author_id"] else None
    async with rt_of(request).read() as conn:
        conv = await queries.conversation(conn, msg["conversation_id"])
    return render(request, "_message.html", {"m": msg, "c": conv}, ui=make_ui(request, user))


# ---- writes -----------------------------------------------------------------------------------

def _template_payload(template: dict[str, Any], params: list[str]) -> tuple[dict[str, Any], str]:
    body = next((c.get("text", "") for c in template["components"]
                 if str(c.get("type", "")).lower() == "body"), "") or template["name"]
    preview = re.sub(r"\{\{(\d+)\}\}",
                     lambda m: params[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(params) else m.group(0),
                     body)
    components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}] if params else []
    return {"name": template["name"], "language": template["language"], "components": components}, preview


@router.post("/conversations/{conversation_id}/send")
async def send(request: Request, conversation_id: RowId, user: PageUser,
               text: Annotated[str, Form(max_length=MAX_TEXT)] = "",
               mode: Annotated[str, Form(max_length=10)] = "reply",
               template_id: Annotated[int | None, Form()] = None,
               media_id: Annotated[int | None, Form()] = None,
               media_kind: Annotated[str, Form(max_length=20)] = "document",
               send_at: Annotated[str, Form(max_length=40)] = "",
               economize: Annotated[str | None, Form(max_length=5)] = None) -> Response:
    rt = rt_of(request)
    who = await viewer_of(request, user)
    conv = await load_conversation(rt, conversation_id, who)
    later = local_send_at(send_at, user.timezone) if mode != "note" and media_id is None else None
    form = await request.form()
    params = [str(v) for v in form.getlist("params")]
    if mode == "note":
        if not text.strip():
            raise PageError(422, _("Escreva a nota antes de salvar."))
        async with rt.write() as tx:
            await add_note(tx, conversation_id, text, author_id=user.id, by=who)
        return Response(status_code=204, headers={"HX-Trigger": "atende:thread-sync"})
    loaded = await rt.connector(conv["connector_id"])
    if loaded is None:
        raise PageError(404, _("Conector não encontrado."))
    kind, template = "text", None
    if mode == "template":
        async with rt.read() as conn:
            found = [t for t in await queries.connector_templates(conn, conv["connector_id"]) if t["id"] == template_id]
        if not found:
            raise PageError(422, _("Escolha um modelo."))
        template, text = _template_payload(found[0], params)
        kind = "template"
    elif media_id is not None:
        kind = MEDIA_KINDS.get(media_kind, "document")
    elif not text.strip():
        raise PageError(422, _("Escreva a mensagem antes de enviar."))
    if later is not None:
        check_send_at(later, rt.clock())
    async with rt.write() as tx:
        await outbound.queue_message(tx, sendable(loaded), conversation_id, text=text or None, kind=kind,
                                     author_id=user.id, template=template, media_id=media_id, by=who,
                                     send_at=later,
                                     economize=None if economize is None else economize in ("1", "true", "on"))
    return Response(status_code=204, headers={"HX-Trigger": "atende:thread-sync"})


@router.post("/messages/{message_id}/retry")
async def retry(request: Request, message_id: RowId, user: PageUser) -> Response:
    rt = rt_of(request)
    async with rt.write() as tx:
        await outbound.retry(tx, message_id, by=await viewer_of(request, user))
    return await bubble(request, message_id, user)


@router.post("/conversations/{conversation_id}/read")
async def mark_read(request: Request, conversation_id: RowId, user: PageUser) -> Response:
    async with rt_of(request).write() as tx:
        await conv_actions.mark_read(tx, conversation_id, by=await viewer_of(request, user))
    return Response(status_code=204)


async def _after_action(request: Request, user: CurrentUser, conversation_id: RowId) -> Response:
    rt = rt_of(request)
    try:
        conv = await load_conversation(rt, conversation_id, await viewer_of(request, user))
    except PageError:  # the action moved it out of this viewer's sight (a transfer): show the new state once
        conv = await load_conversation(rt, conversation_id)
    return await _header(request, user, conv, headers={"HX-Trigger": "atende:thread-sync, atende:counts"})


async def _move(request: Request, user: CurrentUser, conversation_id: RowId, to: str) -> Response:
    await move(rt_of(request), await viewer_of(request, user), conversation_id, to)
    return await _after_action(request, user, conversation_id)


@router.post("/conversations/{conversation_id}/take")
async def take(request: Request, conversation_id: RowId, user: PageUser) -> Response:
    return await _move(request, user, conversation_id, "open")


@router.post("/conversations/{conversation_id}/close")
async def close(request: Request, conversation_id: RowId, user: PageUser,
                reason_id: Annotated[int | None, Form(ge=1)] = None) -> Response:
    await move(rt_of(request), await viewer_of(request, user), conversation_id, "done", reason_id)
    return await _after_action(request, user, conversation_id)


@router.post("/conversations/{conversation_id}/reopen")
async def reopen(request: Request, conversation_id: RowId, user: PageUser) -> Response:
    return await _move(request, user, conversation_id, "new")


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(request: Request, conversation_id: RowId, user: PageUser,
                   target: Annotated[str, Form(max_length=40)] = "",
                   agent_id: Annotated[int | None, Form()] = None,
                   note: Annotated[str, Form(max_length=MAX_TEXT)] = "") -> Response:
    """The transfer dialog: `target` is "agent:<id>" or "team:<id>" (or the older `agent_id` field)."""
    kind, _sep, raw = target.partition(":")
    team_id: int | None = None
    if kind in ("agent", "team") and raw.isascii() and raw.isdigit() and len(raw) < 19:
        if kind == "agent":
            agent_id = int(raw)
        else:
            team_id = int(raw)
    elif agent_id is None:
        raise PageError(422, _("Escolha um agente ou uma equipe."))
    async with rt_of(request).write() as tx:
        await conv_actions.transfer(tx, conversation_id, agent_id=agent_id if team_id is None else None,
                                    team_id=team_id, note=note, by=await viewer_of(request, user))
    return await _after_action(request, user, conversation_id)


@router.post("/conversations/{conversation_id}/tags")
async def add_tag(request: Request, conversation_id: RowId, user: PageUser,
                  name: Annotated[str, Form(max_length=60)] = "") -> Response:
    from atende.actions.tags import tag_conversation

    if not name.strip():
        raise PageError(422, _("Escreva o nome da etiqueta."))
    async with rt_of(request).write() as tx:
        await tag_conversation(tx, conversation_id, name, by=await viewer_of(request, user))
    return await _after_action(request, user, conversation_id)


@router.post("/conversations/{conversation_id}/tags/{tag_id}/delete")
async def remove_tag(request: Request, conversation_id: RowId, tag_id: RowId, user: PageUser) -> Response:
    from atende.actions.tags import untag_conversation

    async with rt_of(request).write() as tx:
        await untag_conversation(tx, conversation_id, tag_id, by=await viewer_of(request, user))
    return await _after_action(request, user, conversation_id)


__all__ = ["router"]
