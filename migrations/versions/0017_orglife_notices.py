"""orglife notices: each 三会一课 reminder and escalation, sent once

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orglife_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("step", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organisation_id", "kind", "period", "step", name="uq_orglife_notice"),
    )
    op.create_index(op.f("ix_orglife_notices_organisation_id"), "orglife_notices", ["organisation_id"], unique=False)
    op.create_index(op.f("ix_orglife_notices_created_at"), "orglife_notices", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_orglife_notices_created_at"), table_name="orglife_notices")
    op.drop_index(op.f("ix_orglife_notices_organisation_id"), table_name="orglife_notices")
    op.drop_table("orglife_notices")
