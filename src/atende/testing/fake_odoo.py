"""A fake of Odoo 15's external API, holding a ChatRoom (AcruxLab `whatsapp_connector`) installation.

It speaks the real protocol, as Odoo's `odoo/addons/base/controllers/rpc.py` and `odoo/service/`
do, so the bridge is tested against the shapes it meets in production:

- JSON-RPC 2.0 at `/jsonrpc` (`{"method": "call", "params": {"service", "method", "args"}}`), services
  `common` (`version`, `login`, `authenticate`) and `object` (`execute_kw`, `execute`);
- XML-RPC at `/xmlrpc/2/common` and `/xmlrpc/2/object`, with Odoo's integer fault codes
  (1 application error, 2 warning/user error, 3 access denied, 4 access error);
- errors as `{"error": {"code": 200, "message": "Odoo Server Error", "data": {"name":
  "odoo.exceptions.AccessDenied", "message", "arguments", "debug", "context"}}}`, with HTTP 200;
- model methods `search`, `search_read`, `search_count`, `read`, `create`, `write`, `unlink`,
  `fields_get`, `name_get` and `message_post` (internal notes land in `mail.message`);
- Odoo's values: many2one as `[id, "display name"]` or `false`, empty fields as `false`, naive UTC
  datetimes `"YYYY-MM-DD HH:MM:SS"`, binaries as base64 text, archived records hidden unless
  `context={"active_test": False}` or the domain names `active`;
- authentication by password or API key; as in Odoo 15 (`res_users.py`, `APIKeysUser`), an API key
  is accepted only where the login is not interactive: the external API, never `/web/session/authenticate`.

Faults can be injected (`fail_next`) and every model call is counted (`calls`), so tests can check
retries, page sizes and that nothing is posted twice. `populate_chatroom` builds a whole ChatRoom
installation (connectors of every type, partners with formatted phones, agents, conversations and
messages of every ttype with attachments and info lines, plus the bad data a real one holds).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import random
import re
import secrets
import traceback
import xmlrpc.client
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SERVER_VERSION = "15.0"
VERSION_INFO = {
    "server_version": "15.0",
    "server_version_info": [15, 0, 0, "final", 0, ""],
    "server_serie": "15.0",
    "protocol_version": 1,
}
DT_FORMAT = "%Y-%m-%d %H:%M:%S"
API_KEY_SIZE = 20  # bytes, hex-encoded: 40 characters (res.users.apikeys)

# XML-RPC fault codes (odoo/addons/base/controllers/rpc.py)
FAULT_APPLICATION = 1
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4


def odoo_datetime(moment: datetime) -> str:
    """Aware or naive-UTC datetime → Odoo's wire format (naive UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime(DT_FORMAT)


# ---- errors ------------------------------------------------------------------------------------

class OdooException(Exception):
    """An exception raised "inside Odoo": `name` is the dotted class name Odoo reports."""

    name = "odoo.exceptions.UserError"
    fault_code = FAULT_WARNING

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccessDenied(OdooException):
    name = "odoo.exceptions.AccessDenied"
    fault_code = FAULT_ACCESS_DENIED

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class AccessError(OdooException):
    name = "odoo.exceptions.AccessError"
    fault_code = FAULT_ACCESS_ERROR


class MissingError(OdooException):
    name = "odoo.exceptions.MissingError"
    fault_code = FAULT_WARNING


class UserError(OdooException):
    name = "odoo.exceptions.UserError"
    fault_code = FAULT_WARNING


class ValidationError(OdooException):
    name = "odoo.exceptions.ValidationError"
    fault_code = FAULT_WARNING


class ServerError(OdooException):
    """Any other Python exception inside Odoo (KeyError, ValueError, psycopg2 errors…)."""

    fault_code = FAULT_APPLICATION

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


# ---- models ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class F:
    """A field: Odoo type, label, comodel of relational fields, stored or search-only."""

    type: str
    string: str = ""
    relation: str | None = None
    store: bool = True
    selection: tuple[str, ...] = ()


def _common() -> dict[str, F]:
    return {"id": F("integer", "ID"), "display_name": F("char", "Display Name", store=False),
            "create_date": F("datetime", "Created on"), "write_date": F("datetime", "Last Updated on")}


TTYPES = ("text", "image", "audio", "video", "file", "location", "sticker", "contact", "url", "product",
          "info", "info_comment", "info_hidden")
CONNECTOR_TYPES = ("not_set", "apichat.io", "gupshup", "facebook", "instagram", "waba_extern")

