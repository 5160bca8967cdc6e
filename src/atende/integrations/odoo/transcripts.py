"""An attendance as an internal note for the partner's chatter: channel, connector, agent, times,
every message, links to media. A marker line lets a retry find a note an earlier try already posted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.tables import attendances, connectors, contacts, conversations, messages, users

MAX_MESSAGES = 500
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "sms": "SMS", "instagram": "Instagram", "messenger": "Messenger",
                  "sandbox": "Sandbox"}
KIND_LABELS = {"image": "imagem", "audio": "áudio", "video": "vídeo", "document": "documento",
               "sticker": "figurinha", "location": "localização", "contacts": "contato", "template": "modelo"}


def marker(attendance_id: int) -> str:
    return f"[atende:atendimento:{attendance_id}]"


def erasure_marker(contact_id: int) -> str:
    return f"[atende:remocao:{contact_id}]"


def erasure_note(mark: str, *, timezone: str = "America/Sao_Paulo", now: datetime | None = None) -> str:
    """The chatter note of an LGPD erasure: that it happened and when, nothing of the conversations."""
    moment = (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(timezone))
    return ("<p><b>atende: dados do contato removidos (LGPD)</b></p>"
            f"<p>Em {moment.strftime('%d/%m/%Y %H:%M')} o atende apagou as conversas, os números e os arquivos "
            "deste contato, a pedido do titular. Transcrições antigas neste histórico são cópias do Odoo: "
            "trate-as aqui, se o pedido também valer para o Odoo.</p>"
            f"<p><small>{mark}</small></p>")


@dataclass(slots=True)
class Transcript:
    attendance_id: int
    conversation_id: int
    channel: str
    connector: str
    contact: str
    address: str
    agent: str | None
    started_at: datetime
    closed_at: datetime | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    more: int = 0  # messages left out past MAX_MESSAGES
    names: dict[int, str] = field(default_factory=dict)


async def gather(conn: AsyncConnection, attendance_id: int) -> Transcript | None:
    row = (await conn.execute(
        select(attendances, conversations.c.channel, conversations.c.address, conversations.c.connector_id,
               contacts.c.name.label("contact_name"), connectors.c.name.label("connector_name"))
        .select_from(attendances.join(conversations, conversations.c.id == attendances.c.conversation_id)
                     .join(contacts, contacts.c.id == conversations.c.contact_id)
                     .join(connectors, connectors.c.id == conversations.c.connector_id))
        .where(attendances.c.id == attendance_id))).first()
    if row is None:
        return None
    # The first message of an attendance can be stamped a little before the attendance row, but
    # never before the previous attendance of the conversation ended.
    start = row.started_at - timedelta(seconds=2)
    previous = await conn.scalar(select(func.max(attendances.c.closed_at)).where(
        attendances.c.conversation_id == row.conversation_id, attendances.c.id < attendance_id))
    since = messages.c.created_at > previous if previous is not None and previous >= start \
        else messages.c.created_at >= start
    stmt = select(messages).where(messages.c.conversation_id == row.conversation_id, since)
    if row.closed_at is not None:
        stmt = stmt.where(messages.c.created_at <= row.closed_at)
    found = [dict(m._mapping) for m in await conn.execute(
        stmt.order_by(messages.c.created_at, messages.c.id).limit(MAX_MESSAGES + 1))]
    more = 0
    if len(found) > MAX_MESSAGES:
        found = found[:MAX_MESSAGES]
        more = 1
    names = {int(r.id): r.name for r in await conn.execute(select(users.c.id, users.c.name))}
    return Transcript(
        attendance_id=attendance_id, conversation_id=int(row.conversation_id), channel=row.channel,
        connector=row.connector_name, contact=row.contact_name or row.address, address=row.address,
        agent=names.get(int(row.assignee_id)) if row.assignee_id else None, started_at=row.started_at,
        closed_at=row.closed_at, messages=found, more=more, names=names,
    )


def render(t: Transcript, *, public_url: str, timezone: str = "America/Sao_Paulo") -> str:
    """The note's HTML (Odoo sanitizes it; only plain tags are used)."""
    tz = ZoneInfo(timezone)

    def when(moment: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
        return moment.astimezone(tz).strftime(fmt) if moment else "—"

    base = public_url.rstrip("/")
    channel = CHANNEL_LABELS.get(t.channel, t.channel)
    lines = [
        f"<p><b>Atendimento {escape(channel)}</b> · {escape(t.connector)}</p>",
        "<ul>",
        f"<li>Cliente: {escape(t.contact)} ({escape(t.address)})</li>",
        f"<li>Agente: {escape(t.agent or 'sem agente')}</li>",
        f"<li>Início: {when(t.started_at)} · Fim: {when(t.closed_at)}</li>",
        f"<li>Mensagens: {len(t.messages)}{' ou mais' if t.more else ''}</li>",
        "</ul>",
    ]
    for m in t.messages:
        who = "Cliente" if m["direction"] == "in" else (
            t.names.get(int(m["author_id"]), "Agente") if m["author_id"] else "Sistema")
        text = escape(m["text"] or "").replace("\n", "<br/>")
        stamp = when(m["created_at"], "%H:%M")
        if m["kind"] == "event":
            lines.append(f"<p><i>{stamp} · {text}</i></p>")
            continue
        extra = ""
        if m["kind"] == "note":
            who += " (nota interna)"
        elif m["kind"] in KIND_LABELS:
            extra = f" [{KIND_LABELS[m['kind']]}]"
        if m["media_id"]:
            extra += f' <a href="{escape(base)}/api/v1/media/{int(m["media_id"])}">anexo</a>'
        failed = " (não enviada)" if m["status"] == "failed" else ""
        lines.append(f"<p>{stamp} <b>{escape(who or '')}</b>{failed}:{extra} {text}</p>")
    if t.more:
        lines.append(f"<p><i>Conversa completa: {escape(base)}/conversations/{t.conversation_id}</i></p>")
    lines.append(f"<p><small>{marker(t.attendance_id)}</small></p>")
    return "\n".join(lines)
