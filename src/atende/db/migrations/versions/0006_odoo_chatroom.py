"""odoo bridge and chatroom import: integrations, partner cache, transcripts, import checkpoints

Revision ID: 0006
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import atende.db.types

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = atende.db.types.UtcDateTime


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("name_by_agent", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "integrations",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("config", Json, server_default="{}", nullable=False),
        sa.Column("secret_encrypted", sa.Text(), server_default="", nullable=False),
        sa.Column("status", Json, server_default="{}", nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_integrations")),
    )
    op.create_table(
        "odoo_partners",
        sa.Column("id", BigId, autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=300), server_default="", nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("vat", sa.String(length=40), nullable=True),
        sa.Column("phone", sa.String(length=60), nullable=True),
        sa.Column("mobile", sa.String(length=60), nullable=True),
        sa.Column("fetched_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_odoo_partners")),
    )
    op.create_table(
        "odoo_transcripts",
        sa.Column("attendance_id", BigId, autoincrement=False, nullable=False),
        sa.Column("partner_id", BigId, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("odoo_message_id", BigId, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("posted_at", When(), nullable=True),
        sa.ForeignKeyConstraint(["attendance_id"], ["attendances.id"], ondelete="CASCADE",
                                name=op.f("fk_odoo_transcripts_attendance_id_attendances")),
        sa.PrimaryKeyConstraint("attendance_id", name=op.f("pk_odoo_transcripts")),
    )
    op.create_table(
        "chatroom_imports",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("state", Json, server_default="{}", nullable=False),
        sa.Column("lease_until", When(), nullable=True),
        sa.Column("started_at", When(), nullable=True),
        sa.Column("finished_at", When(), nullable=True),
        sa.Column("updated_at", When(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_chatroom_imports")),
    )
    op.create_table(
        "chatroom_links",
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("model", sa.String(length=20), nullable=False),
        sa.Column("remote_id", BigId, autoincrement=False, nullable=False),
        sa.Column("local_id", BigId, nullable=False),
        sa.Column("remote_connector_id", BigId, nullable=True),
        sa.Column("remote_partner_id", BigId, nullable=True),
        sa.PrimaryKeyConstraint("source", "model", "remote_id", name=op.f("pk_chatroom_links")),
    )


def downgrade() -> None:
    op.drop_table("chatroom_links")
    op.drop_table("chatroom_imports")
    op.drop_table("odoo_transcripts")
    op.drop_table("odoo_partners")
    op.drop_table("integrations")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("name_by_agent")
