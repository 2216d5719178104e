"""guidance groups' instructor account; texts kept for a user's next message

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guidance_groups") as batch:
        batch.add_column(sa.Column("instructor_account_id", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_guidance_groups_instructor_account_id"), ["instructor_account_id"], unique=False)
        batch.create_foreign_key(
            "fk_guidance_groups_instructor_account_id",
            "console_accounts",
            ["instructor_account_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "pending_texts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("then", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_pending_texts_openid"), "pending_texts", ["openid"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_pending_texts_openid"), table_name="pending_texts")
    op.drop_table("pending_texts")
    with op.batch_alter_table("guidance_groups") as batch:
        batch.drop_constraint("fk_guidance_groups_instructor_account_id", type_="foreignkey")
        batch.drop_index(op.f("ix_guidance_groups_instructor_account_id"))
        batch.drop_column("instructor_account_id")
