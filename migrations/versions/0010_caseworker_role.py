"""console role rename: the 诉求处理 role, stored as "handler", becomes "caseworker" (no clash with chat handlers)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

accounts = sa.table("console_accounts", sa.column("id", sa.Integer()), sa.column("roles", sa.JSON()))


def rename_role(old: str, new: str) -> None:
    """Replace `old` by `new` in every account's roles list, keeping the order (roles is JSON, so row by row)."""
    conn = op.get_bind()
    for account_id, roles in conn.execute(sa.select(accounts.c.id, accounts.c.roles)).all():
        if roles and old in roles:
            renamed = [new if role == old else role for role in roles]
            conn.execute(accounts.update().where(accounts.c.id == account_id).values(roles=renamed))


def upgrade() -> None:
    rename_role("handler", "caseworker")


def downgrade() -> None:
    rename_role("caseworker", "handler")
