"""reports: hourly activity per conversation, daily counters, balances, SLA targets, attendance figures

Revision ID: 0010
Revises: 0005

Existing attendances learn their connector and channel from their conversation; their counters start
at zero (`atende reports rebuild` recounts history from the messages).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import atende.db.types

revision: str = "0010"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = atende.db.types.UtcDateTime
Money = atende.db.types.Money
COUNTERS = ("messages_in", "messages_out", "messages_agent", "sms_sent", "sms_segments")


def _zero(name: str, type_: sa.types.TypeEngine | None = None) -> sa.Column:
    return sa.Column(name, type_ if type_ is not None else sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "report_activity",
        sa.Column("hour", When(), nullable=False),
        sa.Column("conversation_id", BigId, autoincrement=False, nullable=False),
        sa.Column("team_id", BigId, autoincrement=False, nullable=False),
        sa.Column("agent_id", BigId, autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("connector_id", BigId, nullable=False),
        *(_zero(name) for name in COUNTERS),
        _zero("sms_cost", Money()),
        _zero("sms_delivered"),
        _zero("sms_failed"),
        sa.PrimaryKeyConstraint("hour", "conversation_id", "team_id", "agent_id", name=op.f("pk_report_activity")),
    )
    op.create_table(
        "report_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("connector_id", BigId, autoincrement=False, nullable=False),
        sa.Column("team_id", BigId, autoincrement=False, nullable=False),
        sa.Column("agent_id", BigId, autoincrement=False, nullable=False),
        _zero("active"),
        *(_zero(name) for name in COUNTERS),
        _zero("sms_cost", Money()),
        _zero("sms_delivered"),
        _zero("sms_failed"),
        _zero("opened"),
        _zero("reopened"),
        _zero("closed"),
        _zero("first_responses"),
        _zero("first_response_s", BigId),
        sa.PrimaryKeyConstraint("day", "channel", "connector_id", "team_id", "agent_id",
                                name=op.f("pk_report_daily")),
    )
    op.create_table(
        "connector_balances",
        sa.Column("connector_id", BigId, autoincrement=False, nullable=False),
        sa.Column("balance", Money(), nullable=True),
        sa.Column("low", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("checked_at", When(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], ondelete="CASCADE",
                                name=op.f("fk_connector_balances_connector_id_connectors")),
        sa.PrimaryKeyConstraint("connector_id", name=op.f("pk_connector_balances")),
    )
    op.create_table(
        "report_sla_targets",
        sa.Column("team_id", BigId, autoincrement=False, nullable=False),
        sa.Column("first_response_s", sa.Integer(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.Column("updated_by", BigId, nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_report_sla_targets")),
    )
    # Plain ADD COLUMNs (SQLite's batch mode does them in place: no table copy, triggers kept).
    with op.batch_alter_table("attendances") as batch:
        batch.add_column(sa.Column("connector_id", BigId, nullable=True))
        batch.add_column(sa.Column("channel", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("team_id", BigId, nullable=True))
        batch.add_column(sa.Column("reopened", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("customer_at", When(), nullable=True))
        batch.add_column(sa.Column("first_response_by", BigId, nullable=True))
        batch.add_column(sa.Column("first_response_business_s", sa.Integer(), nullable=True))
        batch.add_column(_zero("messages_in"))
        batch.add_column(_zero("messages_out"))
        batch.add_column(_zero("sms_segments"))
        batch.add_column(_zero("sms_cost", Money()))
    op.create_index("ix_attendances_started", "attendances", ["started_at", "id"])
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("active_on", sa.Date(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("team_id", BigId, nullable=True))
    op.execute(
        "UPDATE attendances SET "
        "connector_id = (SELECT c.connector_id FROM conversations c WHERE c.id = attendances.conversation_id), "
        "channel = (SELECT c.channel FROM conversations c WHERE c.id = attendances.conversation_id)")
    # Earlier attendances of the same conversation make this one a reopening.
    op.execute(
        "UPDATE attendances SET reopened = TRUE WHERE EXISTS (SELECT 1 FROM attendances a "
        "WHERE a.conversation_id = attendances.conversation_id AND a.id < attendances.id)")


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("team_id")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("active_on")
    op.drop_index("ix_attendances_started", table_name="attendances")
    with op.batch_alter_table("attendances") as batch:
        for name in ("sms_cost", "sms_segments", "messages_out", "messages_in", "first_response_business_s",
                     "first_response_by", "customer_at", "reopened", "team_id", "channel", "connector_id"):
            batch.drop_column(name)
    op.drop_table("report_sla_targets")
    op.drop_table("connector_balances")
    op.drop_table("report_daily")
    op.drop_table("report_activity")
