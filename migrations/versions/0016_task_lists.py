"""task lists: lists, tasks, reports per organisation, photos, reminder notices

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 19:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["scope_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["task_lists.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tasks_list_id"), ["list_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_due_on"), ["due_on"], unique=False)
    op.create_table(
        "task_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reported_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "organisation_id", name="uq_task_reports_task_org"),
    )
    with op.batch_alter_table("task_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_reports_task_id"), ["task_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_reports_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_task_reports_status"), ["status"], unique=False)
    op.create_table(
        "task_photos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("media_id", sa.String(length=128), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["task_reports.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "media_id", name="uq_task_photos_media"),
    )
    with op.batch_alter_table("task_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_photos_report_id"), ["report_id"], unique=False)
    op.create_table(
        "task_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["task_reports.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "kind", name="uq_task_notices_report_kind"),
    )
    with op.batch_alter_table("task_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_notices_report_id"), ["report_id"], unique=False)


def downgrade() -> None:
    for table in ("task_notices", "task_photos", "task_reports", "tasks", "task_lists"):
        op.drop_table(table)
