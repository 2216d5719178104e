"""Task lists' tables: a list issued to organisations, its tasks, a report per (task, organisation), photos, notices."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow

# A report's states: nothing yet, reported (awaits the instructor), accepted, returned (may be reported again).
TODO, REPORTED, ACCEPTED, RETURNED = "todo", "reported", "accepted", "returned"
STATUSES = (TODO, REPORTED, ACCEPTED, RETURNED)


class TaskList(Base):
    """A task list issued by the committee or a 片区 (title, period such as 2026年11-12月) to a set of organisations."""

    __tablename__ = "task_lists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))  # whom it went to, for people: 全部 / 片区：… / 指导小组：…
    scope_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)  # issuer's scope
    issued_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Task(Base):
    """One task of a list: title, description, due date."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("task_lists.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date] = mapped_column(Date, index=True)


class TaskReport(Base):
    """One organisation and one task: its status, what it reported (text, photos) and the instructor's verdict."""

    __tablename__ = "task_reports"
    __table_args__ = (UniqueConstraint("task_id", "organisation_id", name="uq_task_reports_task_org"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=TODO, index=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reported_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # username or wechat:<masked>
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it was returned
    history: Mapped[list] = mapped_column(JSON, default=list)  # [{"at", "by", "status", "comment"}] oldest first


class TaskPhoto(Base):
    """A photo of a report: the WeChat media id, then its copy (fetched after the report; ids expire in 3 days)."""

    __tablename__ = "task_photos"
    __table_args__ = (UniqueConstraint("report_id", "media_id", name="uq_task_photos_media"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("task_reports.id"), index=True)
    media_id: Mapped[str] = mapped_column(String(128))
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TaskNotice(Base):
    """A reminder sent (inserted first, so two scheduler processes send it once): report and kind (remind)."""

    __tablename__ = "task_notices"
    __table_args__ = (UniqueConstraint("report_id", "kind", name="uq_task_notices_report_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("task_reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
