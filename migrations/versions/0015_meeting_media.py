"""meeting media (photos of a meeting, uploaded or copied from WeChat)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meeting_media",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["meeting_id"], ["meetings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("meeting_media", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_media_meeting_id"), ["meeting_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_media", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_media_meeting_id"))
    op.drop_table("meeting_media")
