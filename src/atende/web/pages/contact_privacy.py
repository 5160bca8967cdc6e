"""The privacy block of the contact page (LGPD): the consent history for whoever reads the contact;
who looked, the titular's requests and the export/erasure actions for admins and the DPO. Apart from
pages/privacy.py, which renders the contact panel after its actions (no import cycle)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select

from atende.auth import policy
from atende.db import privacy_queries
from atende.db.audit_queries import audit_page
from atende.db.tables import users
from atende.web.auth import CurrentUser
from atende.web.pages.core import rt_of
from atende.web.pages.i18n import _

RECENT = 10


async def contact_privacy(request: Request, user: CurrentUser, contact_id: int) -> dict[str, Any]:
    """What the contact page shows about privacy: the consent ledger for everyone who reads the
    contact; the access log, open requests and the export/erasure actions for admins and the DPO."""
    rt = rt_of(request)
    async with rt.read() as conn:
        ledger = await privacy_queries.consents_of(conn, contact_id)
        out: dict[str, Any] = {"consents": (ledger or {}).get("items", [])[-RECENT:][::-1],
                               "may_handle": policy.may_handle_data_requests(user)}
        if out["may_handle"]:
            views, _next = await audit_page(conn, contact_id=contact_id, action="contact.view", limit=RECENT)
            names = {int(r.id): r.name for r in await conn.execute(select(users.c.id, users.c.name))}
            out["views"] = [{**v, "name": names.get(int(v["actor_id"] or 0), "—")} for v in views]
            out["requests"], _next = await privacy_queries.requests_page(conn, contact_id=contact_id, limit=RECENT)
    out["confirm_word"] = _("APAGAR")
    out["sources"] = source_labels()
    out["kinds"] = kind_labels()
    out["statuses"] = status_labels()
    return out


def source_labels() -> dict[str, str]:
    """Where a consent change came from (actions/consents.SOURCES)."""
    return {"keyword": _("palavra-chave do cliente"), "agent": _("atendente"), "api": _("API"),
            "campaign": _("campanha"), "import": _("importação"), "provider_blacklist": _("bloqueio do provedor"),
            "retained": _("mantido após remoção do titular"), "legacy": _("registro anterior")}


def requester_labels() -> dict[str, str]:
    return {"titular": _("O próprio titular"), "representative": _("Representante legal"),
            "anpd": _("ANPD"), "other": _("Outro")}


def kind_labels() -> dict[str, str]:
    return {"export": _("Acesso aos dados (exportação)"), "erasure": _("Eliminação")}


def status_labels() -> dict[str, str]:
    return {"open": _("Em aberto"), "done": _("Atendido"), "refused": _("Recusado")}
