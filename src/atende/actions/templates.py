"""Message templates (WhatsApp HSM): the `templates` table kept true, and the send-time check.

Sync replaces a connector's list with what the provider reports; status webhooks (approved,
rejected, paused, disabled, category changes) update the template's row on every connector of the
WhatsApp Business Account it belongs to. Only APPROVED templates may be queued
(providers/whatsapp-meta.md §3.2); `require_approved` hands back the synced components so the
message can be stored with the text the customer reads (`atende.domain.templates`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from atende.actions.errors import Conflict, Invalid
from atende.db.tables import templates
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.templates import template_parameters
from atende.realtime import events

APPROVED = "APPROVED"
# Webhook `event` values that mean the template can be sent again.
_BACK_TO_APPROVED = frozenset({"REINSTATED", "UNPAUSED", "APPROVED"})
# Events about quality or review that do not change whether the template can be sent.
_NOT_A_STATUS = frozenset({"FLAGGED", "IN_APPEAL", "PENDING_DELETION"})


def _upsert(tx: Tx) -> Any:
    return (postgresql if tx.dialect == "postgresql" else sqlite).insert(templates)


def normalize_status(event: str | None) -> str | None:
    if not event:
        return None
    value = event.strip().upper()
    if value in _BACK_TO_APPROVED:
        return APPROVED
    return value


async def sync_templates(tx: Tx, connector_id: int, items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Replace the connector's templates with the provider's list (name + language is the key)."""
    now = utcnow()
    existing = {(r.name, r.language): r for r in await tx.conn.execute(
        select(templates).where(templates.c.connector_id == connector_id))}
    seen: set[tuple[str, str]] = set()
    created = changed = 0
    for item in items:
        name, language = item.get("name"), item.get("language")
        if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
            continue
        key = (name, language)
        if key in seen:
            continue
        seen.add(key)
        values: dict[str, Any] = {
            "category": str(item.get("category") or "").upper(),
            "status": str(item.get("status") or "").upper(),
            "components": list(item.get("components") or []),
        }
        old = existing.get(key)
        # The list names the rejection code; a status webhook may have told us more: keep that.
        reason = str(item.get("status_reason") or "") or None
        if values["status"] == APPROVED:
            values["status_reason"] = None
        elif reason and not (old is not None and (old.status_reason or "").startswith(reason)):
            values["status_reason"] = reason
        if old is None:
            created += 1
        elif (old.category, old.status, old.components) != (values["category"], values["status"],
                                                            values["components"]):
            changed += 1
        stmt = _upsert(tx).values(connector_id=connector_id, name=name, language=language, updated_at=now,
                                  **values)
        await tx.conn.execute(stmt.on_conflict_do_update(
            index_elements=["connector_id", "name", "language"], set_={**values, "updated_at": now}))
    gone = [k for k in existing if k not in seen]
    for name, language in gone:  # deleted in the WhatsApp Manager
        await tx.conn.execute(delete(templates).where(
            templates.c.connector_id == connector_id, templates.c.name == name, templates.c.language == language))
    summary = {"total": len(seen), "created": created, "updated": changed, "removed": len(gone)}
    await events.append(tx, "templates.synced", {"connector_id": connector_id, **summary})
    return summary


