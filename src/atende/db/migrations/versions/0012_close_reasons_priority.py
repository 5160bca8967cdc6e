"""workspace polish: close reasons (a list supervisors edit, on attendances) and conversation priority

Revision ID: 0012
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import atende.db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# What a new installation offers; supervisors rename, reorder, add and retire them.
DEFAULT_REASONS = ("Resolvido", "Sem retorno do cliente", "Engano / número errado", "Spam")


def upgrade() -> None:
    table = op.create_table(
        "close_reasons",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", atende.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_close_reasons")),
        sa.UniqueConstraint("name", name=op.f("uq_close_reasons_name")),
    )
    # naive UTC, as UtcDateTime stores it
    now = sa.text("timezone('utc', now())" if op.get_bind().dialect.name == "postgresql" else "CURRENT_TIMESTAMP")
    op.execute(table.insert().from_select(
        ["name", "position", "created_at"],
        sa.union_all(*(sa.select(sa.literal(name), sa.literal(i), now) for i, name in enumerate(DEFAULT_REASONS)))))
    with op.batch_alter_table("attendances") as batch:
        batch.add_column(sa.Column("close_reason_id", BigId, nullable=True))
        batch.create_foreign_key(op.f("fk_attendances_close_reason_id_close_reasons"), "close_reasons",
                                 ["close_reason_id"], ["id"])
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.create_index("ix_conversations_status_priority", "conversations",
                    ["status", "priority", "last_activity_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_conversations_status_priority", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("priority")
    with op.batch_alter_table("attendances") as batch:
        batch.drop_constraint(op.f("fk_attendances_close_reason_id_close_reasons"), type_="foreignkey")
        batch.drop_column("close_reason_id")
    op.drop_table("close_reasons")
