"""LGPD: consent ledger (replacing contact_opt_outs), data-subject requests, settings, access marks,
legal hold, hidden and redacted messages, erased contacts

Revision ID: 0011
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import atende.db.types

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = atende.db.types.UtcDateTime


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("erased_at", When(), nullable=True))
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("legal_hold_at", When(), nullable=True))
        batch.add_column(sa.Column("legal_hold_by", BigId, nullable=True))
        batch.add_column(sa.Column("legal_hold_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("hidden_at", When(), nullable=True))
        batch.add_column(sa.Column("hidden_by", BigId, nullable=True))
        batch.add_column(sa.Column("redacted_at", When(), nullable=True))
    unredacted = sa.text("redacted_at IS NULL")
    op.create_index("ix_messages_unredacted", "messages", ["created_at", "id"], sqlite_where=unredacted,
                    postgresql_where=unredacted)
    op.create_index("ix_media_created", "media", ["created_at", "id"])
    # ix_messages_media comes with 0005 (teams: who may download a file); erasure and retention use it too.

    op.create_table(
        "consents",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("at", When(), nullable=False),
        sa.Column("detail", JsonType, server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], name=op.f("fk_consents_contact_id_contacts"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_contact", "consents", ["contact_id", "id"])
    # One ledger: the opt-out history kept so far (contact_opt_outs) moves in, in its order, and a
    # current opt-out with no history starts it as "legacy" (its time is all we know of it).
    op.execute(sa.text(
        "INSERT INTO consents (contact_id, channel, opted_out, source, actor_id, at, detail) "
        "SELECT contact_id, channel, opted_out, CASE source WHEN 'customer' THEN 'keyword' "
        "WHEN 'agent' THEN 'agent' ELSE 'legacy' END, actor_id, at, '{}' FROM contact_opt_outs ORDER BY id"))
    for channel in ("sms", "whatsapp"):
        op.execute(sa.text(
            f"INSERT INTO consents (contact_id, channel, opted_out, source, at, detail) "
            f"SELECT id, '{channel}', :t, 'legacy', coalesce({channel}_opted_out_at, updated_at), '{{}}' FROM contacts "
            f"WHERE {channel}_opted_out = :t AND NOT EXISTS (SELECT 1 FROM consents "
            f"WHERE consents.contact_id = contacts.id AND consents.channel = '{channel}')").bindparams(t=True))
    op.drop_index("ix_contact_opt_outs_contact", table_name="contact_opt_outs")
    op.drop_table("contact_opt_outs")

    op.create_table(
        "data_requests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requester", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=100), server_default="", nullable=False),
        sa.Column("requested_at", When(), nullable=False),
        sa.Column("due_at", When(), nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("handler_id", BigId, nullable=True),
        sa.Column("completed_at", When(), nullable=True),
        sa.Column("outcome", JsonType, server_default="{}", nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_requests")),
    )
    op.create_index("ix_data_requests_contact", "data_requests", ["contact_id", "id"])
    op.create_index("ix_data_requests_status", "data_requests", ["status", "due_at"])

    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("value", JsonType, server_default="{}", nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.Column("updated_by", BigId, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_settings")),
    )
    op.create_table(
        "access_marks",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("hour", When(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "contact_id", "hour", name=op.f("pk_access_marks")),
    )


def downgrade() -> None:
    op.drop_table("access_marks")
    op.drop_table("app_settings")
    op.drop_table("data_requests")
    op.create_table(
        "contact_opt_outs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("at", When(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE",
                                name=op.f("fk_contact_opt_outs_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_opt_outs")),
    )
    op.create_index("ix_contact_opt_outs_contact", "contact_opt_outs", ["contact_id", "id"])
    op.execute(sa.text(
        "INSERT INTO contact_opt_outs (contact_id, channel, opted_out, actor_id, source, at) "
        "SELECT contact_id, channel, opted_out, actor_id, CASE source WHEN 'keyword' THEN 'customer' "
        "WHEN 'agent' THEN 'agent' WHEN 'api' THEN 'agent' ELSE 'system' END, at FROM consents "
        "WHERE channel IN ('sms', 'whatsapp') ORDER BY id"))
    op.drop_table("consents")
    op.drop_index("ix_media_created", table_name="media")
    op.drop_index("ix_messages_unredacted", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("redacted_at")
        batch.drop_column("hidden_by")
        batch.drop_column("hidden_at")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("legal_hold_reason")
        batch.drop_column("legal_hold_by")
        batch.drop_column("legal_hold_at")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("erased_at")
