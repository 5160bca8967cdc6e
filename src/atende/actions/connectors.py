"""Connectors: a provider account with its (encrypted) config and webhook token."""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import insert, select, update

from atende.actions import audit
from atende.actions.errors import Invalid, NotFound
from atende.auth.tokens import token_hash
from atende.channels.registry import UnknownProvider, canonical_name, provider_type
from atende.db.tables import connectors
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.domain.urls import UnsafeUrl, check_provider_url
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


def _check_url(parsed: BaseModel, allow_http_loopback: bool | None) -> None:
    url = getattr(parsed, "base_url", None)
    if allow_http_loopback is None:
        from atende.settings import get_settings

        allow_http_loopback = get_settings().allow_http_loopback_providers
    if isinstance(url, str):
        try:
            check_provider_url(url, allow_http_loopback=allow_http_loopback)
        except UnsafeUrl as exc:
            raise Invalid(str(exc), code="unsafe_base_url") from None


def new_webhook_token(box: SecretBox) -> dict[str, str]:
    """Column values of a fresh webhook URL token: looked up by hash, readable by admins only."""
    token = secrets.token_urlsafe(32)
    return {"webhook_token_hash": token_hash(token), "webhook_token_encrypted": box.encrypt_text(token)}


async def create_connector(tx: Tx, box: SecretBox, *, name: str, provider: str, config: dict[str, Any],
                           allow_http_loopback: bool | None = None, actor_id: int | None = None,
                           ip: str | None = None) -> int:
    if not name.strip():
        raise Invalid("o conector precisa de um nome")
    provider = canonical_name(provider)
    cls, parsed = validate_config(provider, config)
    _check_url(parsed, allow_http_loopback)
    now = utcnow()
    connector_id = (await tx.conn.execute(insert(connectors).values(
        name=name.strip(), provider=provider, channel=channel_of(cls, parsed),
        config_encrypted=box.encrypt_json(parsed.model_dump(mode="json")),
        **new_webhook_token(box), account_id=getattr(parsed, "account_id", None),
        state={}, created_at=now, updated_at=now,
    ).returning(connectors.c.id))).scalar_one()
    await events.append(tx, "connector.created", {"id": connector_id, "provider": provider})
    await audit.record(tx, "connector.create", actor_id=actor_id, target_type="connector",
                       target_id=int(connector_id), ip=ip, detail={"provider": provider})
    return int(connector_id)


async def update_connector(
    tx: Tx, box: SecretBox, connector_id: int, *, name: str | None = None,
    config: dict[str, Any] | None = None, active: bool | None = None, allow_http_loopback: bool | None = None,
    actor_id: int | None = None, ip: str | None = None,
) -> None:
    row = (await tx.conn.execute(select(connectors).where(connectors.c.id == connector_id))).first()
    if row is None:
        raise NotFound("conector não encontrado")
    values: dict[str, Any] = {"updated_at": utcnow()}
    changed: list[str] = []
    if name is not None:
        if not name.strip():
            raise Invalid("o conector precisa de um nome")
        values["name"] = name.strip()
        changed.append("name")
    if active is not None:
        values["active"] = active
        changed.append("active")
    if config is not None:
        stored = box.decrypt_json(row.config_encrypted)
        given = {k: v for k, v in config.items() if v != ""}
        cls = provider_type(row.provider)
        if "base_url" in given and str(given["base_url"]).strip().rstrip("/") != str(stored.get("base_url", "")):
            # Pointing the stored secrets at another host needs the secrets themselves: whoever
            # holds only a session must not be able to ship them elsewhere.
            missing = sorted(f for f in getattr(cls, "secret_fields", ()) if not given.get(f))
            if missing:
                raise Invalid("para mudar base_url informe de novo: " + ", ".join(missing),
                              code="secrets_required")
            base_url_changed = True
        else:
            base_url_changed = False
        # Secrets left out of an edit keep their stored value (forms never echo them back).
        cls, parsed = validate_config(row.provider, {**stored, **given})
        if base_url_changed:
            _check_url(parsed, allow_http_loopback)
        values.update(config_encrypted=box.encrypt_json(parsed.model_dump(mode="json")),
                      account_id=getattr(parsed, "account_id", None), channel=channel_of(cls, parsed))
        changed.extend(sorted(f"config.{k}" for k in given))
    await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(**values))
    await events.append(tx, "connector.updated", {"id": connector_id})
    await audit.record(tx, "connector.update", actor_id=actor_id, target_type="connector", target_id=connector_id,
                       ip=ip, detail={"fields": changed})


async def rotate_webhook(tx: Tx, box: SecretBox, connector_id: int, *, actor_id: int | None,
                         ip: str | None = None) -> None:
    """A new webhook URL; the old one stops working at commit (callers evict their caches)."""
    done = await tx.conn.execute(update(connectors).where(connectors.c.id == connector_id).values(
        **new_webhook_token(box), updated_at=utcnow()))
    if not done.rowcount:
        raise NotFound("conector não encontrado")
    await events.append(tx, "connector.updated", {"id": connector_id})
    await audit.record(tx, "connector.rotate_webhook", actor_id=actor_id, target_type="connector",
                       target_id=connector_id, ip=ip)


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
