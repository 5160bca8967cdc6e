"""The menu bot of a connector: greets a new conversation with numbered options and routes it.

- A new conversation (or one the customer reopens) gets the greeting and the options
  ("1 - Financeiro", "2 - Suporte", "0 - Falar com um atendente").
- A valid answer (the key, or the label) routes to the option's team, or answers with its text and
  waits for another choice. An invalid answer re-asks, at most twice; the third hands over to the
  connector's team. "0" or the timeout hands over to a human.
- It never speaks while an agent holds the conversation, and it speaks through the same outbound path
  as agents, so SMS counts segments and cost and WhatsApp keeps its rules.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select, update

from atende.actions import conversations as conv_actions
from atende.actions.errors import ActionError, Invalid, NotFound
from atende.db.tables import connector_bots, connectors, conversations, messages, teams
from atende.db.tx import Tx
from atende.db.types import utcnow
from atende.jobs.queue import arm
from atende.realtime import events

log = structlog.get_logger(__name__)

MAX_INVALID = 2  # re-asks before handing over
HUMAN_KEY = "0"
HUMAN_LABEL = "Falar com um atendente"
MAX_OPTIONS = 9
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 30, 7 * 24 * 3600


def _fold(text: str) -> str:
    """Case- and accent-insensitive form of an answer ("Financeiro" = "financeiro" = "FINANCEIRO")."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def menu_text(greeting: str, options: list[dict[str, Any]]) -> str:
    lines = [greeting.strip()] if greeting.strip() else []
    lines += [f"{o['key']} - {o['label']}" for o in options]
    lines.append(f"{HUMAN_KEY} - {HUMAN_LABEL}")
    return "\n".join(lines)


def match_option(answer: str, options: list[dict[str, Any]]) -> dict[str, Any] | None:
    folded = _fold(answer).rstrip(".)-")
    for option in options:
        if folded in (_fold(str(option["key"])), _fold(str(option["label"]))):
            return option
    return None


async def validate(tx: Tx, body: dict[str, Any]) -> dict[str, Any]:
    """Check a bot definition (the teams its options name must exist); returns the stored form."""
    options_in = body.get("options") or []
    if not isinstance(options_in, list) or len(options_in) > MAX_OPTIONS:
        raise Invalid(f"informe até {MAX_OPTIONS} opções")
    options: list[dict[str, Any]] = []
    keys: set[str] = set()
    for raw in options_in:
        key = str(raw.get("key") or "").strip()
        label = str(raw.get("label") or "").strip()
        team_id, reply = raw.get("team_id"), (raw.get("reply") or "").strip() or None
        if not key or not label:
            raise Invalid("cada opção precisa de key e label")
        if key == HUMAN_KEY or _fold(key) in keys:
            raise Invalid(f"a opção {key!r} está repetida (0 é reservada para falar com um atendente)")
        if (team_id is None) == (reply is None):
            raise Invalid(f"a opção {key!r} deve ter team_id ou reply, um dos dois")
        if team_id is not None and await tx.conn.scalar(select(teams.c.id).where(teams.c.id == team_id)) is None:
            raise Invalid(f"a opção {key!r} aponta para uma equipe que não existe")
        keys.add(_fold(key))
        option: dict[str, Any] = {"key": key, "label": label}
        option.update({"team_id": int(team_id)} if team_id is not None else {"reply": reply})
        if raw.get("tag"):
            option["tag"] = str(raw["tag"]).strip()[:60]
        options.append(option)
    enabled = bool(body.get("enabled"))
    if enabled and not options:
        raise Invalid("um bot ativo precisa de pelo menos uma opção")
    timeout = int(body.get("timeout_s") or 300)
    if not MIN_TIMEOUT_S <= timeout <= MAX_TIMEOUT_S:
        raise Invalid(f"timeout_s deve ficar entre {MIN_TIMEOUT_S} e {MAX_TIMEOUT_S} segundos")
    return {"enabled": enabled, "greeting": str(body.get("greeting") or "").strip(), "options": options,
            "invalid_reply": str(body.get("invalid_reply") or "").strip(), "timeout_s": timeout}


async def save(tx: Tx, connector_id: int, body: dict[str, Any], *, actor_id: int | None) -> dict[str, Any]:
    if await tx.conn.scalar(select(connectors.c.id).where(connectors.c.id == connector_id)) is None:
        raise NotFound("conector não encontrado")
    values = await validate(tx, body)
    from sqlalchemy.dialects import postgresql, sqlite

    mod = postgresql if tx.dialect == "postgresql" else sqlite
    stmt = mod.insert(connector_bots).values(connector_id=connector_id, updated_at=utcnow(), **values)
    await tx.conn.execute(stmt.on_conflict_do_update(
        index_elements=["connector_id"], set_={**values, "updated_at": utcnow()}))
    await events.append(tx, "connector.bot", {"id": connector_id, "enabled": values["enabled"], "actor_id": actor_id})
    return values


async def config(conn: Any, connector_id: int) -> dict[str, Any] | None:
    row = (await conn.execute(select(connector_bots).where(connector_bots.c.connector_id == connector_id))).first()
    if row is None:
        return None
    return {"enabled": row.enabled, "greeting": row.greeting, "options": list(row.options or []),
            "invalid_reply": row.invalid_reply, "timeout_s": row.timeout_s}


