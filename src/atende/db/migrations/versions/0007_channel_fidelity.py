"""channel fidelity: message edits and deletions, connector alerts, template status reasons

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import atende.db.types

revision: str = "0007"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("edited_at", atende.db.types.UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("deleted_at", atende.db.types.UtcDateTime(), nullable=True))
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("alerts", Json, server_default="[]", nullable=False))
    with op.batch_alter_table("templates") as batch:
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("templates") as batch:
        batch.drop_column("status_reason")
    with op.batch_alter_table("connectors") as batch:
        batch.drop_column("alerts")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("edited_at")
