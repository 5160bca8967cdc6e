"""campaigns, recipients and exclusions; message templates with variables; CSAT settings and ratings

Revision ID: 0008
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import atende.db.types

revision: str = "0008"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
Utc = atende.db.types.UtcDateTime
Money = atende.db.types.Money


def _counter(name: str) -> sa.Column:  # type: ignore[type-arg,unused-ignore]
    return sa.Column(name, BigId, server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "message_templates",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("connector_id", BigId, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", Utc(), nullable=False),
        sa.Column("updated_at", Utc(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], ondelete="CASCADE",
                                name=op.f("fk_message_templates_connector_id_connectors")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL",
                                name=op.f("fk_message_templates_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_message_templates_name")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("connector_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("template", Json, nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("send_window", Json, nullable=True),
        sa.Column("schedule_at", Utc(), nullable=True),
        sa.Column("estimate", Json, server_default="{}", nullable=False),
        sa.Column("waiting_until", Utc(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("batches", sa.Integer(), server_default=sa.text("0"), nullable=False),
        _counter("recipients"),
        _counter("queued"),
        _counter("sent"),
        _counter("delivered"),
        _counter("failed"),
        _counter("limited"),
        _counter("skipped"),
        _counter("replied"),
        _counter("opted_out"),
        _counter("segments"),
        sa.Column("cost", Money(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", Utc(), nullable=False),
        sa.Column("updated_at", Utc(), nullable=False),
        sa.Column("started_at", Utc(), nullable=True),
        sa.Column("finished_at", Utc(), nullable=True),
        sa.Column("progress_at", Utc(), nullable=True),
        sa.Column("ref_key", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], name=op.f("fk_campaigns_connector_id_connectors")),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_campaigns_created_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "campaign_recipients",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("connector_id", BigId, nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("address_key", sa.String(length=40), nullable=False),
        sa.Column("vars", Json, server_default="{}", nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("cost", Money(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("batch_no", sa.Integer(), nullable=True),
        sa.Column("claimed_at", Utc(), nullable=True),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("provider_request_id", sa.String(length=200), nullable=True),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_at", Utc(), nullable=True),
        sa.Column("delivered_at", Utc(), nullable=True),
        sa.Column("replied_at", Utc(), nullable=True),
        sa.Column("opted_out_at", Utc(), nullable=True),
        sa.Column("message_id", BigId, nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name=op.f("fk_campaign_recipients_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        sa.UniqueConstraint("campaign_id", "address_key", name="uq_campaign_recipients_campaign_address"),
    )
    op.create_index("ix_campaign_recipients_state", "campaign_recipients", ["campaign_id", "state", "id"])
    op.create_index("ix_campaign_recipients_provider_id", "campaign_recipients", ["provider_message_id"])
    op.create_index("ix_campaign_recipients_request", "campaign_recipients", ["provider_request_id"])
    op.create_index("ix_campaign_recipients_address", "campaign_recipients", ["address_key", "id"])
    op.create_table(
        "campaign_exclusions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("campaign_id", BigId, nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=300), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE",
                                name=op.f("fk_campaign_exclusions_campaign_id_campaigns")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_exclusions")),
    )
    op.create_index("ix_campaign_exclusions_campaign", "campaign_exclusions", ["campaign_id", "id"])
    op.create_table(
        "csat_settings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("connector_id", BigId, nullable=True),
        sa.Column("team_id", BigId, nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("window_hours", sa.Integer(), server_default=sa.text("24"), nullable=False),
        sa.Column("updated_at", Utc(), nullable=False),
        sa.ForeignKeyConstraint(["connector_id"], ["connectors.id"], ondelete="CASCADE",
                                name=op.f("fk_csat_settings_connector_id_connectors")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE",
                                name=op.f("fk_csat_settings_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_csat_settings")),
        sa.UniqueConstraint("connector_id", name="uq_csat_settings_connector_id"),
        sa.UniqueConstraint("team_id", name="uq_csat_settings_team_id"),
    )
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("csat_rating", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("csat_comment", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("csat_asked_at", Utc(), nullable=True))
        batch_op.add_column(sa.Column("csat_answered_at", Utc(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.drop_column("csat_answered_at")
        batch_op.drop_column("csat_asked_at")
        batch_op.drop_column("csat_comment")
        batch_op.drop_column("csat_rating")
    op.drop_table("csat_settings")
    op.drop_table("campaign_exclusions")
    op.drop_table("campaign_recipients")
    op.drop_table("campaigns")
    op.drop_table("message_templates")
