"""Ticket tables: 急难愁盼 submissions, their append-only event log, daily number counters, notices, media copies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, append_only, utcnow

# Status → the Chinese name shown to submitters and staff.
STATUSES = {
    "new": "待受理",  # submitted, waiting for intake
    "accepted": "已受理",  # intake done, not yet assigned
    "assigned": "已交办",  # with a department or instructor
    "processing": "办理中",  # the assignee works on it
    "resolved": "已办结",  # answered; waiting for the submitter's rating
    "closed": "已回访",  # rated (satisfied or fairly satisfied)
    "rejected": "不予受理",  # refused at intake, with a reason
    "merged": "已合并",  # a duplicate, followed through the ticket it was merged into
}
OPEN_STATUSES = ("new", "accepted", "assigned", "processing")  # still needing staff work
RATINGS = {"satisfied": "满意", "fair": "基本满意", "unsatisfied": "不满意"}  # a submitter's rating


class Ticket(Base):
    """One submission; derived columns (month, responded_on_time, solved) keep the dashboard to one scan."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_due", "status", "due_at"),
        Index("ix_tickets_openid_created", "openid", "created_at"),
        # Covers the dashboard's grouped scan (handlers/tickets/stats.py): read in group order, no table rows, no sort.
        Index(
            "ix_tickets_stats",
            "month",
            "category",
            "department",
            "district",
            "status",
            "responded_on_time",
            "solved",
            "rating",
            "accept_due_at",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # JK2611210007
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)  # the chat draft's id: one ticket per draft
    openid: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32), index=True)
    tier: Mapped[str] = mapped_column(String(16))  # a key of tickets.tiers
    description: Mapped[str] = mapped_column(Text)
    media: Mapped[list] = mapped_column(JSON, default=list)  # [{"type": "voice"|"image", "media_id": ..., "url": ...}]
    place: Mapped[str] = mapped_column(String(100))  # enterprise or place
    phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)  # hidden from the assignee (the employer's side)
    district: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # 片区
    organisation_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True, index=True
    )  # a confirmed submitter's organisation (organisations.id) at submission; None for everyone else
    status: Mapped[str] = mapped_column(String(16), default="new")
    department: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # a tickets.departments id
    assignee_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # console account (instructor)
    accepted_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the caseworker of record
    merged_into_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    reply: Mapped[str | None] = mapped_column(Text, nullable=True)  # the resolution the submitter sees
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)  # why rejected / returned
    rating: Mapped[str | None] = mapped_column(String(16), nullable=True)  # a key of RATINGS
    rating_comment: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reopened: Mapped[int] = mapped_column(Integer, default=0)  # times re-handled (重办) after 不满意
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM of submission, China time
    responded_on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)  # answered within intake hours
    solved: Mapped[bool] = mapped_column(Boolean, default=False)  # resolved and not reopened since
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    accept_due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # intake deadline
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # resolution deadline (by tier)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    intake_escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # once per deadline
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def status_name(self) -> str:
        """The status in Chinese; a ticket handled again after 不满意 says so (重办中（已交办）)."""
        name = STATUSES.get(self.status, self.status)
        return f"重办中（{name}）" if self.reopened and self.status in OPEN_STATUSES else name


class TicketEvent(Base):
    """One step of a ticket's handling; rows are only ever added."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))  # a key of handlers.tickets.flow.EVENTS
    actor: Mapped[str] = mapped_column(String(64))  # console username, "submitter" or "scheduler"
    note: Mapped[str | None] = mapped_column(Text, nullable=True)  # reason, reply, comment
    details: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. {"department": "renshe"}
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # shown on the submitter's timeline


class TicketCounter(Base):
    """The last sequence number used on one China-time day (numbers restart daily)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(6), primary_key=True)  # yymmdd
    last: Mapped[int] = mapped_column(Integer, default=0)


class TicketNotice(Base):
    """A status change to tell a submitter: sent at once when WeChat allows, else at their next message."""

    __tablename__ = "ticket_notices"
    __table_args__ = (Index("ix_ticket_notices_openid_sent", "openid", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(16), nullable=True)  # custom, template, reply


class StaffNotice(Base):
    """A message to a console account (a deadline passed), shown in the console until read."""

    __tablename__ = "staff_notices"
    __table_args__ = (Index("ix_staff_notices_account_read", "account_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class TicketMedia(Base):
    """A ticket's image or voice message copied from WeChat, whose media ids expire 3 days after the message.

    One row per media id of the ticket, added with the ticket; tickets.media fills `data` or records `error`."""

    __tablename__ = "ticket_media"
    __table_args__ = (
        UniqueConstraint("ticket_id", "media_id", name="uq_ticket_media_ticket_media"),
        Index("ix_ticket_media_pending", "fetched_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer)
    media_id: Mapped[str] = mapped_column(String(128))  # WeChat's (about 64 characters)
    kind: Mapped[str] = mapped_column(String(8))  # image or voice
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)  # as WeChat answered it
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)  # at most 10 MB
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes of data
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # the ticket's submission
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    tried_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # the last attempt
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the last failure: expired, too_large, ...


append_only(TicketEvent, "event")


class TicketDraft(Base):
    """A submitter's unfinished 我要反映 (or, briefly, the number it was submitted as): kept here so a Redis loss
    or restart cannot lose what they entered; Redis holds a cached copy."""

    __tablename__ = "ticket_drafts"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DispatchSuggestion(Base):
    """What the dispatch suggestion proposed for a ticket (handlers/tickets/suggest.py) and what staff chose: kept,
    taken or changed, for measuring how often the suggestion is right."""

    __tablename__ = "dispatch_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(Integer, unique=True)  # one suggestion per ticket (its first showing)
    category: Mapped[str] = mapped_column(String(32))  # suggested
    category_score: Mapped[float] = mapped_column(Float)
    department: Mapped[str | None] = mapped_column(String(32), nullable=True)  # suggested department id
    department_score: Mapped[float] = mapped_column(Float, default=0.0)
    alternatives: Mapped[dict] = mapped_column(JSON, default=dict)  # {"categories": [[name, score]...], ...}
    model_version: Mapped[str] = mapped_column(String(64))
    submitted_category: Mapped[str] = mapped_column(String(32))  # what the submitter chose
    suggested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    chosen_category: Mapped[str | None] = mapped_column(String(32), nullable=True)  # what staff chose (交办)
    chosen_department: Mapped[str | None] = mapped_column(String(32), nullable=True)
    chosen_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # console username
    chosen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
