"""The ChatRoom history import: connectors, agents, conversations, messages and their attachments,
read from Odoo page by page (`search_read` with `id >` and `order="id"`) and stored through
`actions.chatroom`, one transaction and one checkpoint per page.

- Idempotent: a second run finds every record by its link or provider id and adds nothing.
- Incremental: new records come by id; changed ones (status, partner, read, error) by `write_date`
  since the last complete run.
- Resumable: an interrupted run continues from its last checkpoint.
- Bad data (an unknown ttype, an attachment without bytes, a 12-digit number, a duplicate msgid…)
  gets a warning and a count; the rest goes on.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import and_, func, select

from atende.actions import chatroom as actions
from atende.db.tables import chatroom_imports, chatroom_links, contacts, conversations, messages
from atende.integrations.odoo import chatroom_map as cmap
from atende.integrations.odoo import partners as odoo_partners
from atende.integrations.odoo.client import OdooClient, OdooError
from atende.media.policy import normalize_mime
from atende.media.store import LocalMediaStore, MediaStore

if TYPE_CHECKING:
    from atende.runtime import Runtime

CONNECTOR = "acrux.chat.connector"
CONVERSATION = "acrux.chat.conversation"
MESSAGE = "acrux.chat.message"
ATTACHMENT = "ir.attachment"
CONNECTOR_FIELDS = ["name", "connector_type", "source", "active"]
CONVERSATION_FIELDS = ["name", "number", "connector_id", "res_partner_id", "status", "agent_id", "last_activity",
                       "create_date", "write_date"]
MESSAGE_FIELDS = ["contact_id", "connector_id", "ttype", "text", "msgid", "date_message", "read_date", "from_me",
                  "error_msg", "user_id", "res_model", "res_id", "event", "write_date"]
ALL = {"active_test": False}  # archived connectors and agents still own history
SAMPLES_PER_WARNING = 5


def source_key(url: str, db: str) -> str:
    return hashlib.sha256(f"{url.rstrip('/')}|{db}".encode()).hexdigest()[:16]


def provider_id(remote_connector_id: int, message_id: int) -> str:
    return f"chatroom:{remote_connector_id}:{message_id}"


def provider_range(remote_connector_id: int) -> tuple[str, str]:
    """[low, high) of the provider ids of one ChatRoom connector (an index range, not a LIKE)."""
    return f"chatroom:{remote_connector_id}:", f"chatroom:{remote_connector_id};"


class ImportFailed(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Progress(Protocol):
    def start(self, name: str, total: int) -> None: ...
    def advance(self, name: str, n: int) -> None: ...
    def note(self, line: str) -> None: ...
    def close(self) -> None: ...


class QuietProgress:
    def start(self, name: str, total: int) -> None:
        pass

    def advance(self, name: str, n: int) -> None:
        pass

    def note(self, line: str) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class Options:
    connector_map: dict[int, int] = field(default_factory=dict)
    since: date | None = None
    conversation_page: int = 1000
    message_page: int = 2000
    attachment_batch: int = 20
    attachment_parallel: int = 8


@dataclass
class Report:
    connectors_created: int = 0
    agents: int = 0
    conversations: int = 0
    merged: int = 0
    partners_linked: int = 0
    messages: int = 0
    attachments: int = 0
    attachment_bytes: int = 0
    updated_conversations: int = 0
    updated_messages: int = 0
    warnings: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def warn(self, kind: str, line: str) -> bool:
        """Count a warning; True when its line is worth printing (the first few of each kind)."""
        self.warnings[kind] += 1
        lines = self.samples.setdefault(kind, [])
        if len(lines) < SAMPLES_PER_WARNING:
            lines.append(line)
            return True
        return False


@dataclass(slots=True)
class LocalConnector:
    id: int
    channel: str
    name: str


@dataclass(slots=True)
class LocalConversation:
    id: int
    contact_id: int
    remote_connector_id: int


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _since_domain(field_name: str, since: date | str | None) -> list[list[Any]]:
    return [[field_name, ">=", f"{since} 00:00:00"]] if since else []


class Importer:
    def __init__(self, rt: Runtime, client: OdooClient, options: Options | None = None,
                 progress: Progress | None = None) -> None:
        self.rt = rt
        self.client = client
        self.options = options or Options()
        self.progress = progress or QuietProgress()
        self.source = source_key(client.url, client.db)
        self.report = Report()
        self.state: dict[str, Any] = {}
        self.connectors: dict[int, LocalConnector] = {}
        self.conversations: dict[int, LocalConversation] = {}
        self.agents: dict[int, int] = {}
        self.msgids: dict[int, set[str]] = {}
        self.store: MediaStore = rt.media_store or LocalMediaStore(rt.settings.media_dir)
        if rt.media_store is None:
            rt.media_store = self.store

    def warn(self, kind: str, line: str) -> None:
        if self.report.warn(kind, line):
            self.progress.note(f"aviso: {line}")

    # -- the run ---------------------------------------------------------------------------------
    async def run(self) -> Report:
        started = time.perf_counter()
        try:
            await self.client.authenticate()
        except OdooError as exc:
            raise ImportFailed(exc.detail) from None
        async with self.rt.write() as tx:
            self.state = await actions.acquire(tx, self.source, {"url": self.client.url, "db": self.client.db})
        finished = False
        try:
            stored_since = self.state.get("since")
            wanted = self.options.since.isoformat() if self.options.since else None
            if stored_since and wanted and stored_since != wanted:
                raise ImportFailed(f"este Odoo já foi importado com --since {stored_since}; use a mesma data")
            if wanted:
                self.state["since"] = wanted
            await self._load_links()
            await self._import_connectors()
            await self._import_conversations()
            await self._import_messages()
            finished = True
        except OdooError as exc:
            raise ImportFailed(exc.detail) from None
        finally:
            self.state["last_run"] = {"finished": finished, "warnings": dict(self.report.warnings)}
            async with self.rt.write() as tx:
                await actions.checkpoint(tx, self.source, self.state, finished=finished, release=True)
            self.progress.close()
            self.report.elapsed_s = time.perf_counter() - started
        return self.report

    async def _checkpoint(self, tx: Any) -> None:
        await actions.checkpoint(tx, self.source, self.state)

    def _cursor(self, model: str) -> dict[str, Any]:
        cursor: dict[str, Any] = self.state.setdefault(model, {})
        cursor.setdefault("last_id", 0)
        return cursor

    async def _load_links(self) -> None:
        async with self.rt.read() as conn:
            rows = await conn.execute(select(chatroom_links.c.remote_id, chatroom_links.c.local_id).where(
                chatroom_links.c.source == self.source, chatroom_links.c.model == "user"))
            self.agents = {int(r.remote_id): int(r.local_id) for r in rows}
            rows = await conn.execute(
                select(chatroom_links.c.remote_id, chatroom_links.c.local_id, chatroom_links.c.remote_connector_id,
                       conversations.c.contact_id)
                .select_from(chatroom_links.join(conversations, conversations.c.id == chatroom_links.c.local_id))
                .where(chatroom_links.c.source == self.source, chatroom_links.c.model == "conversation"))
            self.conversations = {int(r.remote_id): LocalConversation(int(r.local_id), int(r.contact_id),
                                                                      int(r.remote_connector_id or 0))
                                  for r in rows}

    # -- connectors and agents ------------------------------------------------------------------------
    async def _import_connectors(self) -> None:
        remote = await self.client.search_read(CONNECTOR, [], CONNECTOR_FIELDS, order="id", context=ALL)
        known = {int(r["id"]) for r in remote}
        for src in self.options.connector_map:
            if src not in known:
                raise ImportFailed(f"--connector-map {src}=…: o conector {src} não existe no ChatRoom")
        description = f"ChatRoom ({self.client.url}, {self.client.db})"
        async with self.rt.write() as tx:
            for record in remote:
                rid = int(record["id"])
                channel, known_type = cmap.channel_of(record.get("connector_type"))
                if not known_type:
                    self.warn("tipo de conector desconhecido",
                              f"conector {rid} tem o tipo {record.get('connector_type')!r}: importado como WhatsApp")
                name = cmap.text_of(record.get("name")) or f"ChatRoom {rid}"
                before = await tx.conn.scalar(select(func.count()).select_from(chatroom_links).where(
                    chatroom_links.c.source == self.source, chatroom_links.c.model == "connector",
                    chatroom_links.c.remote_id == rid))
                local_id = await actions.store_connector(
                    tx, self.rt.secrets, self.source, remote_id=rid, name=name, channel=channel,
                    target_id=self.options.connector_map.get(rid), description=f"{description} #{rid}")
                if not before and rid not in self.options.connector_map:
                    self.report.connectors_created += 1
                self.connectors[rid] = LocalConnector(local_id, channel, name)
            await self._checkpoint(tx)

    async def _ensure_agents(self, remote_ids: Iterable[int]) -> None:
        missing = sorted({i for i in remote_ids if i and i not in self.agents})
        if not missing:
            return
        try:
            records = await self.client.read("res.users", missing, ["name", "login", "email"])
        except OdooError as exc:
            if exc.kind != "missing":
                raise
            records = []
            for uid in missing:
                try:
                    records.extend(await self.client.read("res.users", [uid], ["name", "login", "email"]))
                except OdooError as inner:
                    if inner.kind != "missing":
                        raise
        agents = [actions.AgentIn(remote_id=int(r["id"]), name=cmap.text_of(r.get("name")) or "",
                                  login=cmap.text_of(r.get("login")) or "", email=cmap.text_of(r.get("email")))
                  for r in records]
        async with self.rt.write() as tx:
            found = await actions.store_agents(tx, self.source, agents)
        self.agents.update(found)
        self.report.agents += len(found)

    # -- conversations --------------------------------------------------------------------------------
    async def _conversation_items(self, records: list[dict[str, Any]]) -> list[actions.ConversationIn]:
        await self._ensure_agents(cmap.m2o_id(r.get("agent_id")) or 0 for r in records)
        partner_ids = [p for p in (cmap.m2o_id(r.get("res_partner_id")) for r in records) if p]
        partners = await odoo_partners.read_many(self.client, partner_ids)
        items = []
        for r in records:
            rid = int(r["id"])
            remote_connector = cmap.m2o_id(r.get("connector_id"))
            connector = self.connectors.get(remote_connector or 0)
            if connector is None or remote_connector is None:
                self.warn("conversa sem conector", f"conversa {rid} sem conector conhecido: ignorada")
                continue
            address = cmap.address_of(r.get("number"), connector.channel)
            if address.problem:
                self.warn(address.problem, f"conversa {rid} ({r.get('number')}): {address.problem}")
            status = cmap.status_of(r.get("status"))
            agent_remote = cmap.m2o_id(r.get("agent_id"))
            assignee = self.agents.get(agent_remote or 0) if status == "open" else None
            if status == "open" and assignee is None:
                self.warn("em atendimento sem agente", f"conversa {rid} em atendimento sem agente: vai para a fila")
                status = "new"
            try:
                created = cmap.odoo_time(r.get("create_date")) or cmap.odoo_time(r.get("write_date"))
                last = cmap.odoo_time(r.get("last_activity")) or created
            except ValueError as exc:
                self.warn("data inválida", f"conversa {rid}: {exc}")
                created = last = None
            if created is None or last is None:
                created = last = datetime.now().astimezone()
            partner_remote = cmap.m2o_id(r.get("res_partner_id"))
            partner = partners.get(partner_remote) if partner_remote else None
            if partner_remote and partner is None:
                self.warn("parceiro inexistente", f"conversa {rid}: parceiro {partner_remote} não existe mais")
            items.append(actions.ConversationIn(
                remote_id=rid, remote_connector_id=remote_connector, connector_id=connector.id,
                channel=connector.channel, address=address.address, status=status, assignee_id=assignee,
                name=cmap.contact_name(r), created_at=created, last_activity_at=last,
                remote_partner_id=partner_remote if partner is not None else None, partner=partner))
        return items

    async def _store_conversations(self, records: list[dict[str, Any]], *, paged: bool = True) -> None:
        items = await self._conversation_items(records)
        async with self.rt.write() as tx:
            out = await actions.store_conversations(tx, self.source, items)
            if paged:  # fetched by id for their messages: the page cursor keeps its place
                self._track(CONVERSATION, records)
            await self._checkpoint(tx)
        for item in items:
            conv_id, contact_id = out.ids[item.remote_id]
            self.conversations[item.remote_id] = LocalConversation(conv_id, contact_id, item.remote_connector_id)
        self.report.conversations += len(items)
        self.report.merged += out.merged
        self.report.partners_linked += out.linked

    def _track(self, model: str, records: list[dict[str, Any]]) -> None:
        """Advance the id cursor and remember the newest write_date seen (the next run's watermark)."""
        cursor = self._cursor(model)
        if records:
            cursor["last_id"] = max(cursor["last_id"], max(int(r["id"]) for r in records))
        stamps = [str(r["write_date"]) for r in records if isinstance(r.get("write_date"), str)]
        if stamps:
            cursor["seen_write"] = max([cursor.get("seen_write") or "", *stamps])

    async def _pages(self, model: str, domain: list[Any], fields: list[str], size: int,
                     *, upto: int | None = None) -> Any:
        """search_read in id order, `id >` the cursor, `size` records a page."""
        after = self._cursor(model)["last_id"] if upto is None else 0
        while True:
            page_domain = [["id", ">", after], *([["id", "<=", upto]] if upto is not None else []), *domain]
            records = await self.client.search_read(model, page_domain, fields, limit=size, order="id")
            if not records:
                return
            yield records
            after = max(int(r["id"]) for r in records)
            if len(records) < size:
                return

    async def _import_model(self, model: str, label: str, since_field: str, fields: list[str], size: int,
                            store: Any, refresh: Any) -> None:
        """New records page by page (`id >` the cursor), then the ones changed since the last run."""
        since = _since_domain(since_field, self.state.get("since"))
        cursor = self._cursor(model)
        start_id = cursor["last_id"]
        total = await self.client.search_count(model, [["id", ">", start_id], *since])
        self.progress.start(label, total)
        async for records in self._pages(model, since, fields, size):
            await store(records)
            self.progress.advance(label, len(records))
        watermark = cursor.get("since_write")
        if watermark and start_id:
            await refresh(start_id, watermark)
        cursor["since_write"] = cursor.get("seen_write") or watermark

    async def _import_conversations(self) -> None:
        await self._import_model(CONVERSATION, "conversas", "last_activity", CONVERSATION_FIELDS,
                                 self.options.conversation_page, self._store_conversations,
                                 self._update_conversations)

    async def _update_conversations(self, upto: int, watermark: str) -> None:
        """ChatRoom changes since the last complete run: status, agent, partner."""
        async for records in self._pages(CONVERSATION, [["write_date", ">=", watermark]], CONVERSATION_FIELDS,
                                         self.options.conversation_page, upto=upto):
            fresh = [r for r in records if int(r["id"]) not in self.conversations]
            known = [r for r in records if int(r["id"]) in self.conversations]
            if fresh:
                await self._store_conversations(fresh)
            items = await self._conversation_items(known)
            async with self.rt.write() as tx:
                for item in items:
                    local = self.conversations[item.remote_id]
                    if await actions.update_conversation(tx, local.id, status=item.status,
                                                         assignee_id=item.assignee_id, at=item.last_activity_at):
                        self.report.updated_conversations += 1
                    if item.partner is not None:
                        from atende.actions.odoo import link_partner

                        if await link_partner(tx, local.contact_id, item.partner, source="import",
                                              only_if_unlinked=True):
                            self.report.partners_linked += 1
                self._track(CONVERSATION, known)
                await self._checkpoint(tx)

    async def _ensure_conversations(self, remote_ids: set[int]) -> None:
        """Messages of conversations not imported yet (created during the run): bring those first."""
        missing = sorted(i for i in remote_ids if i not in self.conversations)
        for chunk in _chunks(missing, self.options.conversation_page):
            records = await self.client.search_read(CONVERSATION, [["id", "in", chunk]], CONVERSATION_FIELDS)
            if records:
                await self._store_conversations(records, paged=False)

    # -- messages ---------------------------------------------------------------------------------------
    async def _import_messages(self) -> None:
        await self._import_model(MESSAGE, "mensagens", "date_message", MESSAGE_FIELDS, self.options.message_page,
                                 self._store_messages, self._update_messages)

    async def _existing(self, records: list[dict[str, Any]]) -> dict[str, tuple[int, Any]]:
        """provider id → (message id, row) of the records already imported."""
        by_connector: dict[int, list[str]] = {}
        for r in records:
            remote_connector = cmap.m2o_id(r.get("connector_id")) or 0
            connector = self.connectors.get(remote_connector)
            if connector is not None:
                by_connector.setdefault(connector.id, []).append(provider_id(remote_connector, int(r["id"])))
        found: dict[str, tuple[int, Any]] = {}
        async with self.rt.read() as conn:
            for connector_id, ids in by_connector.items():
                for chunk in _chunks(ids, 1000):
                    rows = await conn.execute(select(
                        messages.c.id, messages.c.provider_message_id, messages.c.status, messages.c.error,
                        messages.c.read_at, messages.c.text).where(
                        messages.c.connector_id == connector_id, messages.c.provider_message_id.in_(chunk)))
                    for row in rows:
                        found[row.provider_message_id] = (int(row.id), row)
        return found

    async def _store_messages(self, records: list[dict[str, Any]]) -> None:
        existing = await self._existing(records)
        fresh = [r for r in records if provider_id(cmap.m2o_id(r.get("connector_id")) or 0, int(r["id"]))
                 not in existing]
        await self._ensure_conversations({cmap.m2o_id(r.get("contact_id")) or 0 for r in fresh} - {0})
        await self._ensure_agents(cmap.m2o_id(r.get("user_id")) or 0 for r in fresh if r.get("from_me"))
        attachment_ids = [int(r["res_id"]) for r in fresh if r.get("res_model") == ATTACHMENT and r.get("res_id")]
        media = await self._fetch_attachments(attachment_ids)
        items = []
        for r in fresh:
            item = self._message_item(r, media)
            if item is not None:
                items.append(item)
        async with self.rt.write() as tx:
            await actions.store_messages(tx, items)
            self._track(MESSAGE, records)
            await self._checkpoint(tx)
        self.report.messages += len(items)
        self.report.attachments += sum(1 for i in items if i.media is not None)
        self.report.attachment_bytes += sum(i.media.stored.size for i in items if i.media is not None)

    def _message_values(self, r: dict[str, Any]) -> dict[str, Any]:
        """status, error, read_at and text of a record, as atende keeps them."""
        from_me = bool(r.get("from_me"))
        ttype = str(r.get("ttype") or "")
        error = cmap.text_of(r.get("error_msg"))
        kind, _ = cmap.kind_of(ttype)
        if not from_me and not ttype.startswith("info"):
            status = "received"
        elif error and kind != "event":
            status = "failed"
        else:
            status = "sent"
        read_at = cmap.odoo_time(r.get("read_date"))
        return {"status": status, "error": error if status == "failed" else None, "read_at": read_at,
                "text": cmap.text_of(r.get("text"))}

    def _message_item(self, r: dict[str, Any], media: dict[int, Any]) -> actions.MessageIn | None:
        rid = int(r["id"])
        remote_connector = cmap.m2o_id(r.get("connector_id")) or 0
        remote_conv = cmap.m2o_id(r.get("contact_id")) or 0
        conv = self.conversations.get(remote_conv)
        connector = self.connectors.get(remote_connector)
        if conv is None or connector is None:
            self.warn("mensagem sem conversa", f"mensagem {rid}: conversa {remote_conv} não encontrada; ignorada")
            return None
        ttype = str(r.get("ttype") or "")
        kind, known = cmap.kind_of(ttype)
        if not known:
            self.warn("ttype desconhecido", f"mensagem {rid}: tipo {ttype!r} desconhecido, guardada como não suportada")
        try:
            created = cmap.odoo_time(r.get("date_message")) or cmap.odoo_time(r.get("write_date"))
            values = self._message_values(r)
            updated = cmap.odoo_time(r.get("write_date")) or created
        except ValueError as exc:
            self.warn("data inválida", f"mensagem {rid}: {exc}")
            return None
        if created is None or updated is None:
            self.warn("data inválida", f"mensagem {rid} sem data: ignorada")
            return None
        msgid = cmap.text_of(r.get("msgid"))
        attributes: dict[str, Any] = {"imported": "chatroom", "chatroom_id": rid}
        if msgid:
            attributes["msgid"] = msgid
            seen = self.msgids.setdefault(remote_connector, set())
            if msgid in seen:
                self.warn("msgid duplicado",
                          f"mensagem {rid}: msgid {msgid} repetido no ChatRoom (importada assim mesmo)")
            seen.add(msgid)
        if ttype not in ("text", "image", "audio", "video", "sticker", "location"):
            attributes["chatroom_ttype"] = ttype
        if r.get("event"):
            attributes["chatroom_event"] = r["event"]
        from_me = bool(r.get("from_me")) or kind == "event"
        author = self.agents.get(cmap.m2o_id(r.get("user_id")) or 0) if from_me and kind != "event" else None
        item = actions.MessageIn(
            provider_message_id=provider_id(remote_connector, rid), conversation_id=conv.id,
            contact_id=conv.contact_id, connector_id=connector.id, direction="out" if from_me else "in", kind=kind,
            text=values["text"], status=values["status"], error=values["error"], author_id=author,
            created_at=created, updated_at=updated, read_at=values["read_at"], attributes=attributes)
        if r.get("res_model") == ATTACHMENT and r.get("res_id"):
            got = media.get(int(r["res_id"]))
            if isinstance(got, actions.MediaIn):
                item.media = got
            else:
                reason = got if isinstance(got, str) else "anexo não encontrado no Odoo"
                item.attributes["media_error"] = reason
                self.warn("anexo sem conteúdo", f"mensagem {rid}: {reason}")
        return item

    async def _fetch_attachments(self, ids: list[int]) -> dict[int, actions.MediaIn | str]:
        """Attachments in batches, a few batches at a time; bytes go to the media store."""
        out: dict[int, actions.MediaIn | str] = {}
        if not ids:
            return out
        bound = asyncio.Semaphore(max(1, self.options.attachment_parallel))

        async def read(batch: list[int]) -> list[dict[str, Any]]:
            try:
                return await self.client.read(ATTACHMENT, batch, ["name", "mimetype", "datas"])
            except OdooError as exc:
                if exc.kind != "missing" or len(batch) == 1:
                    if exc.kind == "missing":
                        return []
                    raise
            rows: list[dict[str, Any]] = []  # one is gone: read them one by one
            for one in batch:
                rows.extend(await read([one]))
            return rows

        async def fetch(batch: list[int]) -> None:
            async with bound:
                rows = await read(batch)
            for row in rows:
                datas = row.get("datas")
                if not datas:
                    out[int(row["id"])] = "anexo sem conteúdo no Odoo"
                    continue
                try:
                    data = base64.b64decode(datas, validate=True)
                except (binascii.Error, ValueError):
                    out[int(row["id"])] = "anexo com base64 inválido"
                    continue
                name = cmap.text_of(row.get("name"))
                stored = await self.store.put(data)
                out[int(row["id"])] = actions.MediaIn(
                    stored=stored, mime_type=normalize_mime(cmap.text_of(row.get("mimetype")) or "", name)
                    or "application/octet-stream", filename=name)

        await asyncio.gather(*(fetch(b) for b in _chunks(sorted(set(ids)), self.options.attachment_batch)))
        return out

    async def _update_messages(self, upto: int, watermark: str) -> None:
        """Messages ChatRoom changed since the last complete run (read, failed, edited)."""
        async for records in self._pages(MESSAGE, [["write_date", ">=", watermark]], MESSAGE_FIELDS,
                                         self.options.message_page, upto=upto):
            existing = await self._existing(records)
            missing = [r for r in records
                       if provider_id(cmap.m2o_id(r.get("connector_id")) or 0, int(r["id"])) not in existing]
            if missing:
                await self._store_messages(missing)
            changes = []
            for r in records:
                found = existing.get(provider_id(cmap.m2o_id(r.get("connector_id")) or 0, int(r["id"])))
                if found is None:
                    continue
                try:
                    values = self._message_values(r)
                    updated = cmap.odoo_time(r.get("write_date"))
                except ValueError:
                    continue
                row = found[1]
                if (row.status, row.error, row.read_at, row.text) != (values["status"], values["error"],
                                                                      values["read_at"], values["text"]):
                    changes.append({"id": found[0], **values, "updated_at": updated or row.read_at})
            async with self.rt.write() as tx:
                self.report.updated_messages += await actions.update_messages(tx, changes)
                self._track(MESSAGE, records)
                await self._checkpoint(tx)


# ---- dry run and verify ------------------------------------------------------------------------------

@dataclass
class ConnectorCounts:
    remote_id: int
    name: str
    channel: str
    target: str
    odoo: dict[str, int] = field(default_factory=dict)
    atende: dict[str, int] = field(default_factory=dict)

    @property
    def differences(self) -> dict[str, int]:
        return {k: self.odoo.get(k, 0) - self.atende.get(k, 0) for k in self.odoo
                if self.odoo.get(k, 0) != self.atende.get(k, 0)}


async def _odoo_counts(client: OdooClient, remote_id: int, since: str | None) -> dict[str, int]:
    conv_since = _since_domain("last_activity", since)
    msg_since = _since_domain("date_message", since)
    base = [["connector_id", "=", remote_id]]
    return {
        "conversas": await client.search_count(CONVERSATION, [*base, *conv_since]),
        "mensagens": await client.search_count(MESSAGE, [*base, *msg_since]),
        "anexos": await client.search_count(MESSAGE, [*base, ["res_model", "=", ATTACHMENT], ["res_id", "!=", 0],
                                                      *msg_since]),
        "parceiros": await client.search_count(CONVERSATION, [*base, ["res_partner_id", "!=", False], *conv_since]),
    }


async def _saved(rt: Runtime, source: str) -> tuple[dict[str, Any], dict[int, int]]:
    """The source's checkpoints, and its ChatRoom connectors already given an atende connector."""
    async with rt.read() as conn:
        state = dict(await conn.scalar(select(chatroom_imports.c.state).where(chatroom_imports.c.source == source))
                     or {})
        linked = {int(r.remote_id): int(r.local_id) for r in await conn.execute(
            select(chatroom_links.c.remote_id, chatroom_links.c.local_id).where(
                chatroom_links.c.source == source, chatroom_links.c.model == "connector"))}
    return state, linked


async def plan(rt: Runtime, client: OdooClient, options: Options) -> list[ConnectorCounts]:
    """--dry-run: what a run would bring, per ChatRoom connector (nothing is written)."""
    source = source_key(client.url, client.db)
    state, linked = await _saved(rt, source)
    since = state.get("since") or (options.since.isoformat() if options.since else None)
    conv_after = int((state.get(CONVERSATION) or {}).get("last_id") or 0)
    msg_after = int((state.get(MESSAGE) or {}).get("last_id") or 0)
    rows = []
    for record in await client.search_read(CONNECTOR, [], CONNECTOR_FIELDS, order="id", context=ALL):
        rid = int(record["id"])
        channel, _ = cmap.channel_of(record.get("connector_type"))
        if rid in options.connector_map:
            target = f"conector {options.connector_map[rid]}"
        elif rid in linked:
            target = f"conector {linked[rid]} (já importado)"
        else:
            target = "novo conector só de histórico"
        base = [["connector_id", "=", rid]]
        msg_since = _since_domain("date_message", since)
        counts = {
            "conversas": await client.search_count(CONVERSATION, [*base, ["id", ">", conv_after],
                                                                  *_since_domain("last_activity", since)]),
            "mensagens": await client.search_count(MESSAGE, [*base, ["id", ">", msg_after], *msg_since]),
            "anexos": await client.search_count(MESSAGE, [*base, ["id", ">", msg_after],
                                                          ["res_model", "=", ATTACHMENT], ["res_id", "!=", 0],
                                                          *msg_since]),
        }
        rows.append(ConnectorCounts(rid, cmap.text_of(record.get("name")) or str(rid), channel, target, counts))
    return rows


async def verify(rt: Runtime, client: OdooClient) -> list[ConnectorCounts]:
    """Odoo's counts beside atende's, per ChatRoom connector: conversations, messages, attachments,
    partner links. Attachments Odoo holds without bytes count as imported-with-a-warning."""
    source = source_key(client.url, client.db)
    state, linked = await _saved(rt, source)
    since = state.get("since")
    rows = []
    for record in await client.search_read(CONNECTOR, [], CONNECTOR_FIELDS, order="id", context=ALL):
        rid = int(record["id"])
        channel, _ = cmap.channel_of(record.get("connector_type"))
        local = linked.get(rid)
        row = ConnectorCounts(rid, cmap.text_of(record.get("name")) or str(rid), channel,
                              f"conector {local}" if local else "não importado",
                              await _odoo_counts(client, rid, since))
        row.atende = await _atende_counts(rt, source, rid, local) if local else dict.fromkeys(row.odoo, 0)
        rows.append(row)
    return rows


async def _atende_counts(rt: Runtime, source: str, remote_id: int, local_id: int) -> dict[str, int]:
    low, high = provider_range(remote_id)
    imported = and_(messages.c.connector_id == local_id, messages.c.provider_message_id >= low,
                    messages.c.provider_message_id < high)
    conv_links = and_(chatroom_links.c.source == source, chatroom_links.c.model == "conversation",
                      chatroom_links.c.remote_connector_id == remote_id)
    async with rt.read() as conn:
        n_conv = await conn.scalar(select(func.count()).select_from(
            chatroom_links.join(conversations, conversations.c.id == chatroom_links.c.local_id)).where(conv_links))
        n_msg = await conn.scalar(select(func.count()).select_from(messages).where(imported))
        n_media = await conn.scalar(select(func.count()).select_from(messages).where(
            imported, messages.c.media_id.is_not(None)))
        without = sum(1 for (attributes,) in await conn.execute(select(messages.c.attributes).where(
            imported, messages.c.media_id.is_(None), messages.c.kind.in_(sorted(cmap.MEDIA_KINDS | {"unsupported"}))))
            if isinstance(attributes, dict) and attributes.get("media_error"))
        n_partner = await conn.scalar(select(func.count()).select_from(
            chatroom_links.join(conversations, conversations.c.id == chatroom_links.c.local_id)
            .join(contacts, contacts.c.id == conversations.c.contact_id)).where(
            conv_links, chatroom_links.c.remote_partner_id.is_not(None),
            contacts.c.odoo_partner_id == chatroom_links.c.remote_partner_id))
    return {"conversas": int(n_conv or 0), "mensagens": int(n_msg or 0), "anexos": int(n_media or 0) + without,
            "parceiros": int(n_partner or 0)}
