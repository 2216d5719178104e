"""Organisation life's tables: meetings (三会一课 and other organisation life) and who attended them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow

# Meeting states: planned (notices out), held (a record exists), cancelled.
PLANNED, HELD, CANCELLED = "planned", "held", "cancelled"
# Attendee rows: expected (应到) or guest (列席); reply to the notice; how attendance was recorded.
EXPECTED, GUEST = "expected", "guest"
CONFIRMED, LEAVE = "confirmed", "leave"
SCAN, MANUAL = "scan", "manual"


class Meeting(Base):
    """One meeting of an organisation: kind (orglife.kinds key), topic, time, place; its minutes once held."""

    __tablename__ = "meetings"
    __table_args__ = (  # covers the 三会一课 grid's query (handlers.orglife.compliance.held_masks), grouped in order
        Index("ix_meetings_compliance", "organisation_id", "kind", "status", "starts_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    place: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default=PLANNED, index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True)  # a 党小组's meeting
    minutes: Mapped[str | None] = mapped_column(Text, nullable=True)  # 纪要
    planned_by: Mapped[str] = mapped_column(String(64))  # username, or "wechat:<account>" when planned in chat
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Attendance(Base):
    """One person and one meeting: expected (应到) or a guest (列席), the notice, the reply and the check-in.

    A member appears once per meeting (unique member_id), a guest once per WeChat user (unique openid), so a
    retried or racing scan can only ever record one row.
    """

    __tablename__ = "meeting_attendance"
    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id", name="uq_meeting_attendance_member"),
        UniqueConstraint("meeting_id", "openid", name="uq_meeting_attendance_openid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("roster_members.id"), nullable=True)
    openid: Mapped[str | None] = mapped_column(String(64), nullable=True)  # who scanned (guests have no member)
    role: Mapped[str] = mapped_column(String(12), default=EXPECTED)  # EXPECTED or GUEST
    notice: Mapped[str | None] = mapped_column(String(12), nullable=True)  # custom, template, waiting, unreached
    reply: Mapped[str | None] = mapped_column(String(12), nullable=True)  # CONFIRMED or LEAVE
    leave_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    method: Mapped[str | None] = mapped_column(String(12), nullable=True)  # SCAN or MANUAL
    marked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # MANUAL: the username
    mark_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)  # MANUAL: why
