"""`atende demo`: the service with sandbox connectors and simulated customers writing in Portuguese.

Customers write through the sandbox webhooks (the same path a real provider uses), answer agents
now and then, and the "phones" report agents' messages delivered and then read, so a newcomer
sees a live board seconds after one command.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from typing import Any

import httpx
from sqlalchemy import select

from atende.actions import users as user_actions
from atende.actions.connectors import create_connector
from atende.actions.quick_replies import create_quick_reply
from atende.db.migrate import upgrade
from atende.db.tables import connectors, messages, quick_replies, users
from atende.runtime import Runtime
from atende.settings import Settings, get_settings

DEMO_PASSWORD = "demo12345"
DEMO_USERS = (
    ("admin@atende.local", "Administradora", "admin"),
    ("ana@atende.local", "Ana Souza", "agent"),
    ("bruno@atende.local", "Bruno Lima", "agent"),
    ("carla@atende.local", "Carla Dias", "supervisor"),
)
CUSTOMERS = (
    ("Maria Oliveira", "+5511987650001"), ("João Santos", "+5521987650002"), ("Fernanda Costa", "+5531987650003"),
    ("Ricardo Almeida", "+5541987650004"), ("Juliana Pereira", "+5548987650005"), ("Paulo Rodrigues", "+5551987650006"),
    ("Camila Ferreira", "+5561987650007"), ("Lucas Carvalho", "+5571987650008"), ("Beatriz Gomes", "+5581987650009"),
    ("Thiago Martins", "+5585987650010"), ("Larissa Rocha", "+5511987650011"), ("Gabriel Ribeiro", "+5519987650012"),
)
# Instagram-scoped ids of the same customers on the Instagram look-alike connector.
IG_LOOK_ALIKE = frozenset({"instagram"})
IGSIDS = tuple(f"17841{n:011d}" for n in range(1, len(CUSTOMERS) + 1))
OPENERS = (
    "Olá, gostaria de saber o status do meu pedido", "Bom dia! Minha fatura veio com valor errado",
    "Oi, preciso da segunda via do boleto", "Vocês entregam no sábado?", "Quero cancelar minha assinatura",
    "Boa tarde, o produto chegou com defeito", "Como faço para trocar o endereço de entrega?",
    "Vocês aceitam Pix?", "Meu código de rastreio não funciona", "Gostaria de falar com um atendente",
)
QUICK_REPLIES = (
    ("ola", "Olá! Obrigado por entrar em contato. Como posso ajudar?"),
    ("boleto", "Segue a segunda via do seu boleto. Qualquer dúvida, estou por aqui."),
    ("prazo", "O prazo de entrega é de 3 a 5 dias úteis após a confirmação do pagamento."),
    ("pix", "Aceitamos Pix, sim! Envio a chave assim que você confirmar o pedido."),
    ("tchau", "Posso ajudar em algo mais? Tenha um ótimo dia!"),
)
FOLLOW_UPS = (
    "Obrigado!", "Certo, vou aguardar", "Pode me mandar por aqui mesmo?", "Ainda não recebi 😕",
    "Perfeito, muito obrigada!", "Qual o prazo?", "Ok, entendi", "Consegui, valeu! 👍",
)


async def prepare(rt: Runtime) -> dict[str, str]:
    """Users, sandbox connectors and quick replies (idempotent); returns webhook token by look-alike channel."""
    async with rt.read() as conn:
        existing = {r.email for r in await conn.execute(select(users.c.email))}
        has_quick = await conn.scalar(select(quick_replies.c.id).limit(1)) is not None
        sandbox = {r.channel: rt.secrets.decrypt_text(r.webhook_token_encrypted) for r in await conn.execute(
            select(connectors.c.channel, connectors.c.webhook_token_encrypted)
            .where(connectors.c.provider == "sandbox"))}
    async with rt.write() as tx:
        for email, name, role in DEMO_USERS:
            if email not in existing:
                await user_actions.create_user(tx, email=email, password=DEMO_PASSWORD, name=name, role=role)
        for channel, name, cost in (("sms", "SMS (sandbox)", "0.08"), ("whatsapp", "WhatsApp (sandbox)", "0"),
                                    ("instagram", "Instagram (sandbox)", "0")):
            if channel not in sandbox:
                await create_connector(tx, rt.secrets, name=name, provider="sandbox",
                                       config={"look_like": channel, "cost_per_segment": cost})
        if not has_quick:  # so "/" in the composer offers something on the first try
            for shortcut, text in QUICK_REPLIES:
                await create_quick_reply(tx, shortcut=shortcut, text=text, created_by=None)
    async with rt.read() as conn:
        return {r.channel: rt.secrets.decrypt_text(r.webhook_token_encrypted) for r in await conn.execute(
            select(connectors.c.channel, connectors.c.webhook_token_encrypted)
            .where(connectors.c.provider == "sandbox"))}


async def simulate(http: httpx.AsyncClient, tokens: dict[str, str], rt: Runtime, rate: float,
                   rng: random.Random) -> None:
    """Customers write at `rate` messages per second; agents' messages get delivered, then read."""
    seq = 0
    reported: dict[str, str] = {}
    while True:
        await asyncio.sleep(rng.expovariate(rate) if rate > 0 else 5)
        seq += 1
        channel = rng.choice(sorted(tokens))
        name, phone = rng.choice(CUSTOMERS)
        if channel in IG_LOOK_ALIKE:  # Instagram customers have an Instagram-scoped id, not a phone
            phone = IGSIDS[CUSTOMERS.index((name, phone)) % len(IGSIDS)]
        text = rng.choice(OPENERS if rng.random() < 0.6 else FOLLOW_UPS)
        with contextlib.suppress(httpx.HTTPError):
            await http.post(f"/webhooks/{tokens[channel]}", json={"messages": [
                {"id": f"demo-{os.getpid()}-{seq}-{rng.random():.8f}", "from": phone, "text": text, "name": name}]})
        await _advance_ticks(http, rt, tokens, reported)


