"""Connectors: a provider account with its (encrypted) config and webhook token."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select, update

from atende.actions.errors import Invalid, NotFound
from atende.channels.registry import UnknownProvider, provider_type
from atende.db.tables import connectors
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.realtime import events
from atende.secrets import SecretBox


def validate_config(provider: str, config: dict[str, Any]) -> tuple[type[Any], BaseModel]:
    try:
        cls = provider_type(provider)
    except UnknownProvider:
        raise Invalid(f"provedor desconhecido: {provider}") from None
    try:
        return cls, cls.config_model.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
        raise Invalid(f"configuração inválida: {problems}") from None


def channel_of(cls: Any, config: BaseModel) -> str:
    # Sandbox connectors look like another channel so the demo shows real badges; history-only
    # connectors (imported) keep the channel they had.
    look_like = getattr(config, "look_like", None) or getattr(config, "channel", None)
    return str(look_like) if look_like and look_like != "sandbox" else str(cls.channel)


async def create_connector(tx: Tx, box: SecretBox, *, name: str, provider: str, config: dict[str, Any]) -> int:
    if not name.strip():
        raise Invalid("o conector precisa de um nome")
    cls, parsed = validate_config(provider, config)
    now = utcnow()
    connector_id = (await tx.conn.execute(insert(connectors).values(
        name=name.strip(), provider=provider, channel=channel_of(cls, parsed),
        config_encrypted=box.encrypt_json(parsed.model_dump(mode="json")),
        webhook_token=secrets.token_urlsafe(32), account_id=getattr(parsed, "phone_number_id", None),
        state={}, created_at=now, updated_at=now,
    ).returning(connectors.c.id))).scalar_one()
    await events.append(tx, "connector.created", {"id": connector_id, "provider": provider})
    return int(connector_id)


async def update_connector(
    tx: Tx, box: SecretBox, connector_id: int, *, name: str | None = None,
    config: dict[str, Any] | None = None, active: bool | None = None,
) -> None:
    row = (await tx.conn.execute(select(connectors).where(connectors.c.id == connector_id))).first()
    if row is None:
        raise NotFound("conector não encontrado")
    values: dict[str, Any] = {"updated_at": utcnow()}
    if name is not None:
        if not name.strip():
            raise Invalid("o conector precisa de um nome")
        values["name"] = name.strip()
    if active is not None:
        values["active"] = active
    if config is not None:
        # Secrets left out of an edit keep their stored value (forms never echo them back).
        merged = {**box.decrypt_json(row.config_encrypted), **{k: v for k, v in config.items() if v != ""}}
        cls, parsed = validate_config(row.provider, merged)
        values.update(config_encrypted=box.encrypt_json(parsed.model_dump(mode="json")),
                      account_id=getattr(parsed, "phone_number_id", None), channel=channel_of(cls, parsed))
    await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(**values))
    await events.append(tx, "connector.updated", {"id": connector_id})


async def save_state(tx: Tx, connector_id: int, state: dict[str, Any]) -> None:
    await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(state=state))


async def poll_now(tx: Tx, connector_id: int) -> None:
    """Run the connector's reply/status polling at once (the periodic job is moved up, not doubled)."""
    from atende.db.tables import jobs
    from atende.jobs.queue import enqueue

    key = f"poll:{connector_id}"
    moved = await tx.conn.execute(update(jobs).where(jobs.c.dedup_key == key, jobs.c.status == "pending")
                                  .values(run_at=utcnow()))
    if not moved.rowcount:
        await enqueue(tx, "poll_provider", {"connector_id": connector_id}, dedup_key=key)
    tx.jobs_enqueued = True