async def apply_template_event(tx: Tx, connector_ids: int | Iterable[int], data: Mapping[str, Any]) -> list[int]:
    """A template webhook (status or category update), applied to each listed connector.

    Templates belong to the WhatsApp Business Account, so the caller passes every connector of that
    WABA (the engine reads the WABA id from their decrypted config). Unknown templates are added so
    the list stays true until the next sync fills in their components. Returns the connectors whose
    row changed.
    """
    name, language = data.get("name"), data.get("language")
    if not isinstance(name, str) or not name or not isinstance(language, str) or not language:
        return []
    field = str(data.get("field") or "")
    values: dict[str, Any] = {}
    if field == "template_category_update":
        if data.get("new_category"):
            values["category"] = str(data["new_category"]).upper()
    else:
        status = normalize_status(data.get("event"))
        if status and status not in _NOT_A_STATUS:
            values["status"] = status
        if data.get("category"):
            values["category"] = str(data["category"]).upper()
        if data.get("new_category"):
            values["category"] = str(data["new_category"]).upper()
    if not values:
        return []
    if "status" in values:
        # Why Meta rejected, paused or disabled it ("INVALID_FORMAT: … — recommendation"); cleared
        # when it is approved again.
        code = str(data.get("reason") or "").strip()
        explained = str(data.get("reason_detail") or "").strip()
        reason = ": ".join(p for p in (code if code.upper() != "NONE" else "", explained) if p)
        values["status_reason"] = None if values["status"] == APPROVED else (reason or None)
    ids = [connector_ids] if isinstance(connector_ids, int) else sorted(set(connector_ids))
    changed: list[int] = []
    for connector_id in ids:
        if await _apply_template_values(tx, connector_id, name, language, values, data.get("reason")):
            changed.append(connector_id)
    return changed


async def _apply_template_values(tx: Tx, connector_id: int, name: str, language: str, values: dict[str, Any],
                                 reason: Any) -> bool:
    row = (await tx.conn.execute(select(templates).where(
        templates.c.connector_id == connector_id, templates.c.name == name, templates.c.language == language,
    ).with_for_update())).first()
    now = utcnow()
    if row is None:
        await tx.conn.execute(_upsert(tx).values(
            connector_id=connector_id, name=name, language=language, category=values.get("category", ""),
            status=values.get("status", ""), status_reason=values.get("status_reason"), components=[],
            updated_at=now,
        ).on_conflict_do_nothing())
        previous: dict[str, Any] = {}
    else:
        if all(getattr(row, k) == v for k, v in values.items()):
            return False
        previous = {k: getattr(row, k) for k in values}
        await tx.conn.execute(update(templates).where(templates.c.id == row.id).values(updated_at=now, **values))
    await events.append(tx, "template.updated", {
        "connector_id": connector_id, "name": name, "language": language, **values,
        "previous": previous, "reason": reason,
    })
    return True


def _given_parameters(components: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, Mapping):
            continue
        ctype = str(component.get("type", "")).lower()
        if ctype in ("header", "body"):
            params = component.get("parameters")
            counts[ctype] = counts.get(ctype, 0) + (len(params) if isinstance(params, list) else 0)
    return counts


async def require_approved(tx: Tx, connector_id: int, template: Mapping[str, Any]) -> list[Any]:
    """Refuse, before anything is queued, a template that is unknown, not approved or that gets the
    wrong number of header / body parameters (Meta would answer 132001 / 132015 / 132000).

    Returns the approved template's components as synced (empty when known only from a webhook)."""
    name = str(template.get("name") or "")
    language = template.get("language") or ""
    if isinstance(language, Mapping):
        language = language.get("code") or ""
    row = (await tx.conn.execute(select(templates).where(
        templates.c.connector_id == connector_id, templates.c.name == name,
        templates.c.language == str(language)))).first()
    if row is None:
        raise Invalid(f"modelo «{name}» ({language}) não encontrado neste conector: sincronize os modelos",
                      code="template_unknown")
    if row.status != APPROVED:
        raise Conflict(f"modelo «{name}» ({language}) não está aprovado (status: {row.status or 'desconhecido'})",
                       code="template_not_approved")
    if not row.components:
        return []  # known only from a status webhook: the next sync brings its parameters
    expected, _ = template_parameters(row.components)
    given = _given_parameters(template.get("components"))
    labels = {"header": "no cabeçalho", "body": "no corpo"}
    for part, label in labels.items():
        if expected.get(part, 0) != given.get(part, 0):
            raise Invalid(f"o modelo «{name}» espera {expected.get(part, 0)} parâmetro(s) {label}, "
                          f"recebeu {given.get(part, 0)}", code="template_parameters")
    return list(row.components)
