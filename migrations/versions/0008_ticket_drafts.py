"""ticket drafts kept in the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_drafts",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid"),
    )


def downgrade() -> None:
    op.drop_table("ticket_drafts")
