"""meetings compliance index: one covering index for the 三会一课 grid's grouped count of held meetings

Revision ID: 0019
Revises: 0018
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_meetings_compliance",
        "meetings",
        ["organisation_id", "kind", "status", "starts_at", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_meetings_compliance", table_name="meetings")
