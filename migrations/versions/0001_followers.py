"""followers table

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followers",
        sa.Column("openid", sa.String(64), primary_key=True),
        sa.Column("subscribed", sa.Boolean(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_interaction", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scene", sa.String(64), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
    )
    op.create_index("ix_followers_subscribed", "followers", ["subscribed"])


def downgrade() -> None:
    op.drop_index("ix_followers_subscribed", table_name="followers")
    op.drop_table("followers")
