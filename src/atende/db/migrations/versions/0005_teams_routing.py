"""teams, routing, the waiting queue, business hours, the menu bot, tags, visibility

Revision ID: 0005
Revises: 0006
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import atende.db.types

revision: str = "0005"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UtcDateTime = atende.db.types.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("policy", sa.String(length=20), server_default="least_busy", nullable=False),
        sa.Column("visibility", sa.String(length=10), server_default="own", nullable=False),
        sa.Column("business_hours", Json, nullable=True),
        sa.Column("out_of_hours_message", sa.Text(), nullable=True),
        sa.Column("release_after_s", sa.Integer(), nullable=True),
        sa.Column("auto_close_after_s", sa.Integer(), nullable=True),
        sa.Column("closing_message", sa.Text(), nullable=True),
        sa.Column("fallback_agent_id", BigId, nullable=True),
        sa.Column("last_assigned_id", BigId, nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["fallback_agent_id"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_teams_fallback_agent_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name=op.f("fk_team_members_team_id_teams")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_team_members_user_id_users")),
        sa.PrimaryKeyConstraint("team_id", "user_id", name="pk_team_members"),
    )
    op.create_index("ix_team_members_user", "team_members", ["user_id"])
    op.create_table(
        "team_connectors",
        sa.Column("connector_id", BigId, nullable=False),
        sa.Column("team_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], ondelete="CASCADE",
                                name=op.f("fk_team_connectors_connector_id_connectors")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name=op.f("fk_team_connectors_team_id_teams")),
        sa.PrimaryKeyConstraint("connector_id", name=op.f("pk_team_connectors")),
    )
    op.create_index("ix_team_connectors_team", "team_connectors", ["team_id"])
    op.create_table(
        "conversation_handlers",
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name=op.f("fk_conversation_handlers_conversation_id_conversations")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_conversation_handlers_user_id_users")),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name="pk_conversation_handlers"),
    )
    op.create_table(
        "tags",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("colour", sa.String(length=7), server_default="#64748b", nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "conversation_tags",
        sa.Column("conversation_id", BigId, nullable=False),
        sa.Column("tag_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name=op.f("fk_conversation_tags_conversation_id_conversations")),
        sa.ForeignKeyConstraint(["tag_id"], ["tags.id"], ondelete="CASCADE",
                                name=op.f("fk_conversation_tags_tag_id_tags")),
        sa.PrimaryKeyConstraint("conversation_id", "tag_id", name="pk_conversation_tags"),
    )
    op.create_index("ix_conversation_tags_tag", "conversation_tags", ["tag_id", "conversation_id"])
    op.create_table(
        "connector_bots",
        sa.Column("connector_id", BigId, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("greeting", sa.Text(), server_default="", nullable=False),
        sa.Column("options", Json, server_default="[]", nullable=False),
        sa.Column("invalid_reply", sa.Text(), server_default="", nullable=False),
        sa.Column("timeout_s", sa.Integer(), server_default=sa.text("300"), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], ondelete="CASCADE",
                                name=op.f("fk_connector_bots_connector_id_connectors")),
        sa.PrimaryKeyConstraint("connector_id", name=op.f("pk_connector_bots")),
    )
    op.create_table(
        "contact_opt_outs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE",
                                name=op.f("fk_contact_opt_outs_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_opt_outs")),
    )
    op.create_index("ix_contact_opt_outs_contact", "contact_opt_outs", ["contact_id", "id"])

    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("team_id", BigId, nullable=True))
        batch.add_column(sa.Column("waiting_since", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("bot", Json, nullable=True))
        batch.add_column(sa.Column("out_of_hours_until", UtcDateTime(), nullable=True))
        batch.create_foreign_key(op.f("fk_conversations_team_id_teams"), "teams", ["team_id"], ["id"],
                                 ondelete="SET NULL")
    # The waiting clock of what already waits: since its last customer message (or its last activity).
    op.execute("UPDATE conversations SET waiting_since = COALESCE(last_inbound_at, last_activity_at) "
               "WHERE status = 'new'")
    op.create_index("ix_conversations_team_activity", "conversations",
                    ["team_id", "status", "last_activity_at", "id"])
    op.create_index("ix_conversations_queue", "conversations", ["status", "team_id", "waiting_since", "id"])

    with op.batch_alter_table("conversation_counts") as batch:
        batch.add_column(sa.Column("team_id", BigId, server_default=sa.text("0"), nullable=False))
        batch.drop_constraint("pk_conversation_counts", type_="primary")
        batch.create_primary_key("pk_conversation_counts", ["channel", "status", "assignee_id", "team_id"])

    with op.batch_alter_table("media") as batch:
        batch.add_column(sa.Column("uploaded_by", BigId, nullable=True))
    op.create_index("ix_messages_media", "messages", ["media_id"])

    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("whatsapp_opted_out", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("whatsapp_opted_out_at", UtcDateTime(), nullable=True))
    # Who answered before: every agent an attendance was assigned to.
    op.execute("INSERT INTO conversation_handlers (conversation_id, user_id) "
               "SELECT DISTINCT conversation_id, assignee_id FROM attendances WHERE assignee_id IS NOT NULL")
    _arm_timers()


def _arm_timers() -> None:
    """Release and auto-close were periodic sweeps; now they are timers per conversation. Arm them for
    what is in service now (each looks at its conversation when it runs)."""
    bind = op.get_bind()
    conv = sa.table("conversations", sa.column("id", sa.BigInteger), sa.column("status", sa.String))
    jobs = sa.table("jobs", sa.column("kind", sa.String), sa.column("payload", Json), sa.column("status", sa.String),
                    sa.column("run_at", sa.DateTime), sa.column("attempts", sa.Integer),
                    sa.column("max_attempts", sa.Integer), sa.column("dedup_key", sa.String),
                    sa.column("created_at", sa.DateTime), sa.column("updated_at", sa.DateTime))
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = [int(r[0]) for r in bind.execute(sa.select(conv.c.id).where(conv.c.status == "open"))]
    for start in range(0, len(ids), 1000):
        bind.execute(sa.insert(jobs), [
            {"kind": "conversation_timer", "payload": {"conversation_id": cid, "timer": timer}, "status": "pending",
             "run_at": now, "attempts": 0, "max_attempts": 8, "dedup_key": f"timer:{timer}:{cid}",
             "created_at": now, "updated_at": now}
            for cid in ids[start:start + 1000] for timer in ("release", "close")])


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("whatsapp_opted_out_at")
        batch.drop_column("whatsapp_opted_out")
    op.drop_index("ix_messages_media", table_name="messages")
    with op.batch_alter_table("media") as batch:
        batch.drop_column("uploaded_by")
    op.execute("DELETE FROM conversation_counts")
    with op.batch_alter_table("conversation_counts") as batch:
        batch.drop_constraint("pk_conversation_counts", type_="primary")
        batch.create_primary_key("pk_conversation_counts", ["channel", "status", "assignee_id"])
        batch.drop_column("team_id")
    op.execute("INSERT INTO conversation_counts (channel, status, assignee_id, n) "
               "SELECT channel, status, COALESCE(assignee_id, 0), COUNT(*) FROM conversations "
               "GROUP BY channel, status, COALESCE(assignee_id, 0)")
    op.drop_index("ix_conversations_queue", table_name="conversations")
    op.drop_index("ix_conversations_team_activity", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint(op.f("fk_conversations_team_id_teams"), type_="foreignkey")
        batch.drop_column("out_of_hours_until")
        batch.drop_column("bot")
        batch.drop_column("waiting_since")
        batch.drop_column("team_id")
    for table in ("contact_opt_outs", "connector_bots", "conversation_tags", "tags", "conversation_handlers",
                  "team_connectors", "team_members", "teams"):
        op.drop_table(table)
