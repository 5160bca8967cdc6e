"""What campaigns, templates and CSAT add to the conversation pane: the message templates offered on
its connector with the values they fill in here, and the satisfaction ratings of its attendances."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from atende.actions import message_templates as template_actions
from atende.web.auth import CurrentUser


async def pane_extras(conn: AsyncConnection, conv: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    return {
        "message_templates": await template_actions.listing(conn, conv["connector_id"]),
        "template_values": await template_actions.values_for_conversation(conn, conv["id"], user.name),
    }
