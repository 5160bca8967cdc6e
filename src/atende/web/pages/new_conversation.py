""""Nova conversa": write first to a number (any Brazilian spelling, the 9th digit fixed), by text or,
on WhatsApp, with an approved template. Also reached from a contact's page with its numbers ready."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from atende.actions import outbound
from atende.actions.errors import ActionError
from atende.auth import policy
from atende.auth.policy import Viewer
from atende.db import queries
from atende.db.tables import connectors
from atende.db.tx import Tx
from atende.domain.phones import format_phone_display
from atende.domain.text_limits import API_MAX_TEXT, max_text
from atende.jobs.handlers import sendable
from atende.web.auth import CurrentUser, viewer_of
from atende.web.error_language import translate_detail
from atende.web.pages.chat import _template_payload
from atende.web.pages.core import PageError, PageUser, full_ui, make_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import OptId

router = APIRouter(include_in_schema=False)

# Channels a conversation can be started on by typing an address (a phone, or a sandbox id).
STARTABLE = ("whatsapp", "sms", "sandbox")


async def startable_connectors(request: Request, who: Viewer) -> list[dict[str, Any]]:
    """Active connectors `who` may write first on (auth.policy: those their teams or no team serve),
    with what the form needs of each."""
    rt = rt_of(request)
    async with rt.read() as conn:
        stmt = (select(connectors.c.id, connectors.c.name, connectors.c.channel, connectors.c.provider)
                .where(connectors.c.active.is_(True), connectors.c.provider != "history",
                       connectors.c.channel.in_(STARTABLE)).order_by(connectors.c.name, connectors.c.id))
        rows = [r for r in await conn.execute(stmt)
                if await policy.may_start_on(conn, who, int(r.id))]
        items = []
        for r in rows:
            loaded = await rt.connector(int(r.id))
            caps = loaded.provider.capabilities if loaded else None
            templates = []
            if caps is not None and caps.templates:
                templates = [t for t in await queries.connector_templates(conn, int(r.id))
                             if str(t["status"]).upper() == "APPROVED"]
            items.append({
                "id": int(r.id), "name": r.name, "channel": r.channel, "templates": templates,
                "maxText": max_text(r.channel),
                "costPerSegment": str(outbound.cost_per_segment(loaded.config)) if loaded else "0",
                "economize": bool(loaded and outbound.economize_by_default(loaded.config)),
            })
    return items


async def _form(request: Request, user: CurrentUser, *, contact_id: int | None = None, error: str = "",
                values: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    who = await viewer_of(request, user)
    items = await startable_connectors(request, who)
    contact = None
    if contact_id is not None:
        async with rt_of(request).read() as conn:
            contact = await queries.contact(conn, contact_id)
            if contact is None:
                raise PageError(404, _("Contato não encontrado."))
            await policy.require_contact(conn, who, contact_id)  # its numbers only for who may read it
    phones = [i["value"] for i in (contact or {}).get("identities", []) if i["kind"] == "phone"]
    form = {"connector_id": str(items[0]["id"]) if items else "", "to": phones[0] if phones else "", "text": "",
            "mode": "text", **(values or {})}
    ui = await full_ui(request, user)
    return render(request, "new_conversation.html", {
        "connectors": items, "contact": contact, "phones": phones, "form": form, "error": error,
        "segment_warning": rt_of(request).settings.sms_segment_warning, "page": "new",
    }, ui=ui, status_code=status_code)


@router.get("/conversations/new")
async def new_conversation_page(request: Request, user: PageUser, contact: OptId = None) -> Response:
    return await _form(request, user, contact_id=contact or None)


@router.get("/conversations/new/number")
async def number_check(request: Request, user: PageUser, connector_id: OptId = None, to: str = "") -> Response:
    """Live answer under the number field: how it will be written, and the conversation it already has."""
    rt = rt_of(request)
    loaded = await rt.connector(connector_id) if connector_id else None
    context: dict[str, Any] = {"to": to.strip()[:140], "address": "", "display": "", "existing": None, "error": ""}
    if loaded is not None and context["to"]:
        try:
            address = outbound.recipient_address(loaded.channel, context["to"])
        except ActionError:
            context["error"] = _("Número inválido: confira o DDD e os dígitos.")
        else:
            context.update(address=address, display=format_phone_display(address))
            who = await viewer_of(request, user)
            async with rt.read() as conn:
                existing = await outbound.existing_conversation(Tx(conn), loaded.id, loaded.channel, address)
                conv = await queries.conversation(conn, existing) if existing is not None else None
                # Only a thread the viewer may read is pointed at (auth.policy).
                if conv is not None and await policy.may_read(conn, who, conv):
                    context["existing"] = existing
    return render(request, "_number_check.html", context, ui=make_ui(request, user))


@router.post("/conversations/new")
async def start(request: Request, user: PageUser,
                connector_id: Annotated[int, Form(ge=1)],
                to: Annotated[str, Form(min_length=1, max_length=140)],
                mode: Annotated[str, Form(max_length=10)] = "text",
                text: Annotated[str, Form(max_length=API_MAX_TEXT)] = "",
                template_id: Annotated[int | None, Form()] = None,
                economize: Annotated[str | None, Form(max_length=5)] = None,
                contact: Annotated[int | None, Form()] = None) -> Response:
    rt = rt_of(request)
    who = await viewer_of(request, user)
    form = await request.form()
    params = [str(v) for v in form.getlist("params")]
    values = {"connector_id": str(connector_id), "to": to, "text": text, "mode": mode}
    loaded = await rt.connector(connector_id)
    if loaded is None or loaded.channel not in STARTABLE or not loaded.active:
        return await _form(request, user, contact_id=contact, values=values, status_code=422,
                           error=_("Escolha um conector."))
    template = None
    if mode == "template":
        async with rt.read() as conn:
            found = [t for t in await queries.connector_templates(conn, connector_id) if t["id"] == template_id]
        if not found:
            return await _form(request, user, contact_id=contact, values=values, status_code=422,
                               error=_("Escolha um modelo."))
        template, text = _template_payload(found[0], params)
    elif not text.strip():
        return await _form(request, user, contact_id=contact, values=values, status_code=422,
                           error=_("Escreva a mensagem antes de enviar."))
    try:
        address = outbound.recipient_address(loaded.channel, to)
        async with rt.write() as tx:
            conversation_id, _message = await outbound.start_conversation(
                tx, sendable(loaded), address, text=text, author_id=user.id, template=template, take=True, by=who,
                economize=(economize in ("1", "true", "on")) if loaded.channel == "sms" and not template else None)
    except ActionError as exc:
        message = _("Número inválido: confira o DDD e os dígitos.") if exc.code == "invalid_phone" \
            else translate_detail(exc.template, user.language, exc.params)
        return await _form(request, user, contact_id=contact, values=values, status_code=exc.status_code,
                           error=message)
    return redirect(f"/conversations/{conversation_id}", request)
