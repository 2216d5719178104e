"""qr_codes: parametric QR codes made once per scene (organisations' 党员认证 codes)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 18:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qr_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scene", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.String(length=255), nullable=False),
        sa.Column("url", sa.String(length=255), nullable=False),
        sa.Column("expire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("qr_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qr_codes_scene"), ["scene"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("qr_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qr_codes_scene"))
    op.drop_table("qr_codes")