MODELS: dict[str, dict[str, F]] = {
    "ir.model": {"name": F("char", "Model Description"), "model": F("char", "Model")},
    "res.company": {"name": F("char", "Company Name")},
    "res.users": {
        "name": F("char", "Name"), "login": F("char", "Login"), "email": F("char", "Email"),
        "active": F("boolean", "Active"), "share": F("boolean", "Share User"),
        "partner_id": F("many2one", "Related Partner", "res.partner"),
        "company_id": F("many2one", "Company", "res.company"),
    },
    "res.partner": {
        "name": F("char", "Name"), "email": F("char", "Email"), "vat": F("char", "Tax ID"),
        "phone": F("char", "Phone"), "mobile": F("char", "Mobile"), "active": F("boolean", "Active"),
        "is_company": F("boolean", "Is a Company"), "comment": F("text", "Notes"),
        "company_id": F("many2one", "Company", "res.company"),
        # mail.thread.phone (phone_validation): E.164 of mobile, else phone; and a search-only field
        # that compares numbers without their formatting.
        "phone_sanitized": F("char", "Sanitized Number"),
        "phone_mobile_search": F("char", "Phone/Mobile", store=False),
        # ChatRoom (ResPartner.py): normalised numbers, comma separated, to match conversations.
        "conv_standard_numbers": F("char", "Standard numbers"),
    },
    "acrux.chat.connector": {
        "name": F("char", "Name"), "sequence": F("integer", "Priority"), "source": F("char", "Source"),
        "connector_type": F("selection", "Connect to", selection=CONNECTOR_TYPES),
        "uuid": F("char", "Account ID"), "active": F("boolean", "Active"),
        "company_id": F("many2one", "Company", "res.company"),
        "time_to_respond": F("integer", "Time to Respond"),
    },
    "acrux.chat.conversation": {
        "name": F("char", "Name"), "number": F("char", "Base number"), "number_format": F("char", "Number"),
        "conv_type": F("selection", "Type", selection=("normal", "private", "group")),
        "connector_id": F("many2one", "Connector", "acrux.chat.connector"),
        "res_partner_id": F("many2one", "Client", "res.partner"),
        "status": F("selection", "Status", selection=("new", "current", "done")),
        "agent_id": F("many2one", "Agent", "res.users"),
        "last_activity": F("datetime", "Last activity"), "last_sent": F("datetime", "Last sent"),
        "last_received": F("datetime", "Last Received"),
        "company_id": F("many2one", "Company", "res.company"),
    },
    "acrux.chat.message": {
        "name": F("char", "name"), "text": F("text", "Message"),
        "ttype": F("selection", "Type", selection=TTYPES), "msgid": F("char", "Message Id"),
        "contact_id": F("many2one", "Contact", "acrux.chat.conversation"),
        "connector_id": F("many2one", "Connector", "acrux.chat.connector"),
        "date_message": F("datetime", "Date"), "read_date": F("datetime", "Read Date"),
        "from_me": F("boolean", "Message From Me"), "error_msg": F("char", "Error Message"),
        "event": F("selection", "Event", selection=("unanswered", "to_new", "to_curr", "to_done")),
        "user_id": F("many2one", "Agent", "res.users"), "active": F("boolean", "Active"),
        "res_model": F("char", "Model"), "res_id": F("integer", "Id"),
        "company_id": F("many2one", "Company", "res.company"),
    },
    "ir.attachment": {
        "name": F("char", "Name"), "mimetype": F("char", "Mime Type"), "datas": F("binary", "File Content"),
        "file_size": F("integer", "File Size"), "checksum": F("char", "Checksum/SHA1"),
        "res_model": F("char", "Resource Model"), "res_id": F("many2one_reference", "Resource ID"),
        "type": F("selection", "Type", selection=("url", "binary")),
    },
    "mail.message.subtype": {"name": F("char", "Message Type")},
    "mail.message": {
        "model": F("char", "Related Document Model"), "res_id": F("many2one_reference", "Related Document ID"),
        "body": F("html", "Contents"), "message_type": F("selection", "Type",
                                                         selection=("email", "comment", "notification")),
        "subtype_id": F("many2one", "Subtype", "mail.message.subtype"),
        "author_id": F("many2one", "Author", "res.partner"), "date": F("datetime", "Date"),
    },
}
for _fields in MODELS.values():
    _fields.update(_common())

# Models whose records accept message_post (mail.thread).
MAIL_THREAD = frozenset({"res.partner", "acrux.chat.conversation"})
DEFAULT_ORDER = {"acrux.chat.message": "date_message desc, id desc", "acrux.chat.conversation": "last_activity desc",
                 "res.partner": "display_name", "mail.message": "id desc"}


def _strip_phone(value: str) -> str:
    return re.sub(r"[^\d+]+", "", value)


def sanitize_phone(number: str | None, region: str = "BR") -> str | None:
    """What Odoo's phone_validation stores in phone_sanitized: E.164 when the number is valid."""
    if not number:
        return None
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def standard_number(number: str | None, country_code: str = "55") -> str | None:
    """ChatRoom's parse_num: the digits, with the country's phone code in front."""
    digits = re.sub(r"\D", "", number or "").lstrip("0")
    if not digits:
        return None
    return digits if digits.startswith(country_code) and len(digits) > 11 else country_code + digits


