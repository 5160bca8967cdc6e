"""The data-subject export (LGPD art. 18, II and V): one ZIP with `dados.json` (everything held
about the contact, machine-readable), `dados.html` (the same, readable) and the media files.

Only the contact's own data goes in: their identities, every conversation and message of every
channel (internal notes about them included), the consent history, the Odoo link, the requests they
made and the access log about them. Nothing about anyone else: no agent names or addresses, no
other customer's messages. Reads only; the route records the export in the audit and request logs.
"""

from __future__ import annotations

import json
import mimetypes
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.queries import iso, money
from atende.db.tables import (
    audit_log,
    connectors,
    consents,
    contact_identities,
    contacts,
    conversations,
    data_requests,
    media,
    messages,
    odoo_partners,
)
from atende.db.types import utcnow
from atende.privacy import campaign_data

FORMAT = "atende/lgpd-export/v1"
PAGE = 1000
TEMPLATES = Path(__file__).resolve().parent / "templates"
# Internal bookkeeping on messages that says nothing about the titular.
_INTERNAL_ATTRIBUTES = frozenset({"on_sent", "media", "media_url_internal"})


def _message(row: Any, media_file: str | None) -> dict[str, Any]:
    attributes = {k: v for k, v in (row.attributes or {}).items() if k not in _INTERNAL_ATTRIBUTES}
    out: dict[str, Any] = {
        "id": row.id, "from": "titular" if row.direction == "in" else "empresa",
        "kind": row.kind, "text": row.text, "status": row.status, "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at), "delivered_at": iso(row.delivered_at), "read_at": iso(row.read_at),
        "segments": row.segments, "cost": money(row.cost), "reply_to_id": row.reply_to_id,
        "attributes": attributes, "provider_payload": row.raw,
    }
    if row.kind == "note":
        out["from"] = "nota interna"
    if media_file:
        out["media_file"] = media_file
    if row.hidden_at is not None:
        out["hidden_at"] = iso(row.hidden_at)
    if row.redacted_at is not None:
        out["content_removed_at"] = iso(row.redacted_at)
    return out


async def collect(conn: AsyncConnection, contact_id: int) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """(dados.json, [(zip path, storage key)]) for the contact; None-safe for erased contacts."""
    contact = (await conn.execute(select(contacts).where(contacts.c.id == contact_id))).first()
    if contact is None:
        raise LookupError(contact_id)
    identities = [{"kind": r.kind, "value": r.value, "attributes": r.attributes or {}, "created_at": iso(r.created_at)}
                  for r in await conn.execute(select(contact_identities).where(
                      contact_identities.c.contact_id == contact_id).order_by(contact_identities.c.id))]
    files: list[tuple[str, str]] = []
    seen_media: dict[int, str] = {}
    convs: list[dict[str, Any]] = []
    for conv in await conn.execute(
            select(conversations, connectors.c.name.label("connector_name"))
            .select_from(conversations.join(connectors, connectors.c.id == conversations.c.connector_id))
            .where(conversations.c.contact_id == contact_id).order_by(conversations.c.id)):
        items: list[dict[str, Any]] = []
        after = 0
        while True:
            rows = list(await conn.execute(
                select(messages, media.c.storage_key, media.c.mime_type, media.c.filename.label("media_filename"))
                .select_from(messages.outerjoin(media, media.c.id == messages.c.media_id))
                .where(messages.c.conversation_id == conv.id, messages.c.id > after)
                .order_by(messages.c.id).limit(PAGE)))
            for row in rows:
                path = None
                if row.media_id is not None and row.storage_key:
                    path = seen_media.get(int(row.media_id))
                    if path is None:
                        path = _media_path(int(row.media_id), row.mime_type, row.media_filename)
                        seen_media[int(row.media_id)] = path
                        files.append((path, str(row.storage_key)))
                items.append(_message(row, path))
            if len(rows) < PAGE:
                break
            after = int(rows[-1].id)
        convs.append({
            "id": conv.id, "channel": conv.channel, "connector": conv.connector_name, "address": conv.address,
            "status": conv.status, "created_at": iso(conv.created_at), "last_activity_at": iso(conv.last_activity_at),
            "legal_hold": {"since": iso(conv.legal_hold_at), "reason": conv.legal_hold_reason}
            if conv.legal_hold_at else None,
            "messages": items,
        })
    ledger = [{"channel": r.channel, "opted_out": r.opted_out, "source": r.source, "at": iso(r.at)}
              for r in await conn.execute(select(consents).where(consents.c.contact_id == contact_id)
                                          .order_by(consents.c.id))]
    requests = [{"id": r.id, "kind": r.kind, "status": r.status, "requested_at": iso(r.requested_at),
                 "due_at": iso(r.due_at), "completed_at": iso(r.completed_at)}
                for r in await conn.execute(select(data_requests).where(data_requests.c.contact_id == contact_id)
                                            .order_by(data_requests.c.id))]
    # Who accessed or changed their data: the action, when, and the employee's id (never their name).
    access = [{"at": iso(r.at), "action": r.action, "user_id": r.actor_id}
              for r in await conn.execute(select(audit_log.c.at, audit_log.c.action, audit_log.c.actor_id)
                                          .where(audit_log.c.contact_id == contact_id).order_by(audit_log.c.id))]
    phones = campaign_data.numbers_of([*(i["value"] for i in identities if i["kind"] == "phone"),
                                       *(str(c["address"]) for c in convs)])
    data = {
        "format": FORMAT,
        "generated_at": iso(utcnow()),
        "contact": {
            "id": contact.id, "name": contact.name, "created_at": iso(contact.created_at),
            "erased_at": iso(contact.erased_at), "sms_opted_out": contact.sms_opted_out,
            "identities": identities,
        },
        "odoo": await _odoo(conn, contact.odoo_partner_id),
        "consents": ledger,
        "conversations": convs,
        # Campaign messages sent to their number and their satisfaction ratings (campaigns issue).
        **await campaign_data.export_rows(conn, phones, [int(c["id"]) for c in convs]),
        "requests": requests,
        "access_log": access,
    }
    return data, files