async def _advance_ticks(http: httpx.AsyncClient, rt: Runtime, tokens: dict[str, str],
                         reported: dict[str, str]) -> None:
    async with rt.read() as conn:
        rows = list(await conn.execute(
            select(messages.c.provider_message_id, messages.c.status, connectors.c.channel)
            .select_from(messages.join(connectors, connectors.c.id == messages.c.connector_id))
            .where(connectors.c.provider == "sandbox", messages.c.direction == "out",
                   messages.c.status.in_(("sent", "delivered")), messages.c.provider_message_id.is_not(None))
            .order_by(messages.c.id.desc()).limit(50)))
    for row in rows:
        nxt = "delivered" if row.status == "sent" else ("read" if row.channel in ("whatsapp", "instagram") else None)
        if nxt is None or reported.get(row.provider_message_id) == nxt:
            continue
        reported[row.provider_message_id] = nxt
        with contextlib.suppress(httpx.HTTPError):
            await http.post(f"/webhooks/{tokens[row.channel]}",
                            json={"statuses": [{"id": row.provider_message_id, "status": nxt}]})


def demo_banner(host: str, port: int, rate: float) -> str:
    """What `atende demo` prints: the address it serves and every demo login, by role."""
    roles = {"admin": "administração", "supervisor": "supervisão", "agent": "agente"}
    lines = [f"atende demo em http://{host}:{port} (banco var/demo.db; senha de todos: {DEMO_PASSWORD})"]
    lines += [f"  {email:<22} {name} ({roles[role]})" for email, name, role in DEMO_USERS]
    lines.append(f"  clientes simulados escrevendo ~{rate:g} mensagem/s por SMS, WhatsApp e Instagram (sandbox)")
    return "\n".join(lines)


def run_demo(*, host: str, port: int, rate: float, settings: Settings | None = None) -> None:
    import uvicorn

    from atende.ports import exit_if_port_taken

    exit_if_port_taken(host, port, "scripts/demo")

    from atende.app import create_app

    base = settings or get_settings()
    if "ATENDE_DATABASE_URL" not in os.environ and settings is None:
        base = base.model_copy(update={"database_url": "sqlite+aiosqlite:///var/demo.db"})
    config = base.model_copy(update={"public_url": f"http://{host}:{port}"})

    async def main() -> None:
        rt = Runtime.create(config)
        await upgrade(rt.engine)
        await rt.bus.start()
        tokens = await prepare(rt)
        app = create_app(config, rt=rt)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        print(demo_banner(host, port, rate))
        async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as http:
            sim: asyncio.Task[Any] = asyncio.create_task(simulate(http, tokens, rt, rate, random.Random()))
            try:
                await server.serve()
            finally:
                sim.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sim
                await rt.close()

    asyncio.run(main())