class Store:
    """Records per model, ids ascending (so `id >` pages are a bisect away)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in MODELS}
        self.ids: dict[str, list[int]] = {m: [] for m in MODELS}
        self.next_id: dict[str, int] = dict.fromkeys(MODELS, 1)
        self.blobs: dict[int, bytes] = {}  # ir.attachment id → bytes (datas, decoded)

    def insert(self, model: str, values: dict[str, Any], now: str) -> int:
        values = _unset_false(model, values)
        rid = self.next_id[model]
        self.next_id[model] = rid + 1
        record = {"id": rid, "create_date": values.pop("create_date", now), "write_date": values.pop("write_date", now)}
        if "active" in MODELS[model]:
            record["active"] = True
        record.update(values)
        self.records[model][rid] = record
        self.ids[model].append(rid)
        return rid


def _unset_false(model: str, values: dict[str, Any]) -> dict[str, Any]:
    """Odoo writes `false` as NULL for every non-boolean field (and reads NULL back as `false`)."""
    fields = MODELS[model]
    return {k: (None if v is False and k in fields and fields[k].type != "boolean" else v) for k, v in values.items()}


# ---- domains ------------------------------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]


class Domains:
    def __init__(self, odoo: FakeOdoo) -> None:
        self.odoo = odoo

    def compile(self, model: str, domain: list[Any]) -> Predicate:
        if not isinstance(domain, list):
            raise ServerError("builtins.ValueError", f"Invalid domain {domain!r}")
        stack: list[Predicate] = []
        # Polish notation, read backwards; implicit '&' between the remaining terms.
        for term in reversed(domain):
            if term == "&" or term == "|":
                if len(stack) < 2:
                    raise ServerError("builtins.ValueError", f"Invalid domain {domain!r}")
                stack.append(_combine(term, stack.pop(), stack.pop()))
            elif term == "!":
                if not stack:
                    raise ServerError("builtins.ValueError", f"Invalid domain {domain!r}")
                stack.append(_negate(stack.pop()))
            elif isinstance(term, list | tuple) and len(term) == 3:
                stack.append(self.leaf(model, str(term[0]), str(term[1]), term[2]))
            else:
                raise ServerError("builtins.ValueError", f"Invalid leaf {term!r}")
        preds = list(reversed(stack))
        if not preds:
            return lambda r: True
        if len(preds) == 1:
            return preds[0]
        return lambda r: all(p(r) for p in preds)

    def leaf(self, model: str, name: str, op: str, value: Any) -> Predicate:
        fields = MODELS[model]
        if name not in fields:
            raise ServerError("builtins.ValueError", f"Invalid field {name!r} on model {model!r}")
        spec = fields[name]
        if model == "res.partner" and name == "phone_mobile_search":
            return self._phone_search(op, value)
        if name == "display_name":
            return self._compare(lambda r: self.odoo.display_name(model, r), op, value)
        if spec.type == "many2one" and isinstance(value, str) and op in ("like", "ilike", "=like", "=ilike",
                                                                             "not like", "not ilike"):
            comodel = spec.relation or ""
            return self._compare(
                lambda r: self.odoo.display_name(comodel, self.odoo.store.records[comodel].get(r.get(name) or 0))
                if r.get(name) else None, op, value)
        return self._compare(lambda r: r.get(name), op, value, boolean=spec.type == "boolean")

    def _phone_search(self, op: str, value: Any) -> Predicate:
        # mail.thread.phone._search_phone_mobile_search (Odoo 15): formatting ignored on both sides.
        text = str(value or "").strip()
        if len(text) < 3:
            raise UserError("Please enter at least 3 characters when searching a Phone/Mobile number.")
        digits = re.sub(r"\D", "", text)
        if text.startswith("+") or text.startswith("00"):
            pattern = re.compile(r"^(00|\+)" + re.escape(digits[2:] if text.startswith("00") else digits))
        else:
            pattern = re.compile(re.escape(digits))
        positive = op in ("=", "like", "ilike", "=like", "=ilike")

        def match(r: dict[str, Any]) -> bool:
            found = any(pattern.search(_strip_phone(r.get(f) or "")) for f in ("phone", "mobile"))
            return found if positive else not found
        return match

    @staticmethod
    def _compare(get: Callable[[dict[str, Any]], Any], op: str, value: Any, *, boolean: bool = False) -> Predicate:
        if value is False and not boolean and op in ("=", "!="):
            value = None
        if boolean and op in ("=", "!="):
            want = bool(value)
            return (lambda r: bool(get(r)) == want) if op == "=" else (lambda r: bool(get(r)) != want)
        if op == "=":
            return lambda r: get(r) == value
        if op == "!=":
            return lambda r: get(r) != value
        if op in ("<", ">", "<=", ">="):
            import operator

            fn = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}[op]

            def cmp(r: dict[str, Any]) -> bool:
                v = get(r)
                return v is not None and v is not False and fn(v, value)
            return cmp
        if op in ("in", "not in"):
            wanted = {None if v is False else v for v in (value if isinstance(value, list | tuple) else [value])}
            return (lambda r: get(r) in wanted) if op == "in" else (lambda r: get(r) not in wanted)
        if op in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
            sensitive = op in ("like", "not like", "=like")
            text = str(value)
            if op.startswith("="):
                regex = "^" + "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in text) + "$"
            else:
                regex = re.escape(text)
            pattern = re.compile(regex, 0 if sensitive else re.IGNORECASE | re.DOTALL)
            negative = op.startswith("not")

            def like(r: dict[str, Any]) -> bool:
                v = get(r)
                found = v not in (None, False) and pattern.search(str(v)) is not None
                return not found if negative else found
            return like
        raise ServerError("builtins.ValueError", f"Invalid operator {op!r}")


def _combine(op: str, a: Predicate, b: Predicate) -> Predicate:
    if op == "&":
        return lambda r: a(r) and b(r)
    return lambda r: a(r) or b(r)


def _negate(a: Predicate) -> Predicate:
    return lambda r: not a(r)


# ---- fault injection --------------------------------------------------------------------------

@dataclass
class Fault:
    """Make matching calls fail: an Odoo exception (`error`), or an HTTP status from the proxy."""

    model: str | None = None
    method: str | None = None
    error: str = "odoo.exceptions.UserError"
    message: str = "Erro simulado"
    http_status: int | None = None
    skip: int = 0  # let this many matching calls through first
    times: int = 1

    def matches(self, model: str | None, method: str | None) -> bool:
        return (self.model is None or self.model == model) and (self.method is None or self.method == method)


# ---- the fake ----------------------------------------------------------------------------------

@dataclass
class FakeOdoo:
    databases: set[str] = field(default_factory=lambda: {"odoo"})
    store: Store = field(default_factory=Store)
    passwords: dict[int, str] = field(default_factory=dict)  # uid → password
    api_keys: dict[str, int] = field(default_factory=dict)  # key → uid
    faults: list[Fault] = field(default_factory=list)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model, method) → count
    log: list[dict[str, Any]] = field(default_factory=list)  # model calls, newest last (kwargs kept)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    keep_log: int = 500

    def __post_init__(self) -> None:
        self.domains = Domains(self)
        self.app = Starlette(routes=[
            Route("/jsonrpc", self._jsonrpc, methods=["POST"]),
            Route("/xmlrpc/2/{service}", self._xmlrpc, methods=["POST"]),
            Route("/web/session/authenticate", self._web_authenticate, methods=["POST"]),
            Route("/web/webclient/version_info", self._web_version, methods=["POST"]),
        ])
        if not self.store.records["res.company"]:
            for model in MODELS:
                self.create_record("ir.model", {"model": model, "name": model})
            self.create_record("res.company", {"name": "Empresa Demo"})
            self.create_record("mail.message.subtype", {"name": "Note"})
            self.create_record("mail.message.subtype", {"name": "Discussions"})

    # -- data helpers (tests and generators call these directly) -------------------------------
    def now(self) -> str:
        return odoo_datetime(self.clock())

    def create_record(self, model: str, values: dict[str, Any]) -> int:
        values = dict(values)
        if model == "ir.attachment" and "datas" in values:
            raw = values.pop("datas")
            data = base64.b64decode(raw) if isinstance(raw, str) else (raw or b"")
            values.setdefault("file_size", len(data))
            values.setdefault("checksum", hashlib.sha1(data).hexdigest() if data else None)
            rid = self.store.insert(model, values, self.now())
            if data:
                self.store.blobs[rid] = data
            return rid
        rid = self.store.insert(model, values, self.now())
        self._recompute(model, self.store.records[model][rid])
        return rid

    def write_record(self, model: str, rid: int, values: dict[str, Any], *, touch: bool = True) -> None:
        record = self.store.records[model].get(rid)
        if record is None:
            raise MissingError("Record does not exist or has been deleted.\n"
                               f"(Record: {model}({rid},), User: 2)")
        record.update(_unset_false(model, values))
        if touch:
            record["write_date"] = self.now()
        self._recompute(model, record)

    def _recompute(self, model: str, record: dict[str, Any]) -> None:
        if model == "res.partner":
            record["phone_sanitized"] = sanitize_phone(record.get("mobile")) or sanitize_phone(record.get("phone"))
            numbers = [n for n in (standard_number(record.get("mobile")), standard_number(record.get("phone"))) if n]
            record["conv_standard_numbers"] = ",".join(dict.fromkeys(numbers)) or None
        elif model == "acrux.chat.message":
            text = record.get("text")
            record["name"] = text[:10] if text else "/"

    def add_user(self, login: str, name: str, *, password: str = "senha-admin", email: str | None = None,
                 active: bool = True) -> int:
        partner = self.create_record("res.partner", {"name": name, "email": email or login})
        return self.create_record("res.users", {"login": login, "name": name, "email": email or login,
                                                "active": active, "share": False, "partner_id": partner,
                                                "company_id": 1})

    def set_password(self, uid: int, password: str) -> None:
        self.passwords[uid] = password

    def new_api_key(self, uid: int) -> str:
        key = secrets.token_hex(API_KEY_SIZE)
        self.api_keys[key] = uid
        return key

    def display_name(self, model: str, record: dict[str, Any] | None) -> str:
        if record is None:
            return ""
        if model == "acrux.chat.conversation":
            return f"{record.get('name') or ''} ({record.get('number_format') or record.get('number') or ''})"
        if model == "ir.attachment":
            return str(record.get("name") or "")
        return str(record.get("name") or record.get("login") or f"{model},{record['id']}")

    def fail_next(self, *, model: str | None = None, method: str | None = None,
                  error: str = "odoo.exceptions.UserError", message: str = "Erro simulado",
                  http_status: int | None = None, skip: int = 0, times: int = 1) -> Fault:
        fault = Fault(model=model, method=method, error=error, message=message, http_status=http_status,
                      skip=skip, times=times)
        self.faults.append(fault)
        return fault

    def _fault_for(self, model: str | None, method: str | None, *, http: bool = False) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and (fault.http_status is not None) == http and fault.matches(model, method):
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.times -= 1
                return fault
        return None

    # -- authentication ---------------------------------------------------------------------------
    def _check_db(self, db: Any) -> None:
        if db not in self.databases:
            raise ServerError("psycopg2.OperationalError",
                              f'connection to server failed: FATAL:  database "{db}" does not exist\n')

    def _uid_for_login(self, login: Any) -> int | None:
        for uid, user in self.store.records["res.users"].items():
            if user.get("login") == login and user.get("active"):
                return uid
        return None

    def _check_credentials(self, uid: int, password: Any, *, interactive: bool) -> None:
        if not isinstance(password, str) or not password:
            raise AccessDenied()
        user = self.store.records["res.users"].get(uid)
        if user is None or not user.get("active"):
            raise AccessDenied()
        if self.passwords.get(uid) == password:
            return
        # res.users.apikeys: only for non-interactive logins (RPC), never for a web session.
        if not interactive and self.api_keys.get(password) == uid:
            return
        raise AccessDenied()

    def authenticate(self, db: Any, login: Any, password: Any, *, interactive: bool = False) -> int | bool:
        self._check_db(db)
        uid = self._uid_for_login(login)
        if uid is None:
            return False
        try:
            self._check_credentials(uid, password, interactive=interactive)
        except AccessDenied:
            return False
        return uid

    # -- dispatch ---------------------------------------------------------------------------------
    def dispatch(self, service: str, method: str, args: list[Any]) -> Any:
        if service == "common":
            if method == "version":
                return dict(VERSION_INFO)
            if method == "about":
                return "See http://openerp.com"
            if method == "login":
                db, login, password = (list(args) + [None] * 3)[:3]
                return self.authenticate(db, login, password)
            if method == "authenticate":
                db, login, password = (list(args) + [None] * 3)[:3]
                return self.authenticate(db, login, password)
            raise ServerError("builtins.NameError", f"Method not available {method}")
        if service == "object":
            if method not in ("execute", "execute_kw"):
                raise ServerError("builtins.NameError", f"Method not available {method}")
            if len(args) < 5:
                raise ServerError("builtins.TypeError", f"{method}() missing required positional arguments")
            db, uid, password, model, model_method = args[:5]
            self._check_db(db)
            if not isinstance(uid, int) or isinstance(uid, bool):
                raise AccessDenied()
            self._check_credentials(uid, password, interactive=False)
            if method == "execute_kw":
                call_args = list(args[5]) if len(args) > 5 and args[5] is not None else []
                kwargs = dict(args[6]) if len(args) > 6 and args[6] else {}
            else:
                call_args, kwargs = list(args[5:]), {}
            return self.call(uid, str(model), str(model_method), call_args, kwargs)
        if service == "db":
            if method == "list":
                return sorted(self.databases)
            raise AccessDenied()
        raise ServerError("builtins.Exception", f"No such service {service!r}")

    def call(self, uid: int, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.calls[(model, method)] += 1
        self.log.append({"model": model, "method": method, "args": args, "kwargs": kwargs})
        if len(self.log) > self.keep_log:
            del self.log[: len(self.log) - self.keep_log]
        fault = self._fault_for(model, method)
        if fault is not None:
            raise ServerError(fault.error, fault.message) if not fault.error.startswith("odoo.exceptions.") \
                else _odoo_error(fault.error, fault.message)
        if model not in MODELS:
            raise ServerError("builtins.KeyError", model)
        context = kwargs.pop("context", None) or {}
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            raise ServerError("builtins.AttributeError",
                              f"The method '{method}' does not exist on the model '{model}'")
        try:
            return handler(uid, model, context, *args, **kwargs)
        except TypeError as exc:
            raise ServerError("builtins.TypeError", str(exc)) from None

    # -- model methods ----------------------------------------------------------------------------
    def _records(self, model: str, domain: list[Any], context: dict[str, Any], order: str | None = None,
                 offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        domain = list(domain or [])
        fields = MODELS[model]
        if "active" in fields and context.get("active_test", True) and not _mentions(domain, "active"):
            domain = [("active", "=", True), *domain]  # terms side by side are ANDed
        predicate = self.domains.compile(model, domain)
        order = (order or DEFAULT_ORDER.get(model) or "id").strip()
        records = self.store.records[model]
        ids = self.store.ids[model]
        start_after = _id_floor(domain) if order in ("id", "id asc", "id ASC") else None
        out: list[dict[str, Any]] = []
        if start_after is not None:
            # `id >` pagination in id order: start where the page starts, stop when it is full.
            position = bisect.bisect_right(ids, start_after)
            skipped = 0
            for rid in ids[position:]:
                record = records[rid]
                if predicate(record):
                    if skipped < offset:
                        skipped += 1
                        continue
                    out.append(record)
                    if limit and len(out) >= limit:
                        break
            return out
        matched = [records[rid] for rid in ids if predicate(records[rid])]
        matched = _sort(matched, order, lambda r: self.display_name(model, r))
        end = offset + limit if limit else None
        return matched[offset:end]

    def _m_search(self, uid: int, model: str, context: dict[str, Any], domain: list[Any] | None = None,
                  offset: int = 0, limit: int | None = None, order: str | None = None, count: bool = False) -> Any:
        records = self._records(model, domain or [], context, order, offset, limit)
        return len(records) if count else [r["id"] for r in records]

    def _m_search_count(self, uid: int, model: str, context: dict[str, Any], domain: list[Any] | None = None,
                        limit: int | None = None) -> int:
        return len(self._records(model, domain or [], context, "id", 0, limit))

    def _m_search_read(self, uid: int, model: str, context: dict[str, Any], domain: list[Any] | None = None,
                       fields: list[str] | None = None, offset: int = 0, limit: int | None = None,
                       order: str | None = None) -> list[dict[str, Any]]:
        records = self._records(model, domain or [], context, order, offset, limit)
        return [self.render(model, r, fields) for r in records]

    def _m_read(self, uid: int, model: str, context: dict[str, Any], ids: Any = None,
                fields: list[str] | None = None, load: str = "_classic_read") -> list[dict[str, Any]]:
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        out = []
        missing = [i for i in ids if i not in self.store.records[model]]
        if missing:
            raise MissingError("Record does not exist or has been deleted.\n"
                               f"(Record: {model}({', '.join(map(str, missing))},), User: {uid})")
        for rid in ids:
            out.append(self.render(model, self.store.records[model][rid], fields))
        return out

    def _m_name_get(self, uid: int, model: str, context: dict[str, Any], ids: Any = None) -> list[list[Any]]:
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        return [[i, self.display_name(model, self.store.records[model].get(i))] for i in ids]

    def _m_fields_get(self, uid: int, model: str, context: dict[str, Any], allfields: list[str] | None = None,
                      attributes: list[str] | None = None) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for name, spec in MODELS[model].items():
            if allfields and name not in allfields:
                continue
            info: dict[str, Any] = {"type": spec.type, "string": spec.string or name, "store": spec.store,
                                    "searchable": True, "readonly": name in ("id", "create_date", "write_date")}
            if spec.relation:
                info["relation"] = spec.relation
            if spec.selection:
                info["selection"] = [[s, s.replace("_", " ").title()] for s in spec.selection]
            out[name] = {k: v for k, v in info.items() if not attributes or k in attributes}
        return out

    def _m_create(self, uid: int, model: str, context: dict[str, Any], vals: Any = None) -> Any:
        many = isinstance(vals, list)
        rows = vals if many else [vals]
        ids = []
        for row in rows:
            if not isinstance(row, dict):
                raise ServerError("builtins.ValueError", f"Invalid values {row!r}")
            self._check_fields(model, row)
            if model == "res.partner" and not row.get("name"):
                raise ValidationError("Contacts require a name")
            ids.append(self.create_record(model, row))
            if model == "acrux.chat.message":
                self._conversation_activity(self.store.records[model][ids[-1]])
        return ids if many else ids[0]

    def _conversation_activity(self, message: dict[str, Any]) -> None:
        """ChatRoom's conversation_update_time: a new message moves its conversation's times."""
        ttype = str(message.get("ttype") or "")
        conv = self.store.records["acrux.chat.conversation"].get(message.get("contact_id") or 0)
        if conv is None or ttype.startswith("info"):
            return
        stamp = message.get("date_message") or self.now()
        key = "last_sent" if message.get("from_me") else "last_received"
        self.write_record("acrux.chat.conversation", conv["id"], {
            key: stamp, "last_activity": max(stamp, conv.get("last_activity") or stamp)})

    def _m_write(self, uid: int, model: str, context: dict[str, Any], ids: Any = None, vals: Any = None) -> bool:
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        self._check_fields(model, vals or {})
        for rid in ids:
            self.write_record(model, rid, dict(vals or {}))
        return True

    def _m_unlink(self, uid: int, model: str, context: dict[str, Any], ids: Any = None) -> bool:
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        for rid in ids:
            if self.store.records[model].pop(rid, None) is not None:
                self.store.ids[model].remove(rid)
        return True

    def _m_message_post(self, uid: int, model: str, context: dict[str, Any], ids: Any = None,
                        body: str = "", message_type: str = "notification", subtype_xmlid: str | None = None,
                        subject: str | None = None, **_: Any) -> int:
        if model not in MAIL_THREAD:
            raise ServerError("builtins.AttributeError",
                              f"The method 'message_post' does not exist on the model '{model}'")
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if len(ids) != 1:
            raise ServerError("builtins.ValueError", f"Expected singleton: {model}({', '.join(map(str, ids))})")
        if ids[0] not in self.store.records[model]:
            raise MissingError("Record does not exist or has been deleted.\n"
                               f"(Record: {model}({ids[0]},), User: {uid})")
        subtype = {"mail.mt_note": 1, "mail.mt_comment": 2}.get(subtype_xmlid or "mail.mt_note", 1)
        author = self.store.records["res.users"][uid].get("partner_id")
        return self.create_record("mail.message", {
            "model": model, "res_id": ids[0], "body": body, "message_type": message_type, "subtype_id": subtype,
            "author_id": author, "date": self.now(),
        })

    def _check_fields(self, model: str, vals: dict[str, Any]) -> None:
        for name in vals:
            if name not in MODELS[model]:
                raise ServerError("builtins.ValueError", f"Invalid field {name!r} on model {model!r}")

    def render(self, model: str, record: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        """A record as Odoo's read() returns it."""
        spec = MODELS[model]
        names = [f for f in (fields or [n for n, s in spec.items() if s.store or n == "display_name"])
                 if f != "phone_mobile_search"]
        out: dict[str, Any] = {"id": record["id"]}
        for name in names:
            if name not in spec:
                continue  # Odoo ignores unknown fields in read (with a warning)
            ftype = spec[name].type
            if name == "display_name":
                out[name] = self.display_name(model, record)
                continue
            value = record.get(name)
            if ftype == "many2one":
                comodel = spec[name].relation or ""
                target = self.store.records[comodel].get(value) if value else None
                out[name] = [value, self.display_name(comodel, target)] if target is not None else False
            elif ftype == "binary":
                blob = self.store.blobs.get(record["id"]) if model == "ir.attachment" else None
                out[name] = base64.b64encode(blob).decode() if blob else False
            elif ftype in ("integer", "many2one_reference"):
                out[name] = int(value or 0)
            elif ftype == "boolean":
                out[name] = bool(value)
            else:
                out[name] = value if value not in (None, "") else False
        return out

    # -- HTTP ---------------------------------------------------------------------------------------
    async def _jsonrpc(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
            params = payload["params"]
            request_id = payload.get("id")
            args = list(params.get("args") or [])
        except (ValueError, KeyError, TypeError, AttributeError):
            return Response("Invalid JSON data", status_code=400)
        model = method = None
        if params.get("service") == "object" and len(args) >= 5:
            model, method = str(args[3]), str(args[4])
        http_fault = self._fault_for(model, method, http=True)
        if http_fault is not None:  # the reverse proxy answers: Odoo is restarting, say
            return Response("<html><body><h1>502 Bad Gateway</h1></body></html>",
                            status_code=http_fault.http_status or 502, media_type="text/html")
        try:
            result = self.dispatch(str(params.get("service")), str(params.get("method")), args)
        except OdooException as exc:
            return JSONResponse({"jsonrpc": "2.0", "id": request_id, "error": _json_error(exc)})
        except Exception as exc:  # a bug in Odoo: still the same shape
            return JSONResponse({"jsonrpc": "2.0", "id": request_id,
                                 "error": _json_error(ServerError(f"builtins.{type(exc).__name__}", str(exc)))})
        return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result})

    async def _xmlrpc(self, request: Request) -> Response:
        service = request.path_params["service"]
        try:
            args, method = xmlrpc.client.loads(await request.body(), use_datetime=False)
            result = self.dispatch(service, str(method), list(args))
            body = xmlrpc.client.dumps((_no_none(result),), methodresponse=True, allow_none=False)
        except OdooException as exc:
            text = exc.message if exc.fault_code != FAULT_APPLICATION else \
                f"Traceback (most recent call last):\n{exc.name}: {exc.message}"
            body = xmlrpc.client.dumps(xmlrpc.client.Fault(exc.fault_code, text), allow_none=False)
        except Exception as exc:
            body = xmlrpc.client.dumps(xmlrpc.client.Fault(FAULT_APPLICATION, traceback.format_exc() or str(exc)))
        return Response(body, media_type="text/xml")

    async def _web_authenticate(self, request: Request) -> Response:
        """The web client's session login: interactive, so API keys are refused (Odoo 15)."""
        try:
            payload = json.loads(await request.body())
            params = payload.get("params") or {}
        except ValueError:
            return Response("Invalid JSON data", status_code=400)
        try:
            self._check_db(params.get("db"))
            uid = self._uid_for_login(params.get("login"))
            if uid is None:
                raise AccessDenied()
            self._check_credentials(uid, params.get("password"), interactive=True)
        except OdooException as exc:
            return JSONResponse({"jsonrpc": "2.0", "id": payload.get("id"), "error": _json_error(exc)})
        response = JSONResponse({"jsonrpc": "2.0", "id": payload.get("id"),
                                 "result": {"uid": uid, "db": params.get("db"), "server_version": SERVER_VERSION}})
        response.set_cookie("session_id", secrets.token_hex(20))
        return response

    async def _web_version(self, request: Request) -> Response:
        return JSONResponse({"jsonrpc": "2.0", "id": None, "result": dict(VERSION_INFO)})