async def _say(tx: Tx, sender: Any, conv: Any, text: str) -> None:
    from atende.actions import outbound

    try:
        await outbound.queue_message(tx, sender, int(conv.id), text=text, author_id=None, take=False)
    except ActionError as exc:  # opted out, window closed: the bot stays quiet
        log.info("bot message not sent", conversation_id=conv.id, reason=exc.code or "refused")


async def _state(tx: Tx, conv: Any, state: dict[str, Any] | None) -> None:
    await tx.conn.execute(update(conversations).where(conversations.c.id == conv.id).values(bot=state))


async def _arm_timeout(tx: Tx, conversation_id: int, timeout_s: int) -> None:
    await arm(tx, "conversation_timer", {"conversation_id": conversation_id, "timer": "bot"},
              run_at=utcnow() + timedelta(seconds=timeout_s), dedup_key=f"timer:bot:{conversation_id}")


async def _handover(tx: Tx, conv: Any, *, team_id: int | None = None, reason: str) -> None:
    """The bot is done: a human takes over (routing continues in the caller)."""
    await _state(tx, conv, {"stage": "off", "reason": reason})
    if team_id is not None and team_id != conv.team_id:
        fresh = await conv_actions.load(tx, int(conv.id))
        await conv_actions.transition(tx, fresh, "new", None, actor_id=None, event="conversation.transferred",
                                      team_id=team_id, extra={"by_bot": True})


async def _latest_inbound(tx: Tx, conversation_id: int, after_id: int) -> list[Any]:
    return list(await tx.conn.execute(
        select(messages.c.id, messages.c.text).where(
            messages.c.conversation_id == conversation_id, messages.c.direction == "in",
            messages.c.id > after_id).order_by(messages.c.id).limit(20)))


async def step(tx: Tx, conv: Any, sender: Any) -> bool:
    """Let the bot handle this waiting conversation. True: the bot holds it (don't route yet)."""
    state = conv.bot
    if state is not None and state.get("stage") != "menu":
        return False
    if conv.assignee_id is not None:
        return False
    cfg = await config(tx.conn, int(conv.connector_id))
    if cfg is None or not cfg["enabled"] or not cfg["options"]:
        if state is not None:  # switched off mid-menu: a human takes over
            await _state(tx, conv, {"stage": "off", "reason": "disabled"})
        return False
    options = cfg["options"]
    menu = menu_text(cfg["greeting"], options)
    if state is None:
        last = await tx.conn.scalar(select(messages.c.id).where(
            messages.c.conversation_id == conv.id, messages.c.direction == "in").order_by(messages.c.id.desc())
            .limit(1))
        await _say(tx, sender, conv, menu)
        await _state(tx, conv, {"stage": "menu", "invalid": 0, "seen": int(last or 0), "at": utcnow().isoformat()})
        await _arm_timeout(tx, int(conv.id), cfg["timeout_s"])
        return True
    invalid = int(state.get("invalid") or 0)
    seen = int(state.get("seen") or 0)
    answered = False
    for msg in await _latest_inbound(tx, int(conv.id), seen):
        seen = int(msg.id)
        answered = True
        answer = (msg.text or "").strip()
        if answer == HUMAN_KEY:
            await _handover(tx, conv, reason="human")
            return False
        option = match_option(answer, options)
        if option is not None and option.get("tag"):
            from atende.actions.tags import tag_conversation

            await tag_conversation(tx, int(conv.id), option["tag"], by=None)
        if option is not None and option.get("team_id") is not None:
            await _handover(tx, conv, team_id=int(option["team_id"]), reason="option")
            return False
        if option is not None:
            await _say(tx, sender, conv, str(option["reply"]))
            invalid = 0
            continue
        invalid += 1
        if invalid > MAX_INVALID:
            await _handover(tx, conv, reason="invalid")
            return False
        await _say(tx, sender, conv, "\n\n".join(t for t in (cfg["invalid_reply"], menu) if t))
    await _state(tx, conv, {"stage": "menu", "invalid": invalid, "seen": seen,
                            "at": utcnow().isoformat() if answered else state.get("at")})
    if answered:
        await _arm_timeout(tx, int(conv.id), cfg["timeout_s"])
    return True


async def timeout(tx: Tx, conversation_id: int) -> datetime | None:
    """No answer within the bot's timeout: a human takes over. Returns when to look again."""
    conv = await conv_actions.load(tx, conversation_id)
    state = conv.bot
    if conv.status != "new" or state is None or state.get("stage") != "menu":
        return None
    cfg = await config(tx.conn, int(conv.connector_id))
    timeout_s = cfg["timeout_s"] if cfg else 0
    since = datetime.fromisoformat(str(state.get("at")))
    due = since + timedelta(seconds=timeout_s)
    if utcnow() < due:
        return due
    await _handover(tx, conv, reason="timeout")
    from atende.actions.queues import enqueue_route

    await enqueue_route(tx, conversation_id)
    return None
