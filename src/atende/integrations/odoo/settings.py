"""The Odoo integration's settings: where Odoo is, who we log in as, what the bridge does.

Stored in the `integrations` row "odoo": the plain part as JSON, the API key Fernet-encrypted with the
runtime's SecretBox (like connector secrets). Nothing here writes: `actions.odoo` does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from atende.db.tables import integrations
from atende.integrations.odoo.client import OdooClient, OdooError
from atende.secrets import SecretBox

NAME = "odoo"
FLAGS = ("link_partners", "post_transcripts", "create_partners")
DEFAULT_FLAGS = {"link_partners": True, "post_transcripts": True, "create_partners": False}


@dataclass(frozen=True, slots=True)
class OdooConfig:
    url: str
    db: str
    login: str
    api_key: str
    link_partners: bool = True
    post_transcripts: bool = True
    create_partners: bool = False

    def client(self, http: httpx.AsyncClient, *, timeout: float | None = None) -> OdooClient:
        if timeout is None:
            return OdooClient(http, self.url, self.db, self.login, self.api_key)
        return OdooClient(http, self.url, self.db, self.login, self.api_key, timeout=timeout)

    def public(self) -> dict[str, Any]:
        """Everything but the key."""
        data = asdict(self)
        data.pop("api_key")
        return data

    def __repr__(self) -> str:
        return f"OdooConfig(url={self.url!r}, db={self.db!r}, login={self.login!r})"


async def load_row(conn: AsyncConnection) -> Any:
    return (await conn.execute(select(integrations).where(integrations.c.name == NAME))).first()


def config_from_row(row: Any, box: SecretBox) -> OdooConfig | None:
    if row is None or not row.secret_encrypted:
        return None
    plain = dict(row.config or {})
    secret = box.decrypt_json(row.secret_encrypted)
    return OdooConfig(url=str(plain.get("url") or ""), db=str(plain.get("db") or ""),
                      login=str(plain.get("login") or ""), api_key=str(secret.get("api_key") or ""),
                      **{flag: bool(plain.get(flag, DEFAULT_FLAGS[flag])) for flag in FLAGS})


async def load(conn: AsyncConnection, box: SecretBox) -> OdooConfig | None:
    return config_from_row(await load_row(conn), box)


async def test_connection(config: OdooConfig, http: httpx.AsyncClient) -> dict[str, Any]:
    """Reach Odoo, log in with the key, read partners: `{ok, detail, version}` in Portuguese."""
    client = config.client(http, timeout=15.0)
    version: str | None = None
    try:
        info = await client.version()
        version = str(info.get("server_version") or "") or None
        uid = await client.authenticate()
        await client.search_count("res.partner", [["id", "=", 0]])
        chatroom = await _has_chatroom(client)
    except OdooError as exc:
        return {"ok": False, "detail": exc.detail, "version": version}
    detail = f"Conectado ao Odoo {version or ''} como {config.login} (uid {uid})".replace("  ", " ")
    if chatroom is True:
        detail += "; ChatRoom instalado"
    elif chatroom is False:
        detail += "; ChatRoom não encontrado"
    return {"ok": True, "detail": detail, "version": version}


async def _has_chatroom(client: OdooClient) -> bool | None:
    """Whether ChatRoom is installed (None: this user may not read ir.model)."""
    try:
        rows = await client.search_read("ir.model", [["model", "=", "acrux.chat.message"]], ["model"], limit=1)
    except OdooError:
        return None
    return bool(rows)
