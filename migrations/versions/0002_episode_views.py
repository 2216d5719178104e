"""episode_views: members' progress through the 新声 serial

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "episode_views",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("openid", sa.String(64), nullable=False),
        sa.Column("episode_no", sa.Integer(), nullable=False),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("openid", "episode_no", name="uq_episode_views_openid_episode"),
    )
    op.create_index("ix_episode_views_openid", "episode_views", ["openid"])


def downgrade() -> None:
    op.drop_index("ix_episode_views_openid", table_name="episode_views")
    op.drop_table("episode_views")
