"""A small async client for Odoo's external API (JSON-RPC at `/jsonrpc`).

Odoo answers HTTP 200 with `{"error": {"code": 200, "message": "Odoo Server Error", "data": {"name":
"odoo.exceptions.AccessDenied", "message": ...}}}` when something goes wrong inside it; this client
turns those, and network trouble, into `OdooError` with a Portuguese reason people can act on and a
`transient` flag for the job worker. The API key never appears in an error or a log line.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

DEFAULT_TIMEOUT_S = 30.0
_ids = itertools.count(1)

# Exceptions Odoo raises that retrying will not fix.
_PERMANENT = {
    "odoo.exceptions.AccessDenied": "auth",
    "odoo.exceptions.AccessError": "access",
    "odoo.exceptions.MissingError": "missing",
    "odoo.exceptions.ValidationError": "rejected",
    "odoo.exceptions.UserError": "rejected",
    "builtins.KeyError": "model",
    "builtins.ValueError": "rejected",
    "builtins.AttributeError": "rejected",
    "builtins.TypeError": "rejected",
}


class OdooError(Exception):
    """A call to Odoo failed. `detail` is for people (pt-BR); `kind` and `transient` for code."""

    def __init__(self, detail: str, *, kind: str, transient: bool, name: str | None = None,
                 message: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        # unreachable | http | protocol | auth | database | access | missing | rejected | model | server
        self.kind = kind
        self.transient = transient
        self.name = name  # Odoo's exception class, when Odoo said it
        self.message = message


def normalize_url(url: str) -> str:
    """`https://erp.example.com/web#action=1` → `https://erp.example.com` (what /jsonrpc hangs off)."""
    text = (url or "").strip()
    if text and "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("URL do Odoo inválida: use http:// ou https:// e o endereço do servidor")
    path = parts.path
    for marker in ("/web", "/odoo", "/jsonrpc", "/xmlrpc"):
        if marker in path:
            path = path[: path.index(marker)]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))


def partner_url(base_url: str, partner_id: int) -> str:
    """The partner's form in Odoo's web client."""
    return f"{base_url.rstrip('/')}/web#id={int(partner_id)}&model=res.partner&view_type=form"


def _translate(error: dict[str, Any], *, db: str) -> OdooError:
    raw = error.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    name = str(data.get("name") or error.get("message") or "")
    message = str(data.get("message") or error.get("message") or "").strip()
    if name == "odoo.exceptions.AccessDenied":
        return OdooError("O Odoo recusou o login ou a chave de API (confira o usuário e gere uma nova chave "
                         "em Preferências → Segurança da conta)", kind="auth", transient=False, name=name,
                         message=message)
    if "OperationalError" in name and "does not exist" in message:
        return OdooError(f"O banco de dados «{db}» não existe neste Odoo", kind="database", transient=False,
                         name=name, message=message)
    if name == "odoo.exceptions.AccessError":
        return OdooError(f"O usuário do Odoo não tem permissão para isso: {message}", kind="access",
                         transient=False, name=name, message=message)
    if name == "odoo.exceptions.MissingError":
        return OdooError("O registro não existe mais no Odoo", kind="missing", transient=False, name=name,
                         message=message)
    if name == "builtins.KeyError":
        return OdooError(f"O Odoo não tem o modelo {message} (módulo não instalado?)", kind="model",
                         transient=False, name=name, message=message)
    kind = _PERMANENT.get(name)
    if kind is not None:
        return OdooError(f"O Odoo recusou a operação: {message or name}", kind=kind, transient=False, name=name,
                         message=message)
    return OdooError(f"Erro no Odoo ({name or 'desconhecido'}): {message[:300]}", kind="server", transient=True,
                     name=name, message=message)


class OdooClient:
    """One Odoo database, one user. `authenticate()` is called once and its uid kept."""

    def __init__(self, http: httpx.AsyncClient, url: str, db: str, login: str, api_key: str, *,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.http = http
        self.url = normalize_url(url)
        self.db = db
        self.login = login
        self._key = api_key
        self.timeout = timeout
        self.uid: int | None = None
        self._fields: dict[str, dict[str, Any]] = {}

    def __repr__(self) -> str:  # never the key
        return f"OdooClient({self.url!r}, db={self.db!r}, login={self.login!r})"

    async def call(self, service: str, method: str, *args: Any) -> Any:
        body = {"jsonrpc": "2.0", "method": "call", "params": {"service": service, "method": method,
                                                               "args": list(args)}, "id": next(_ids)}
        try:
            response = await self.http.post(f"{self.url}/jsonrpc", json=body, timeout=self.timeout)
        except httpx.TimeoutException:
            raise OdooError(f"O Odoo em {self.url} não respondeu a tempo", kind="unreachable",
                            transient=True) from None
        except httpx.HTTPError as exc:
            raise OdooError(f"Não foi possível conectar ao Odoo em {self.url} ({type(exc).__name__})",
                            kind="unreachable", transient=True) from None
        if response.status_code == 404:
            raise OdooError(f"{self.url} não parece ser um Odoo: /jsonrpc não existe (HTTP 404)", kind="protocol",
                            transient=False)
        if response.status_code >= 500 or response.status_code == 429:
            raise OdooError(f"O Odoo está indisponível (HTTP {response.status_code})", kind="http", transient=True)
        if response.status_code != 200:
            raise OdooError(f"O Odoo respondeu HTTP {response.status_code}", kind="http", transient=False)
        try:
            payload = response.json()
        except ValueError:
            raise OdooError(f"{self.url} não respondeu como um Odoo (a resposta não é JSON)", kind="protocol",
                            transient=False) from None
        if not isinstance(payload, dict) or ("result" not in payload and "error" not in payload):
            raise OdooError(f"{self.url} não respondeu como um Odoo (JSON-RPC inesperado)", kind="protocol",
                            transient=False)
        if payload.get("error"):
            error = payload["error"] if isinstance(payload["error"], dict) else {"message": str(payload["error"])}
            raise _translate(error, db=self.db)
        return payload.get("result")

    async def version(self) -> dict[str, Any]:
        result = await self.call("common", "version")
        if not isinstance(result, dict) or "server_version" not in result:
            raise OdooError(f"{self.url} não respondeu como um Odoo (versão desconhecida)", kind="protocol",
                            transient=False)
        return result

    async def authenticate(self) -> int:
        if self.uid is not None:
            return self.uid
        uid = await self.call("common", "authenticate", self.db, self.login, self._key, {})
        if not uid or isinstance(uid, bool) or not isinstance(uid, int):
            raise OdooError("O Odoo recusou o login ou a chave de API (confira o usuário e gere uma nova chave "
                            "em Preferências → Segurança da conta)", kind="auth", transient=False)
        self.uid = uid
        return uid

    async def execute_kw(self, model: str, method: str, args: list[Any] | None = None,
                         kwargs: dict[str, Any] | None = None) -> Any:
        uid = await self.authenticate()
        return await self.call("object", "execute_kw", self.db, uid, self._key, model, method, args or [],
                               kwargs or {})

    async def search_read(self, model: str, domain: list[Any], fields: list[str], *, limit: int | None = None,
                          order: str | None = None, offset: int = 0,
                          context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"fields": fields}
        if limit:
            kwargs["limit"] = limit
        if order:
            kwargs["order"] = order
        if offset:
            kwargs["offset"] = offset
        if context:
            kwargs["context"] = context
        result = await self.execute_kw(model, "search_read", [domain], kwargs)
        return list(result or [])

    async def search_count(self, model: str, domain: list[Any], *, context: dict[str, Any] | None = None) -> int:
        return int(await self.execute_kw(model, "search_count", [domain], {"context": context} if context else {}))

    async def read(self, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        return list(await self.execute_kw(model, "read", [list(ids)], {"fields": fields}) or [])

    async def create(self, model: str, values: dict[str, Any]) -> int:
        return int(await self.execute_kw(model, "create", [values]))

    async def write(self, model: str, ids: list[int], values: dict[str, Any]) -> bool:
        return bool(await self.execute_kw(model, "write", [list(ids), values]))

    async def message_post(self, model: str, record_id: int, body: str, *, internal: bool = True) -> int:
        """Post on a record's chatter: an internal note (`mail.mt_note`) or a message."""
        result = await self.execute_kw(model, "message_post", [[int(record_id)]], {
            "body": body, "message_type": "comment",
            "subtype_xmlid": "mail.mt_note" if internal else "mail.mt_comment",
        })
        if isinstance(result, list):  # some versions answer [id]
            result = result[0] if result else 0
        return int(result or 0)

    async def fields(self, model: str) -> dict[str, Any]:
        """The model's fields (cached): which optional ones exist depends on the installed modules."""
        if model not in self._fields:
            self._fields[model] = dict(await self.execute_kw(model, "fields_get", [], {"attributes": ["type"]}) or {})
        return self._fields[model]
