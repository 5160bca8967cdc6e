"""audit log: who did what, when and from where

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import atende.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", atende.db.types.UtcDateTime(), nullable=False),
        sa.Column("actor_id", BigId, nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", BigId, nullable=True),
        sa.Column("contact_id", BigId, nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at", "id"])
    op.create_index("ix_audit_log_actor", "audit_log", ["actor_id", "id"])
    op.create_index("ix_audit_log_action", "audit_log", ["action", "id"])
    op.create_index("ix_audit_log_contact", "audit_log", ["contact_id", "id"])
    op.create_index("ix_audit_log_target", "audit_log", ["target_type", "target_id", "id"])


def downgrade() -> None:
    op.drop_table("audit_log")
