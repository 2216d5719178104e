"""dispatch suggestions: per ticket, the suggested category and department (with scores and model version) and
what staff chose

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dispatch_suggestions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("category_score", sa.Float(), nullable=False),
        sa.Column("department", sa.String(length=32), nullable=True),
        sa.Column("department_score", sa.Float(), nullable=False),
        sa.Column("alternatives", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("submitted_category", sa.String(length=32), nullable=False),
        sa.Column("suggested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("chosen_category", sa.String(length=32), nullable=True),
        sa.Column("chosen_department", sa.String(length=32), nullable=True),
        sa.Column("chosen_by", sa.String(length=64), nullable=True),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    op.create_index(op.f("ix_dispatch_suggestions_chosen_at"), "dispatch_suggestions", ["chosen_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_dispatch_suggestions_chosen_at"), table_name="dispatch_suggestions")
    op.drop_table("dispatch_suggestions")
