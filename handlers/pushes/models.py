"""Push tables: what editors planned (pushes), each time it fired (runs), a row per recipient (deliveries), opt-ins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow


class Push(Base):
    """A planned push: content, audience, channel and timing; `next_run_at` is when it fires next (UTC)."""

    __tablename__ = "pushes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(100))
    content_kind: Mapped[str] = mapped_column(String(16))  # episode, next_episode, article, text, reminder
    content_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # episode number / article id
    body: Mapped[str] = mapped_column(Text, default="")  # free text, or the reminder's words
    audience_kind: Mapped[str] = mapped_column(String(16))  # all, tag, organisation, reminders, test
    audience_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)  # tag id / organisation id
    test_openids: Mapped[list] = mapped_column(JSON, default=list)  # previews (and the "test" audience)
    channel: Mapped[str] = mapped_column(String(16))  # mass, custom, template
    timing: Mapped[str] = mapped_column(String(16))  # once, recurring, series
    run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # once; series start
    recurrence: Mapped[str | None] = mapped_column(String(64), nullable=True)  # "每月第一个周一 09:00", crontab
    series_from: Mapped[int | None] = mapped_column(Integer, nullable=True)  # first episode of a series
    series_to: Mapped[int | None] = mapped_column(Integer, nullable=True)  # last episode of a series
    series_every_days: Mapped[int | None] = mapped_column(Integer, nullable=True)  # days between series items
    series_done: Mapped[int] = mapped_column(Integer, default=0)  # series items already fired
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active, paused, cancelled, done
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    notice: Mapped[str | None] = mapped_column(String(200), nullable=True)  # told to the editor (e.g. not approved)
    created_by: Mapped[str] = mapped_column(String(64), default="-")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PushRun(Base):
    """One firing of a push (fire-once: unique per push and due time); counts are kept on its deliveries."""

    __tablename__ = "push_runs"
    __table_args__ = (UniqueConstraint("push_id", "due_at", name="uq_push_runs_push_due"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    push_id: Mapped[int] = mapped_column(Integer, index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    episode_no: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the series item of this run
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, paused, cancelled, done, blocked
    materialized: Mapped[bool] = mapped_column(Boolean, default=False)  # every recipient's row is written
    targeted: Mapped[int] = mapped_column(Integer, default=0)
    mass_msg_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # WeChat's MsgID of a mass send
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Delivery(Base):
    """One recipient of one run: written (pending) before the send, 'sending' during it, its outcome after."""

    __tablename__ = "push_deliveries"
    __table_args__ = (
        UniqueConstraint("run_id", "openid", name="uq_push_deliveries_run_openid"),
        Index("ix_push_deliveries_run_status", "run_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer)
    openid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(
        String(16), default="pending"
    )  # pending, sending, sent, skipped, failed, uncertain
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # why skipped / failed
    errcode: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PushOptIn(Base):
    """A follower's choice in chat: 订阅提醒 / 退订提醒 (topic reminders), 订阅新声 / 退订新声 (topic xinsheng)."""

    __tablename__ = "push_optins"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    topic: Mapped[str] = mapped_column(String(16), primary_key=True)
    opted_in: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
