"""Contacts: a list with search and filters (channel, SMS opt-out, Odoo partner), endless pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from atende.auth import policy
from atende.db import queries
from atende.db.contact_list import ContactFilter, list_contacts
from atende.domain.phones import format_phone_display
from atende.web.auth import CurrentUser, viewer_of
from atende.web.pages.core import PageError, PageUser, full_ui, make_ui, render, rt_of
from atende.web.pages.i18n import _

router = APIRouter(include_in_schema=False)
PAGE = 50
CHANNEL_KEYS = ("whatsapp", "sms", "instagram", "messenger")

Short = Annotated[str | None, Query(max_length=20)]


@dataclass(frozen=True)
class ListQuery:
    """The list's query string, parsed leniently: an unknown value is the same as no filter."""

    q: str = ""
    channel: str = ""
    optout: str = ""  # "" | "yes" | "no"
    odoo: str = ""  # "" | "yes" | "no"

    @classmethod
    def parse(cls, q: str | None, channel: str | None, optout: str | None, odoo: str | None) -> ListQuery:
        def yes_no(value: str | None) -> str:
            return value if value in ("yes", "no") else ""

        return cls((q or "").strip()[:200], channel if channel in CHANNEL_KEYS else "", yes_no(optout), yes_no(odoo))

    def filter(self) -> ContactFilter:
        def flag(value: str) -> bool | None:
            return None if not value else value == "yes"

        return ContactFilter(q=self.q, channel=self.channel or None, opted_out=flag(self.optout),
                             has_partner=flag(self.odoo))

    def query(self, **extra: Any) -> str:
        params = {"q": self.q, "channel": self.channel, "optout": self.optout, "odoo": self.odoo, **extra}
        return urlencode({k: v for k, v in params.items() if v})

    @property
    def active(self) -> bool:
        return bool(self.q or self.channel or self.optout or self.odoo)


def display_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for c in items:
        phones = [format_phone_display(i["value"]) for i in c["identities"] if i["kind"] == "phone"]
        c["phones"] = phones
        c["label"] = c["name"] or (phones[0] if phones else (c["identities"][0]["value"] if c["identities"] else "—"))
    return items


async def _page(request: Request, user: CurrentUser, lq: ListQuery,
                cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    who = await viewer_of(request, user)
    try:
        async with rt_of(request).read() as conn:
            # Only contacts with a conversation the viewer may see (auth.policy).
            items, next_cursor = await list_contacts(conn, lq.filter(), limit=PAGE, cursor=cursor,
                                                     visible=policy.visible_conversations(who))
    except queries.BadCursor:
        raise PageError(400, _("Cursor inválido.")) from None
    return display_rows(items), next_cursor


def labels() -> dict[str, Any]:
    return {"channels": {"whatsapp": "WhatsApp", "sms": "SMS", "instagram": "Instagram", "messenger": "Messenger"},
            "yes_no": {"yes": _("Sim"), "no": _("Não")}}


@router.get("/contacts")
async def contacts_page(request: Request, user: PageUser, q: Annotated[str | None, Query(max_length=200)] = None,
                        channel: Short = None, optout: Short = None, odoo: Short = None) -> Response:
    lq = ListQuery.parse(q, channel, optout, odoo)
    ui = await full_ui(request, user)
    items, cursor = await _page(request, user, lq, None)
    return render(request, "contacts.html", {"lq": lq, "items": items, "cursor": cursor, "labels": labels(),
                                             "page": "contacts"}, ui=ui)


@router.get("/contacts/list")
async def contacts_more(request: Request, user: PageUser, q: Annotated[str | None, Query(max_length=200)] = None,
                        channel: Short = None, optout: Short = None, odoo: Short = None,
                        cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    """The next keyset page (endless scroll)."""
    lq = ListQuery.parse(q, channel, optout, odoo)
    items, next_cursor = await _page(request, user, lq, cursor)
    return render(request, "_contact_rows.html", {"lq": lq, "items": items, "cursor": next_cursor},
                  ui=make_ui(request, user))
