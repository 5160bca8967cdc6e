"""workspace polish: each team's waiting-time thresholds (amber, red) for the board's colours

Revision ID: 0012b
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012b"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("wait_warn_s", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("wait_late_s", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("wait_late_s")
        batch.drop_column("wait_warn_s")