def _odoo_error(name: str, message: str) -> OdooException:
    classes: dict[str, type[OdooException]] = {
        "odoo.exceptions.AccessDenied": AccessDenied, "odoo.exceptions.AccessError": AccessError,
        "odoo.exceptions.MissingError": MissingError, "odoo.exceptions.ValidationError": ValidationError,
        "odoo.exceptions.UserError": UserError,
    }
    cls = classes.get(name)
    if cls is AccessDenied:
        return AccessDenied(message)
    if cls is not None:
        return cls(message)
    return ServerError(name, message)


def _json_error(exc: OdooException) -> dict[str, Any]:
    # odoo.http.serialize_exception, wrapped as JsonRPCDispatcher.handle_error does.
    return {"code": 200, "message": "Odoo Server Error", "data": {
        "name": exc.name, "debug": f"Traceback (most recent call last):\n  ...\n{exc.name}: {exc.message}\n",
        "message": exc.message, "arguments": [exc.message], "context": {},
    }}


def _no_none(value: Any) -> Any:
    if value is None:
        return False
    if isinstance(value, dict):
        return {str(k): _no_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_no_none(v) for v in value]
    return value


def _mentions(domain: list[Any], name: str) -> bool:
    return any(isinstance(t, list | tuple) and len(t) == 3 and t[0] == name for t in domain)


