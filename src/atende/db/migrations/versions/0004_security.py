"""security: hashed webhook tokens, opaque message references, token expiry, login throttle,
parked statuses, send counters

Revision ID: 0004
Revises: 0003
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

import atende.db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JsonType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _secret_box():  # type: ignore[no-untyped-def]
    from atende.secrets import SecretBox
    from atende.settings import get_settings

    key = context.config.attributes.get("secret_key") or get_settings().resolved_secret_key()
    return SecretBox(key)


def upgrade() -> None:
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("webhook_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("webhook_token_encrypted", sa.Text(), nullable=True))
    conn = op.get_bind()
    rows = list(conn.execute(sa.text("SELECT id, webhook_token FROM connectors")))
    if rows:
        box = _secret_box()
        for row in rows:
            conn.execute(sa.text("UPDATE connectors SET webhook_token_hash = :h, webhook_token_encrypted = :e "
                                 "WHERE id = :id"),
                         {"h": hashlib.sha256(row.webhook_token.encode()).hexdigest(),
                          "e": box.encrypt_text(row.webhook_token), "id": row.id})
    with op.batch_alter_table("connectors") as batch:
        batch.alter_column("webhook_token_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("webhook_token_encrypted", existing_type=sa.Text(), nullable=False)
        batch.create_unique_constraint("uq_connectors_webhook_token_hash", ["webhook_token_hash"])
        batch.drop_constraint("uq_connectors_webhook_token", type_="unique")
        batch.drop_column("webhook_token")

    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=64), nullable=True))
    op.create_index("ix_messages_reference", "messages", ["connector_id", "reference"])

    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", atende.db.types.UtcDateTime(), nullable=True))

    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("window_start", atende.db.types.UtcDateTime(), nullable=False),
        sa.Column("strikes", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("blocked_until", atende.db.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "parked_statuses",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("connector_id", BigId, nullable=False),
        sa.Column("provider_message_id", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("status", JsonType, nullable=False),
        sa.Column("created_at", atende.db.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parked_statuses")),
    )
    op.create_index("ix_parked_statuses_provider_id", "parked_statuses", ["connector_id", "provider_message_id"])
    op.create_index("ix_parked_statuses_reference", "parked_statuses", ["connector_id", "reference"])
    op.create_index("ix_parked_statuses_created", "parked_statuses", ["created_at"])
    op.create_table(
        "send_counters",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("hour", atende.db.types.UtcDateTime(), nullable=False),
        sa.Column("n", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "hour", name=op.f("pk_send_counters")),
    )


def downgrade() -> None:
    op.drop_table("send_counters")
    op.drop_table("parked_statuses")
    op.drop_table("login_throttle")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    op.drop_index("ix_messages_reference", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("reference")
    # Hashed webhook tokens cannot be turned back into URL tokens without the key: decrypt them.
    with op.batch_alter_table("connectors") as batch:
        batch.add_column(sa.Column("webhook_token", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    rows = list(conn.execute(sa.text("SELECT id, webhook_token_encrypted FROM connectors")))
    if rows:
        box = _secret_box()
        for row in rows:
            conn.execute(sa.text("UPDATE connectors SET webhook_token = :t WHERE id = :id"),
                         {"t": box.decrypt_text(row.webhook_token_encrypted), "id": row.id})
    with op.batch_alter_table("connectors") as batch:
        batch.alter_column("webhook_token", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_connectors_webhook_token", ["webhook_token"])
        batch.drop_constraint("uq_connectors_webhook_token_hash", type_="unique")
        batch.drop_column("webhook_token_hash")
        batch.drop_column("webhook_token_encrypted")
