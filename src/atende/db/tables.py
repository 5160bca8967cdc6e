"""The schema, as SQLAlchemy Core tables (Core keeps the hot paths explicit and fast).

Alembic migrations in db/migrations are generated from this metadata; a test checks they agree.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from atende.db.types import BigId, Json, Money, UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column[int]:
    return Column("id", BigId, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, *, nullable: bool = True, ondelete: str | None = None) -> Column[int]:
    return Column(name, BigId, ForeignKey(target, ondelete=ondelete), nullable=nullable)


users = Table(
    "users",
    metadata,
    _id(),
    Column("email", String(254), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(20), nullable=False),  # agent | supervisor | admin
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("presence", String(10), nullable=False, server_default="offline"),  # online | away | offline
    Column("capacity", Integer, nullable=False, server_default=text("10")),
    Column("timezone", String(64), nullable=False, server_default="America/Sao_Paulo"),
    Column("language", String(10), nullable=False, server_default="pt_BR"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    _fk("user_id", "users.id", nullable=False, ondelete="CASCADE"),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex; the token is shown once
    Column("name", String(100), nullable=False, server_default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime),  # refreshed at most once a minute
    Column("revoked_at", UtcDateTime),
    Column("expires_at", UtcDateTime),  # null: never
)

sessions = Table(
    "sessions",
    metadata,
    _id(),
    _fk("user_id", "users.id", nullable=False, ondelete="CASCADE"),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

connectors = Table(
    "connectors",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("config_encrypted", Text, nullable=False),  # Fernet token of the JSON config
    # The URL token is a secret: looked up by its SHA-256, kept Fernet-encrypted only so admins can
    # read the URL again (like the provider secrets).
    Column("webhook_token_hash", String(64), nullable=False, unique=True),
    Column("webhook_token_encrypted", Text, nullable=False),
    # Non-secret key the provider routes by (WhatsApp phone_number_id), for multi-number apps.
    Column("account_id", String(100)),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("state", Json, nullable=False, server_default="{}"),  # polling cursors and the like
    # What the provider said about the account (restriction, quality, review): newest first, bounded.
    Column("alerts", Json, nullable=False, server_default="[]"),
    # Counters kept by the actions, so stats never COUNT(*) the messages table.
    Column("sent_count", BigId, nullable=False, server_default=text("0")),
    Column("received_count", BigId, nullable=False, server_default=text("0")),
    Column("segments_total", BigId, nullable=False, server_default=text("0")),
    Column("cost_total", Money, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_connectors_account", connectors.c.provider, connectors.c.account_id)

contacts = Table(
    "contacts",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, server_default=""),
    Column("odoo_partner_id", BigId),
    Column("sms_opted_out", Boolean, nullable=False, server_default=false()),
    Column("sms_opted_out_at", UtcDateTime),
    Column("whatsapp_opted_out", Boolean, nullable=False, server_default=false()),
    Column("whatsapp_opted_out_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # LGPD erasure: the row stays as a skeleton ("Titular removido #id") so reports keep adding up.
    Column("erased_at", UtcDateTime),
    # An agent chose this name: outside systems (Odoo partners) no longer overwrite it.
    Column("name_by_agent", Boolean, nullable=False, server_default=false()),
)

# One row per way to reach a contact. Phones are stored in canonical E.164 (BR with the 9th digit);
# the exact form a provider last used (a 12-digit wa_id) lives on the conversation's address.
contact_identities = Table(
    "contact_identities",
    metadata,
    _id(),
    _fk("contact_id", "contacts.id", nullable=False, ondelete="CASCADE"),
    Column("kind", String(20), nullable=False),  # phone | bsuid | psid | igsid | sandbox
    Column("value", String(200), nullable=False),
    Column("attributes", Json, nullable=False, server_default="{}"),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("kind", "value", name="uq_contact_identities_kind_value"),
)
Index("ix_contact_identities_contact", contact_identities.c.contact_id)

conversations = Table(
    "conversations",
    metadata,
    _id(),
    _fk("connector_id", "connectors.id", nullable=False),
    _fk("contact_id", "contacts.id", nullable=False),
    Column("channel", String(20), nullable=False),
    Column("address_key", String(200), nullable=False),  # canonical address: the uniqueness key
    Column("address", String(200), nullable=False),  # exact address to reply to
    Column("status", String(10), nullable=False),  # new | open | done
    _fk("assignee_id", "users.id"),
    Column("current_attendance_id", BigId),  # no FK: attendances already points here
    Column("last_activity_at", UtcDateTime, nullable=False),
    Column("last_inbound_at", UtcDateTime),
    Column("last_outbound_at", UtcDateTime),
    Column("last_message_preview", String(200), nullable=False, server_default=""),
    Column("last_message_direction", String(3)),
    Column("unread", Integer, nullable=False, server_default=text("0")),
    Column("segments_total", BigId, nullable=False, server_default=text("0")),
    Column("cost_total", Money, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
    # Legal hold (LGPD retention): a supervisor keeps this conversation out of retention, with a reason.
    Column("legal_hold_at", UtcDateTime),
    Column("legal_hold_by", BigId),
    Column("legal_hold_reason", Text),
    # 0 low, 1 normal, 2 high, 3 urgent (domain/priority.py): an integer, so lists can sort by it.
    Column("priority", Integer, nullable=False, server_default=text("1")),
    # Teams and routing (issue 8). The team that serves the conversation (null: the default queue).
    _fk("team_id", "teams.id", ondelete="SET NULL"),
    # The waiting clock: the first unanswered customer message (or when it entered the queue).
    Column("waiting_since", UtcDateTime),
    # The menu bot's state while it talks to the customer: {"stage", "invalid", "at", "last_in"}.
    Column("bot", Json),
    # Out of hours: the closed period (its next opening) the out-of-hours message was sent for.
    Column("out_of_hours_until", UtcDateTime),
    UniqueConstraint("connector_id", "address_key", name="uq_conversations_connector_address"),
)
# Keyset pagination of the conversation list / board columns: newest activity first, id as tiebreak.
Index("ix_conversations_activity", conversations.c.last_activity_at, conversations.c.id)
Index("ix_conversations_status_activity", conversations.c.status, conversations.c.last_activity_at,
      conversations.c.id)
Index("ix_conversations_assignee_activity", conversations.c.assignee_id, conversations.c.status,
      conversations.c.last_activity_at, conversations.c.id)
Index("ix_conversations_channel_activity", conversations.c.channel, conversations.c.status,
      conversations.c.last_activity_at, conversations.c.id)
Index("ix_conversations_contact", conversations.c.contact_id)
# A column sorted by priority (urgent first), newest activity within a level.
Index("ix_conversations_status_priority", conversations.c.status, conversations.c.priority,
      conversations.c.last_activity_at, conversations.c.id)
# A team's conversations per status (board scopes), and its queue, oldest waiting first.
Index("ix_conversations_team_activity", conversations.c.team_id, conversations.c.status,
      conversations.c.last_activity_at, conversations.c.id)
Index("ix_conversations_queue", conversations.c.status, conversations.c.team_id, conversations.c.waiting_since,
      conversations.c.id)

attendances = Table(
    "attendances",
    metadata,
    _id(),
    _fk("conversation_id", "conversations.id", nullable=False, ondelete="CASCADE"),
    _fk("assignee_id", "users.id"),
    Column("started_at", UtcDateTime, nullable=False),
    Column("assigned_at", UtcDateTime),
    Column("first_response_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    _fk("closed_by", "users.id"),
    _fk("close_reason_id", "close_reasons.id"),  # optional, chosen when closing (reports group by it)
)
Index("ix_attendances_conversation", attendances.c.conversation_id)
Index("ix_attendances_closed", attendances.c.closed_at)

# Why attendances end ("Resolvido", "Sem retorno", "Engano", ...): a list supervisors edit. Rows are
# never deleted (attendances point at them); an inactive reason is no longer offered.
close_reasons = Table(
    "close_reasons",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("position", Integer, nullable=False, server_default=text("0")),
    Column("created_at", UtcDateTime, nullable=False),
)

# Live board counts per (channel, status, assignee, team): a handful of rows, summed per filter.
conversation_counts = Table(
    "conversation_counts",
    metadata,
    Column("channel", String(20), primary_key=True),
    Column("status", String(10), primary_key=True),
    Column("assignee_id", BigId, primary_key=True),  # 0 = unassigned
    Column("team_id", BigId, primary_key=True, server_default=text("0")),  # 0 = the default queue
    Column("n", BigId, nullable=False, server_default=text("0")),
)

media = Table(
    "media",
    metadata,
    _id(),
    Column("storage_key", String(300), nullable=False, unique=True),
    Column("mime_type", String(120), nullable=False),
    Column("size", BigId, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("filename", String(300)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("uploaded_by", BigId),  # the agent who uploaded it to send (null: received from a customer)
)
Index("ix_media_created", media.c.created_at, media.c.id)  # media retention, oldest first

messages = Table(
    "messages",
    metadata,
    _id(),
    _fk("conversation_id", "conversations.id", nullable=False, ondelete="CASCADE"),
    _fk("connector_id", "connectors.id", nullable=False),
    _fk("contact_id", "contacts.id", nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("kind", String(20), nullable=False),
    Column("text", Text),
    Column("status", String(10), nullable=False),  # queued sending sent delivered read failed / received
    Column("provider_message_id", String(200)),
    Column("provider_request_id", String(200)),
    Column("error_code", String(40)),
    Column("error", Text),
    Column("segments", Integer),
    Column("encoding", String(5)),
    Column("cost", Money),
    _fk("author_id", "users.id"),
    _fk("reply_to_id", "messages.id", ondelete="SET NULL"),
    _fk("media_id", "media.id", ondelete="SET NULL"),
    Column("attributes", Json, nullable=False, server_default="{}"),
    Column("raw", Json),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("read_at", UtcDateTime),
    Column("edited_at", UtcDateTime),  # the customer edited it; earlier versions in attributes.edits
    Column("deleted_at", UtcDateTime),  # deleted for everyone; the content stays for supervisors
    # The opaque reference handed to providers (random); null on messages sent before 0004, which
    # went out with their numeric id as reference.
    Column("reference", String(64)),
    # "Ocultar": a sensitive message withheld from agents (supervisors still read it).
    Column("hidden_at", UtcDateTime),
    Column("hidden_by", BigId),
    # Erasure or retention removed the content; the skeleton (time, direction, channel, segments,
    # cost) stays for reports and billing.
    Column("redacted_at", UtcDateTime),
    UniqueConstraint("connector_id", "provider_message_id", name="uq_messages_connector_provider_id"),
)
Index("ix_messages_conversation", messages.c.conversation_id, messages.c.id)
Index("ix_messages_reference", messages.c.connector_id, messages.c.reference)
Index("ix_messages_contact_time", messages.c.contact_id, messages.c.created_at, messages.c.id)
Index("ix_messages_request", messages.c.connector_id, messages.c.provider_request_id)
Index("ix_messages_media", messages.c.media_id)  # who uses a file: erasure, retention, downloads
# Retention walks the messages still holding content, oldest first; redacted ones leave the index.
Index("ix_messages_unredacted", messages.c.created_at, messages.c.id,
      sqlite_where=messages.c.redacted_at.is_(None), postgresql_where=messages.c.redacted_at.is_(None))

jobs = Table(
    "jobs",
    metadata,
    _id(),
    Column("kind", String(60), nullable=False),
    Column("payload", Json, nullable=False, server_default="{}"),
    Column("status", String(10), nullable=False),  # pending | running | done | dead
    Column("run_at", UtcDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("8")),
    Column("lease_until", UtcDateTime),
    Column("locked_by", String(100)),
    Column("last_error", Text),
    # At most one pending/running job per key (periodic sweeps, one send per message).
    Column("dedup_key", String(200), unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_jobs_ready", jobs.c.status, jobs.c.run_at)

events = Table(
    "events",
    metadata,
    _id(),
    Column("type", String(60), nullable=False),
    Column("conversation_id", BigId),
    Column("payload", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# The chat's system lines: a conversation's events, newest first.
Index("ix_events_conversation", events.c.conversation_id, events.c.id)

templates = Table(
    "templates",
    metadata,
    _id(),
    _fk("connector_id", "connectors.id", nullable=False, ondelete="CASCADE"),
    Column("name", String(200), nullable=False),
    Column("language", String(20), nullable=False),
    Column("category", String(40), nullable=False, server_default=""),
    Column("status", String(40), nullable=False, server_default=""),
    Column("status_reason", Text),  # why Meta rejected / paused it (reason and recommendation)
    Column("components", Json, nullable=False, server_default="[]"),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("connector_id", "name", "language", name="uq_templates_connector_name_lang"),
)

quick_replies = Table(
    "quick_replies",
    metadata,
    _id(),
    Column("shortcut", String(60), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    _fk("created_by", "users.id"),
    Column("created_at", UtcDateTime, nullable=False),
)

# Who did what, when and from where (security, LGPD). Append-only, separate from the events stream:
# events drive the UI and may be pruned; the audit log is evidence. No foreign keys, so that an
# entry outlives the user, contact or connector it names.
audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_id", BigId),  # null: the system (timers, webhooks) or an unknown login
    Column("action", String(60), nullable=False),  # dotted English: login.failed, conversation.take, ...
    Column("target_type", String(40)),  # user | contact | conversation | connector | token | ...
    Column("target_id", BigId),
    Column("contact_id", BigId),  # the data subject concerned, if any: "who looked at this customer"
    Column("ip", String(64)),
    Column("detail", Json, nullable=False, server_default="{}"),
)
Index("ix_audit_log_at", audit_log.c.at, audit_log.c.id)
Index("ix_audit_log_actor", audit_log.c.actor_id, audit_log.c.id)
Index("ix_audit_log_action", audit_log.c.action, audit_log.c.id)
Index("ix_audit_log_contact", audit_log.c.contact_id, audit_log.c.id)
Index("ix_audit_log_target", audit_log.c.target_type, audit_log.c.target_id, audit_log.c.id)

# Login throttling shared by every process: one row per account ("email:...") and per address
# ("ip:..."), with exponential back-off once the failures pass the allowance.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False, server_default=text("0")),  # in the current minute
    Column("window_start", UtcDateTime, nullable=False),
    Column("strikes", Integer, nullable=False, server_default=text("0")),  # blocks in a row: the back-off
    Column("blocked_until", UtcDateTime),
)

# Status reports for messages we cannot match yet (the report beat the send's answer, or names
# nothing of ours). Parked here once, matched when the send's answer is recorded, pruned by the
# sweep: never one retrying job per report.
parked_statuses = Table(
    "parked_statuses",
    metadata,
    _id(),
    Column("connector_id", BigId, nullable=False),
    Column("provider_message_id", String(200)),
    Column("reference", String(200)),
    Column("status", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_parked_statuses_provider_id", parked_statuses.c.connector_id, parked_statuses.c.provider_message_id)
Index("ix_parked_statuses_reference", parked_statuses.c.connector_id, parked_statuses.c.reference)
Index("ix_parked_statuses_created", parked_statuses.c.created_at)

# Per-user send quotas: messages queued per user per hour, so a stolen account cannot message
# thousands of numbers. A day's total is the sum of at most 24 rows.
send_counters = Table(
    "send_counters",
    metadata,
    Column("user_id", BigId, primary_key=True),
    Column("hour", UtcDateTime, primary_key=True),
    Column("n", Integer, nullable=False, server_default=text("0")),
)


# ---- LGPD (issue 15) ---------------------------------------------------------------------------

# The consent ledger: every opt-in and opt-out of a contact per channel, with its source (keyword,
# agent, api, campaign, import, provider_blacklist, retained), time and actor. contacts.*_opted_out
# is the current state; both are written by actions/consents.py only.
consents = Table(
    "consents",
    metadata,
    _id(),
    _fk("contact_id", "contacts.id", nullable=False, ondelete="CASCADE"),
    Column("channel", String(20), nullable=False),
    Column("opted_out", Boolean, nullable=False),
    Column("source", String(20), nullable=False),
    Column("actor_id", BigId),  # the user, when one did it
    Column("at", UtcDateTime, nullable=False),
    Column("detail", Json, nullable=False, server_default="{}"),  # ids only: {"campaign_id": 3}, {"keyword": "SAIR"}
)
Index("ix_consents_contact", consents.c.contact_id, consents.c.id)

# Data-subject requests (export, erasure): when the titular asked, who handled it, the outcome, so
# the 15-day deadline can be shown to have been met. No foreign keys: evidence outlives rows.
data_requests = Table(
    "data_requests",
    metadata,
    _id(),
    Column("contact_id", BigId, nullable=False),
    Column("kind", String(10), nullable=False),  # export | erasure
    Column("status", String(10), nullable=False),  # open | done | refused
    Column("requester", String(20), nullable=False),  # titular | representative | anpd | other
    Column("reference", String(100), nullable=False, server_default=""),  # protocol / ticket number
    Column("requested_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("created_by", BigId),
    Column("handler_id", BigId),
    Column("completed_at", UtcDateTime),
    Column("outcome", Json, nullable=False, server_default="{}"),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_data_requests_contact", data_requests.c.contact_id, data_requests.c.id)
Index("ix_data_requests_status", data_requests.c.status, data_requests.c.due_at)

# Installation-wide settings edited in the UI (retention, masking): one JSON document per key.
app_settings = Table(
    "app_settings",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Json, nullable=False, server_default="{}"),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", BigId),
)

# The access log writes contact.view once per user, contact and hour: this remembers which hours
# are written (pruned daily), so a busy agent costs one read, not one write per open.
access_marks = Table(
    "access_marks",
    metadata,
    Column("user_id", BigId, primary_key=True),
    Column("contact_id", BigId, primary_key=True),
    Column("hour", UtcDateTime, primary_key=True),
)

# ---- outside systems (integrations/odoo) -------------------------------------------------------

# One row per integration ("odoo"): plain settings, the secret part Fernet-encrypted like connector
# configs, and the outcome of the last connection test.
integrations = Table(
    "integrations",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("config", Json, nullable=False, server_default="{}"),
    Column("secret_encrypted", Text, nullable=False, server_default=""),
    Column("status", Json, nullable=False, server_default="{}"),
    Column("updated_at", UtcDateTime, nullable=False),
)

# What the contact panel shows of a linked Odoo partner, copied when it is linked (no Odoo call per view).
odoo_partners = Table(
    "odoo_partners",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=False),  # res.partner id
    Column("name", String(300), nullable=False, server_default=""),
    Column("email", String(254)),
    Column("vat", String(40)),
    Column("phone", String(60)),
    Column("mobile", String(60)),
    Column("fetched_at", UtcDateTime, nullable=False),
)

# One transcript per attendance, posted to the partner's chatter: the primary key is what makes it
# "once"; the row outlives retries and says what Odoo answered.
odoo_transcripts = Table(
    "odoo_transcripts",
    metadata,
    Column("attendance_id", BigId, ForeignKey("attendances.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("partner_id", BigId, nullable=False),
    Column("status", String(10), nullable=False),  # pending | posted | skipped | failed
    Column("odoo_message_id", BigId),
    Column("error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("posted_at", UtcDateTime),
)

# ChatRoom history import: one row per Odoo source (url + database), with its checkpoints.
chatroom_imports = Table(
    "chatroom_imports",
    metadata,
    Column("source", String(40), primary_key=True),  # short hash of url + db
    Column("state", Json, nullable=False, server_default="{}"),
    Column("lease_until", UtcDateTime),  # one run at a time per source
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

# ChatRoom record → atende row (connectors, conversations, users); messages need none: their
# provider_message_id is "chatroom:<connector>:<id>", unique per connector already.
chatroom_links = Table(
    "chatroom_links",
    metadata,
    Column("source", String(40), primary_key=True),
    Column("model", String(20), primary_key=True),  # connector | conversation | user
    Column("remote_id", BigId, primary_key=True, autoincrement=False),
    Column("local_id", BigId, nullable=False),
    Column("remote_connector_id", BigId),  # conversations: their ChatRoom connector (for --verify)
    Column("remote_partner_id", BigId),  # conversations: the partner ChatRoom had linked
)
# ---- teams and routing (issue 8) ---------------------------------------------------------------

teams = Table(
    "teams",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("policy", String(20), nullable=False, server_default="least_busy"),  # least_busy round_robin sticky manual
    Column("visibility", String(10), nullable=False, server_default="own"),  # own | team
    # {"timezone", "weekly": {"mon": [["08:00", "18:00"]], ...}, "holidays": ["2026-12-25"]}; null: always open.
    Column("business_hours", Json),
    Column("out_of_hours_message", Text),
    # Timers (null: the installation's default from settings; 0: off).
    Column("release_after_s", Integer),
    Column("auto_close_after_s", Integer),
    Column("closing_message", Text),
    _fk("fallback_agent_id", "users.id", ondelete="SET NULL"),  # released conversations go here, if set
    # Waiting-time colours (the SLA): amber, then red, after this many seconds (null: the installation's
    # ATENDE_WAIT_WARN_S / ATENDE_WAIT_LATE_S; 0: off).
    Column("wait_warn_s", Integer),
    Column("wait_late_s", Integer),
    Column("last_assigned_id", BigId),  # round robin: the member who got the last conversation
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

team_members = Table(
    "team_members",
    metadata,
    _fk("team_id", "teams.id", nullable=False, ondelete="CASCADE"),
    _fk("user_id", "users.id", nullable=False, ondelete="CASCADE"),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("team_id", "user_id", name="pk_team_members"),
)
Index("ix_team_members_user", team_members.c.user_id)

# A connector is served by at most one team: its new conversations enter that team's queue.
team_connectors = Table(
    "team_connectors",
    metadata,
    Column("connector_id", BigId, ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True),
    _fk("team_id", "teams.id", nullable=False, ondelete="CASCADE"),
)
Index("ix_team_connectors_team", team_connectors.c.team_id)

# Everyone who ever held a conversation: agents keep reading what they handled (read-only).
conversation_handlers = Table(
    "conversation_handlers",
    metadata,
    _fk("conversation_id", "conversations.id", nullable=False, ondelete="CASCADE"),
    _fk("user_id", "users.id", nullable=False, ondelete="CASCADE"),
    PrimaryKeyConstraint("conversation_id", "user_id", name="pk_conversation_handlers"),
)

tags = Table(
    "tags",
    metadata,
    _id(),
    Column("name", String(60), nullable=False, unique=True),
    Column("colour", String(7), nullable=False, server_default="#64748b"),
    Column("created_at", UtcDateTime, nullable=False),
)

conversation_tags = Table(
    "conversation_tags",
    metadata,
    _fk("conversation_id", "conversations.id", nullable=False, ondelete="CASCADE"),
    _fk("tag_id", "tags.id", nullable=False, ondelete="CASCADE"),
    PrimaryKeyConstraint("conversation_id", "tag_id", name="pk_conversation_tags"),
)
Index("ix_conversation_tags_tag", conversation_tags.c.tag_id, conversation_tags.c.conversation_id)

# The menu bot of a connector: greeting, numbered options (a team to route to, or a text reply).
connector_bots = Table(
    "connector_bots",
    metadata,
    Column("connector_id", BigId, ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True),
    Column("enabled", Boolean, nullable=False, server_default=false()),
    Column("greeting", Text, nullable=False, server_default=""),
    Column("options", Json, nullable=False, server_default="[]"),  # [{"key", "label", "team_id"|"reply", "tag"?}]
    Column("invalid_reply", Text, nullable=False, server_default=""),
    Column("timeout_s", Integer, nullable=False, server_default=text("300")),
    Column("updated_at", UtcDateTime, nullable=False),
)


# ---- reports (issue 9) ---------------------------------------------------------------------------
# Counters the actions keep in their own transaction, so the dashboard and the reports never scan
# messages. What counts where is written in atende.actions.rollups (and on the reports page).

# The reports' fact table: one row per UTC hour, conversation, team and agent with any message.
# Whole-hour buckets sum exactly into the days of any zone with a whole-hour offset; the conversation
# makes "active" a distinct count over any period. team_id/agent_id 0 = none.
report_activity = Table(
    "report_activity",
    metadata,
    Column("hour", UtcDateTime, primary_key=True),
    Column("conversation_id", BigId, primary_key=True, autoincrement=False),
    Column("team_id", BigId, primary_key=True, autoincrement=False),
    Column("agent_id", BigId, primary_key=True, autoincrement=False),  # the author of a person's message
    Column("channel", String(20), nullable=False),
    Column("connector_id", BigId, nullable=False),
    Column("messages_in", Integer, nullable=False, server_default=text("0")),
    Column("messages_out", Integer, nullable=False, server_default=text("0")),  # every outbound message
    Column("messages_agent", Integer, nullable=False, server_default=text("0")),  # of those, written by people
    Column("sms_sent", Integer, nullable=False, server_default=text("0")),  # accepted by the provider
    Column("sms_segments", Integer, nullable=False, server_default=text("0")),
    Column("sms_cost", Money, nullable=False, server_default=text("0")),
    Column("sms_delivered", Integer, nullable=False, server_default=text("0")),
    Column("sms_failed", Integer, nullable=False, server_default=text("0")),
)

# The dashboard's counters: per day in the installation's zone, channel, connector, team and agent.
# A few rows per day, so "today" and "this month" are sums of a handful of rows at any size.
report_daily = Table(
    "report_daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("connector_id", BigId, primary_key=True, autoincrement=False),
    Column("team_id", BigId, primary_key=True, autoincrement=False),
    Column("agent_id", BigId, primary_key=True, autoincrement=False),
    Column("active", Integer, nullable=False, server_default=text("0")),  # conversations with a message that day
    Column("messages_in", Integer, nullable=False, server_default=text("0")),
    Column("messages_out", Integer, nullable=False, server_default=text("0")),
    Column("messages_agent", Integer, nullable=False, server_default=text("0")),
    Column("sms_sent", Integer, nullable=False, server_default=text("0")),
    Column("sms_segments", Integer, nullable=False, server_default=text("0")),
    Column("sms_cost", Money, nullable=False, server_default=text("0")),
    Column("sms_delivered", Integer, nullable=False, server_default=text("0")),
    Column("sms_failed", Integer, nullable=False, server_default=text("0")),
    Column("opened", Integer, nullable=False, server_default=text("0")),  # attendances started
    Column("reopened", Integer, nullable=False, server_default=text("0")),  # of those, not a conversation's first
    Column("closed", Integer, nullable=False, server_default=text("0")),
    Column("first_responses", Integer, nullable=False, server_default=text("0")),  # agent: who answered
    Column("first_response_s", BigId, nullable=False, server_default=text("0")),  # their sum, in seconds
)

# The provider balance, polled on a timer (never per page view), and whether it is below the
# connector's threshold (the dashboard's alert; crossing it appends an event).
connector_balances = Table(
    "connector_balances",
    metadata,
    Column("connector_id", BigId, ForeignKey("connectors.id", ondelete="CASCADE"), primary_key=True,
           autoincrement=False),
    Column("balance", Money),
    Column("low", Boolean, nullable=False, server_default=false()),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("error", Text),  # the last poll's failure, in words (the balance shown is then the last known)
)

# First-response SLA targets per team (team_id 0: the default queue). Its own table, not a column of
# teams: the default queue has a target too. A team without a row has no SLA.
report_sla_targets = Table(
    "report_sla_targets",
    metadata,
    Column("team_id", BigId, primary_key=True, autoincrement=False),
    Column("first_response_s", Integer, nullable=False),  # answered within this many business seconds
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", BigId),
)

# Per attendance, what its report row needs: where it happened, the first-response clock (from the
# customer's first message: `customer_at`) and its own counters.
for _column in (
    Column("connector_id", BigId),
    Column("channel", String(20)),
    Column("team_id", BigId),
    Column("reopened", Boolean, nullable=False, server_default=false()),  # not the conversation's first
    Column("customer_at", UtcDateTime),  # the customer's first message in this attendance
    Column("first_response_by", BigId),  # the agent whose message was the first response
    Column("first_response_business_s", Integer),  # the same wait, counting only the team's business hours
    Column("messages_in", Integer, nullable=False, server_default=text("0")),
    Column("messages_out", Integer, nullable=False, server_default=text("0")),
    Column("sms_segments", Integer, nullable=False, server_default=text("0")),
    Column("sms_cost", Money, nullable=False, server_default=text("0")),
):
    attendances.append_column(_column)
Index("ix_attendances_started", attendances.c.started_at, attendances.c.id)
# The day (installation's zone) of the conversation's last counted message: "active today" counts once.
conversations.append_column(Column("active_on", Date))
# The team that served the conversation when the message was written: reports attribute it there.
messages.append_column(Column("team_id", BigId))

# ---- campaigns, templates with variables, CSAT (issue 11) ------------------------------------------

# Saved texts with {{variables}} ({{nome}}, {{valor}}, {{vencimento}}, {{agente}}, contact fields), for
# the composer, quick replies and campaigns. connector_id null: offered on every connector.
message_templates = Table(
    "message_templates",
    metadata,
    _id(),
    Column("name", String(120), nullable=False, unique=True),
    _fk("connector_id", "connectors.id", ondelete="CASCADE"),
    Column("text", Text, nullable=False),
    _fk("created_by", "users.id", ondelete="SET NULL"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A bulk send. Its counters are kept by the actions (never COUNT(*) over the recipients):
# queued = waiting or being sent; sent = accepted by the provider (delivered is a subset);
# failed, limited (Meta's marketing limits) and skipped (cancelled, or opted out before its turn).
campaigns = Table(
    "campaigns",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    _fk("connector_id", "connectors.id", nullable=False),
    Column("channel", String(20), nullable=False),
    Column("status", String(12), nullable=False),  # preparing draft scheduled running paused done cancelled
    Column("text", Text),  # SMS / free text with {{variables}}
    Column("template", Json),  # WhatsApp: {"name", "language", "params"}
    Column("rate_per_minute", Integer, nullable=False),
    Column("send_window", Json),  # {"timezone", "start", "end", "days"}; null = any time
    Column("schedule_at", UtcDateTime),
    Column("estimate", Json, nullable=False, server_default="{}"),
    Column("waiting_until", UtcDateTime),  # outside the window: when it opens again
    Column("error", Text),  # why the pacer paused it (balance, token...), shown on its page
    Column("batches", Integer, nullable=False, server_default=text("0")),
    Column("recipients", BigId, nullable=False, server_default=text("0")),
    Column("queued", BigId, nullable=False, server_default=text("0")),
    Column("sent", BigId, nullable=False, server_default=text("0")),
    Column("delivered", BigId, nullable=False, server_default=text("0")),
    Column("failed", BigId, nullable=False, server_default=text("0")),
    Column("limited", BigId, nullable=False, server_default=text("0")),
    Column("skipped", BigId, nullable=False, server_default=text("0")),
    Column("replied", BigId, nullable=False, server_default=text("0")),
    Column("opted_out", BigId, nullable=False, server_default=text("0")),
    Column("segments", BigId, nullable=False, server_default=text("0")),
    Column("cost", Money, nullable=False, server_default=text("0")),
    _fk("created_by", "users.id"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("progress_at", UtcDateTime),  # last campaign.progress event (throttles them)
    Column("ref_key", String(32)),  # signs the recipients' references (domain/campaign_refs.py)
)

# One row per number a campaign sends to: the unique key (campaign, address) and the durable state
# (pending → sending → sent → delivered/read, or failed / limited / skipped) make "never twice" hold
# across crashes. The message row in the conversation is only written when the customer replies.
campaign_recipients = Table(
    "campaign_recipients",
    metadata,
    _id(),
    _fk("campaign_id", "campaigns.id", nullable=False, ondelete="CASCADE"),
    Column("connector_id", BigId, nullable=False),  # copied from the campaign: the lookups filter by it
    Column("row_no", Integer, nullable=False),  # line of the CSV (1 = first data row)
    Column("address_key", String(40), nullable=False),  # canonical E.164
    Column("vars", Json, nullable=False, server_default="{}"),
    Column("text", Text),  # the rendered text the customer reads
    Column("segments", Integer),
    Column("cost", Money),
    Column("state", String(10), nullable=False),
    Column("batch_no", Integer),
    Column("claimed_at", UtcDateTime),
    Column("provider_message_id", String(200)),
    Column("provider_request_id", String(200)),
    Column("error_code", String(40)),
    Column("error", Text),
    Column("sent_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("replied_at", UtcDateTime),
    Column("opted_out_at", UtcDateTime),
    Column("message_id", BigId),  # the campaign message, once written into the conversation
    UniqueConstraint("campaign_id", "address_key", name="uq_campaign_recipients_campaign_address"),
)
Index("ix_campaign_recipients_state", campaign_recipients.c.campaign_id, campaign_recipients.c.state,
      campaign_recipients.c.id)
Index("ix_campaign_recipients_provider_id", campaign_recipients.c.provider_message_id)
Index("ix_campaign_recipients_request", campaign_recipients.c.provider_request_id)
Index("ix_campaign_recipients_address", campaign_recipients.c.address_key, campaign_recipients.c.id)

# Rows of the CSV that will not be sent, and why (the downloadable exclusions list).
campaign_exclusions = Table(
    "campaign_exclusions",
    metadata,
    _id(),
    _fk("campaign_id", "campaigns.id", nullable=False, ondelete="CASCADE"),
    Column("row_no", Integer, nullable=False),
    Column("phone", String(100), nullable=False),  # as written in the file
    Column("reason", String(20), nullable=False),  # invalid | duplicate | opted_out | blocked | missing_vars
    Column("detail", String(300), nullable=False, server_default=""),
)
Index("ix_campaign_exclusions_campaign", campaign_exclusions.c.campaign_id, campaign_exclusions.c.id)

# Satisfaction survey after a conversation closes, per connector (or per team).
csat_settings = Table(
    "csat_settings",
    metadata,
    _id(),
    _fk("connector_id", "connectors.id", ondelete="CASCADE"),
    _fk("team_id", "teams.id", ondelete="CASCADE"),
    Column("enabled", Boolean, nullable=False, server_default=false()),
    Column("question", Text, nullable=False),
    Column("window_hours", Integer, nullable=False, server_default=text("24")),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("connector_id", name="uq_csat_settings_connector_id"),
    UniqueConstraint("team_id", name="uq_csat_settings_team_id"),
)

# The rating lives on the attendance it judges (reports aggregate it per agent and team).
attendances.append_column(Column("csat_rating", Integer))  # 1..5
attendances.append_column(Column("csat_comment", Text))
attendances.append_column(Column("csat_asked_at", UtcDateTime))
attendances.append_column(Column("csat_answered_at", UtcDateTime))
