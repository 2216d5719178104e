"""orglife assessment adjustments: the committee's adjusted yearly scores, with reasons

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orglife_assessment_adjustments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("computed", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_orglife_assessment_adjustments_organisation_id"),
        "orglife_assessment_adjustments",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_orglife_assessment_adjustments_year"), "orglife_assessment_adjustments", ["year"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_orglife_assessment_adjustments_year"), table_name="orglife_assessment_adjustments")
    op.drop_index(
        op.f("ix_orglife_assessment_adjustments_organisation_id"), table_name="orglife_assessment_adjustments"
    )
    op.drop_table("orglife_assessment_adjustments")