def _is_single_term(domain: list[Any]) -> bool:
    return len(domain) == 1


def _id_floor(domain: list[Any]) -> int | None:
    """N when the domain is a plain conjunction holding ('id', '>', N) (the import's page query)."""
    if any(t in ("|", "!") for t in domain):
        return None
    for term in domain:
        if isinstance(term, list | tuple) and len(term) == 3 and term[0] == "id" and term[1] == ">" \
                and isinstance(term[2], int):
            return int(term[2])
    return None


def _sort(records: list[dict[str, Any]], order: str, display: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        bits = part.split()
        name, desc = bits[0], len(bits) > 1 and bits[1].lower() == "desc"

        def key(r: dict[str, Any], name: str = name) -> tuple[int, Any]:
            v = display(r) if name == "display_name" else r.get(name)
            return (0, "") if v in (None, False) else (1, v)
        records = sorted(records, key=key, reverse=desc)
    return records


# ---- a generated ChatRoom installation -----------------------------------------------------------

@dataclass
class ChatRoomData:
    """What populate_chatroom created, for assertions."""

    connectors: dict[int, str] = field(default_factory=dict)  # id → connector_type
    conversations: list[int] = field(default_factory=list)
    messages: list[int] = field(default_factory=list)
    attachments: dict[int, bytes] = field(default_factory=dict)  # message id → bytes
    agents: list[int] = field(default_factory=list)
    partners: list[int] = field(default_factory=list)
    admin_uid: int = 0
    api_key: str = ""
    ttypes: Counter[str] = field(default_factory=Counter)
    bad: dict[str, list[int]] = field(default_factory=dict)  # kind of bad data → record ids


CONNECTOR_PLAN = ("waba_extern", "apichat.io", "gupshup", "facebook", "instagram")
MEDIA_TTYPES = {"image": ("image/jpeg", "foto.jpg"), "audio": ("audio/ogg", "audio.ogg"),
                "video": ("video/mp4", "video.mp4"), "file": ("application/pdf", "boleto.pdf"),
                "sticker": ("image/webp", "figurinha.webp")}
TEXT_TTYPES = ("text", "text", "text", "text", "text", "text", "location", "contact", "url")


def _phone_formats(rng: random.Random, national: str) -> str:
    """A Brazilian mobile written the ways people type it in Odoo."""
    ddd, rest = national[:2], national[2:]
    return rng.choice([
        f"+55 {ddd} {rest[:5]}-{rest[5:]}", f"({ddd}) {rest[:5]}-{rest[5:]}", f"55{ddd}{rest}",
        f"+55{ddd}{rest}", f"{ddd} {rest}", f"0{ddd} {rest[:5]} {rest[5:]}",
    ])


def populate_chatroom(
    fake: FakeOdoo, *, conversations: int = 60, messages: int = 900, connectors_per_type: int = 2,
    agents: int = 4, seed: int = 7, start: datetime | None = None, attachment_every: int = 9,
    attachment_size: int = 600, bad_data: bool = True, admin_login: str = "admin@empresa.com.br",
) -> ChatRoomData:
    """Fill the fake with a ChatRoom installation; returns what was made.

    Numbers: WhatsApp conversations use 13-digit numbers, some 12-digit (pre-9th-digit) ones; partners
    keep formatted phones. Every ttype appears, with attachments on media messages (some without
    bytes) and info lines; `bad_data` adds an unknown ttype, a duplicated msgid and an attachment
    pointing nowhere.
    """
    rng = random.Random(seed)
    data = ChatRoomData()
    start = start or datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    admin = fake.add_user(admin_login, "Administrador", email=admin_login)
    fake.set_password(admin, "senha-admin")
    data.admin_uid = admin
    data.api_key = fake.new_api_key(admin)
    for i in range(agents):
        uid = fake.add_user(f"agente{i + 1}@empresa.com.br", f"Agente {i + 1}", active=i != agents - 1)
        data.agents.append(uid)
    for kind in CONNECTOR_PLAN:
        for n in range(connectors_per_type):
            cid = fake.create_record("acrux.chat.connector", {
                "name": f"{kind} {n + 1}", "connector_type": kind, "sequence": n, "company_id": 1,
                "source": f"55489{rng.randrange(10**7, 10**8)}", "uuid": secrets.token_hex(8), "time_to_respond": 24,
            })
            data.connectors[cid] = kind
    connector_ids = list(data.connectors)
    used: set[tuple[int, str]] = set()
    moment = start
    per_conv = max(1, messages // max(conversations, 1))
    remaining = messages
    for index in range(conversations):
        cid = connector_ids[index % len(connector_ids)]
        kind = data.connectors[cid]
        social = kind in ("facebook", "instagram")
        while True:
            # Mobiles: 9 + 8 digits whose first is 6-9 (so the pre-9th-digit spelling is a mobile too).
            national = f"{rng.choice(['11', '21', '48', '51', '85'])}9{rng.choice('6789')}{rng.randrange(10**6, 10**7)}"
            old = not social and index % 7 == 3  # a 12-digit number (before the 9th digit)
            number = str(rng.randrange(10**15, 10**16)) if social else ("55" + national[:2] + national[3:] if old
                                                                         else "55" + national)
            if (cid, number) not in used:
                used.add((cid, number))
                break
        partner = None
        if not social and index % 3 != 2:
            partner = fake.create_record("res.partner", {
                "name": f"Cliente {index + 1}", "email": f"cliente{index + 1}@exemplo.com.br",
                "vat": f"{rng.randrange(10**10, 10**11):011d}" if index % 2 else False,
                "mobile": _phone_formats(rng, national), "company_id": 1,
            })
            data.partners.append(partner)
        status = ("new", "current", "done", "done", "done")[index % 5]
        agent = rng.choice(data.agents) if status == "current" else False
        conv = fake.create_record("acrux.chat.conversation", {
            "name": f"Cliente {index + 1}" if partner else f"Contato {index + 1}", "number": number,
            "number_format": ("+" + number) if not social else number, "conv_type": "normal",
            "connector_id": cid, "res_partner_id": partner or False, "status": status, "agent_id": agent,
            "company_id": 1, "create_date": odoo_datetime(moment), "write_date": odoo_datetime(moment),
        })
        if old:
            data.bad.setdefault("twelve_digit", []).append(conv)
        data.conversations.append(conv)
        count = per_conv if index < conversations - 1 else remaining
        count = min(count, remaining)
        remaining -= count
        last_sent = last_received = None
        for k in range(count):
            moment += timedelta(seconds=rng.randrange(5, 400))
            stamp = odoo_datetime(moment)
            from_me = k % 2 == 1
            if k == 0:
                ttype = "text"
                from_me = False
            elif k % 10 == 5:
                ttype = rng.choice(("info", "info", "info_comment", "info_hidden"))
            elif k % attachment_every == 0:
                ttype = rng.choice(tuple(MEDIA_TTYPES))
            else:
                ttype = rng.choice(TEXT_TTYPES)
            values: dict[str, Any] = {
                "contact_id": conv, "connector_id": cid, "ttype": ttype, "from_me": from_me or ttype.startswith("info"),
                "date_message": stamp, "create_date": stamp, "write_date": stamp, "company_id": 1,
                "msgid": f"wamid.{secrets.token_hex(10)}" if not ttype.startswith("info") else False,
                "user_id": (agent or rng.choice(data.agents)) if from_me else (agent or False),
            }
            if ttype == "location":
                values["text"] = "Rua das Flores, 100\n-27.5954|-48.5480"
            elif ttype == "contact":
                values["text"] = f"Maria\n+55 48 9{rng.randrange(10**7, 10**8)}"
            elif ttype == "url":
                values["text"] = "https://exemplo.com.br/pedido/123"
            elif ttype.startswith("info"):
                values["text"] = rng.choice(("Conversa iniciada (Agente 1)", "Conversa encerrada (Agente 2)",
                                             "Nova conversa (Administrador)"))
                values["event"] = rng.choice(("to_curr", "to_done", "to_new"))
            elif ttype in MEDIA_TTYPES:
                values["text"] = "segue o arquivo" if rng.random() < 0.3 else False
            else:
                values["text"] = f"mensagem {k + 1} da conversa {index + 1} — olá, tudo bem? ção"
            if not from_me and k < count - 1 and rng.random() < 0.8:
                values["read_date"] = odoo_datetime(moment + timedelta(seconds=30))
            if from_me and ttype in TEXT_TTYPES and rng.random() < 0.03:
                values["error_msg"] = "Número não existe no WhatsApp"
            mid = fake.create_record("acrux.chat.message", values)
            data.messages.append(mid)
            data.ttypes[ttype] += 1
            if ttype in MEDIA_TTYPES:
                mime, name = MEDIA_TTYPES[ttype]
                blob = hashlib.sha256(f"{seed}:{mid}".encode()).digest() * (attachment_size // 32 + 1)
                blob = blob[:attachment_size]
                att = fake.create_record("ir.attachment", {
                    "name": name, "mimetype": mime, "datas": base64.b64encode(blob).decode(),
                    "res_model": "acrux.chat.message", "res_id": mid, "type": "binary",
                    "create_date": stamp, "write_date": stamp,
                })
                fake.write_record("acrux.chat.message", mid, {"res_model": "ir.attachment", "res_id": att}, touch=False)
                data.attachments[mid] = blob
            if not ttype.startswith("info"):
                if from_me:
                    last_sent = stamp
                else:
                    last_received = stamp
        fake.write_record("acrux.chat.conversation", conv, {
            "last_activity": max(filter(None, (last_sent, last_received)), default=odoo_datetime(moment)),
            "last_sent": last_sent or False, "last_received": last_received or False,
            "write_date": odoo_datetime(moment),
        }, touch=False)
    if bad_data and data.messages:
        conv = data.conversations[0]
        cid = fake.store.records["acrux.chat.conversation"][conv]["connector_id"]
        moment += timedelta(minutes=1)
        odd = fake.create_record("acrux.chat.message", {
            "contact_id": conv, "connector_id": cid, "ttype": "product", "text": "Produto X — R$ 10,00",
            "from_me": True, "date_message": odoo_datetime(moment), "create_date": odoo_datetime(moment),
            "write_date": odoo_datetime(moment), "company_id": 1, "msgid": "wamid.produto",
        })
        data.bad["unknown_ttype"] = [odd]
        original = fake.store.records["acrux.chat.message"][data.messages[0]]
        dup = fake.create_record("acrux.chat.message", {
            "contact_id": conv, "connector_id": cid, "ttype": "text", "text": original.get("text"),
            "from_me": False, "date_message": original["date_message"], "create_date": odoo_datetime(moment),
            "write_date": odoo_datetime(moment), "company_id": 1, "msgid": original.get("msgid"),
        })
        data.bad["duplicate_msgid"] = [dup]
        empty = fake.create_record("acrux.chat.message", {
            "contact_id": conv, "connector_id": cid, "ttype": "image", "text": False, "from_me": False,
            "date_message": odoo_datetime(moment), "create_date": odoo_datetime(moment),
            "write_date": odoo_datetime(moment), "company_id": 1, "msgid": "wamid.semconteudo",
        })
        att = fake.create_record("ir.attachment", {"name": "perdida.jpg", "mimetype": "image/jpeg", "datas": "",
                                                   "res_model": "acrux.chat.message", "res_id": empty,
                                                   "type": "binary"})
        fake.write_record("acrux.chat.message", empty, {"res_model": "ir.attachment", "res_id": att}, touch=False)
        gone = fake.create_record("acrux.chat.message", {
            "contact_id": conv, "connector_id": cid, "ttype": "audio", "text": False, "from_me": False,
            "date_message": odoo_datetime(moment), "create_date": odoo_datetime(moment),
            "write_date": odoo_datetime(moment), "company_id": 1, "msgid": "wamid.apagado",
            "res_model": "ir.attachment", "res_id": 999_999_999,
        })
        data.bad["attachment_without_bytes"] = [empty, gone]
        fake.write_record("acrux.chat.conversation", conv, {"last_activity": odoo_datetime(moment)}, touch=False)
        data.messages.extend([odd, dup, empty, gone])
        data.ttypes.update(["product", "text", "image", "audio"])
    return data


def create_fake_odoo(databases: Iterable[str] = ("odoo",)) -> FakeOdoo:
    return FakeOdoo(databases=set(databases))


__all__ = ["ChatRoomData", "FakeOdoo", "create_fake_odoo", "odoo_datetime", "populate_chatroom"]