async def _odoo(conn: AsyncConnection, partner_id: int | None) -> dict[str, Any] | None:
    """The Odoo partner link, and what atende copied of the partner."""
    if partner_id is None:
        return None
    row = (await conn.execute(select(odoo_partners).where(odoo_partners.c.id == partner_id))).first()
    copied = {k: getattr(row, k) for k in ("name", "email", "vat", "phone", "mobile")} if row else {}
    return {"partner_id": partner_id, **copied}


def _media_path(media_id: int, mime_type: str | None, filename: str | None) -> str:
    ext = Path(filename).suffix if filename and Path(filename).suffix else \
        (mimetypes.guess_extension((mime_type or "").split(";")[0].strip()) or "")
    safe_ext = "".join(ch for ch in ext if ch.isalnum() or ch == ".")[:10]
    return f"midia/{media_id}{safe_ext}"


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def render_html(data: dict[str, Any]) -> str:
    return _environment().get_template("dados.html").render(data=data)


async def write_zip(rt: Any, contact_id: int, out: IO[bytes]) -> dict[str, Any]:
    """The ZIP into `out`; returns what went in (counts for the logs)."""
    async with rt.read() as conn:
        data, files = await collect(conn, contact_id)
    store = rt.media_store
    missing: list[str] = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, key in files:
            try:
                blob = await store.get(key) if store is not None else None
            except (FileNotFoundError, ValueError):
                blob = None
            if blob is None:
                missing.append(path)
                continue
            zf.writestr(zipfile.ZipInfo(path, date_time=(2000, 1, 1, 0, 0, 0)), blob,
                        compress_type=zipfile.ZIP_STORED)  # media is compressed already
        if missing:
            data["media_missing"] = missing
        zf.writestr("dados.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        zf.writestr("dados.html", render_html(data))
    return {"conversations": len(data["conversations"]),
            "messages": sum(len(c["messages"]) for c in data["conversations"]),
            "media": len(files) - len(missing)}


def spooled() -> IO[bytes]:
    """Where the ZIP is built: memory up to 8 MB, then a private temporary file."""
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
