"""Merging two contacts that are the same person (supervisors): find the other one, compare both,
confirm. The merge itself is the `contacts.merge` action (identities, conversations and messages move,
one timeline, audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from atende.actions import contacts as contact_actions
from atende.actions.errors import ActionError
from atende.auth import policy
from atende.db import queries
from atende.db.contact_list import ContactFilter, list_contacts
from atende.domain.ids import MAX_ID
from atende.web.auth import CurrentUser, viewer_of
from atende.web.error_language import translate_detail
from atende.web.pages.common import status_labels
from atende.web.pages.contact_list import display_rows
from atende.web.pages.core import PageError, Supervisor, full_ui, redirect, render, rt_of
from atende.web.pages.i18n import _
from atende.web.params import OptId, RowId

router = APIRouter(include_in_schema=False)
CANDIDATES = 20


async def _load(request: Request, user: CurrentUser, contact_id: int) -> dict[str, Any]:
    """The contact, if the viewer may read it (auth.policy)."""
    who = await viewer_of(request, user)
    async with rt_of(request).read() as conn:
        contact = await queries.contact(conn, contact_id)
        if contact is None:
            raise PageError(404, _("Contato não encontrado."))
        await policy.require_contact(conn, who, contact_id)
    return display_rows([contact])[0]


@router.get("/contacts/{contact_id}/merge")
async def merge_page(request: Request, contact_id: RowId, user: Supervisor,
                     q: Annotated[str | None, Query(max_length=200)] = None, other: OptId = None) -> Response:
    """Step 1 (`q`): contacts matching a name, phone or identifier. Step 2 (`other`): both side by side
    with what moves, and the confirmation."""
    keep = await _load(request, user, contact_id)
    other_contact = None
    candidates: list[dict[str, Any]] = []
    query = (q or "").strip()
    if other is not None:
        if other == contact_id:
            raise PageError(422, _("Escolha dois contatos diferentes."))
        other_contact = await _load(request, user, other)
    elif query:
        async with rt_of(request).read() as conn:
            found, _cursor = await list_contacts(conn, ContactFilter(q=query), limit=CANDIDATES + 1,
                                                 visible=policy.visible_conversations(await viewer_of(request, user)))
        candidates = display_rows([c for c in found if c["id"] != contact_id][:CANDIDATES])
    ui = await full_ui(request, user)
    return render(request, "contact_merge.html", {
        "contact": keep, "other": other_contact, "q": query, "candidates": candidates,
        "statuses": status_labels(), "page": "contact"}, ui=ui)


@router.post("/contacts/{contact_id}/merge")
async def merge(request: Request, contact_id: RowId, user: Supervisor,
                other_id: Annotated[int, Form(ge=1, le=MAX_ID)]) -> Response:
    """Step 3: `other_id` moves into this contact (the contacts.merge action, audited), then its page."""
    if other_id == contact_id:
        raise PageError(422, _("Escolha dois contatos diferentes."))
    await _load(request, user, contact_id)
    await _load(request, user, other_id)
    try:
        async with rt_of(request).write() as tx:
            # The action asks the policy (supervisors, two contacts they may read) and audits the merge.
            await contact_actions.merge(tx, contact_id, other_id, by=await viewer_of(request, user))
    except ActionError as exc:
        raise PageError(exc.status_code, translate_detail(exc.template, user.language, exc.params)) from None
    return redirect(f"/contacts/{contact_id}?merged={other_id}", request)
