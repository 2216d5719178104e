"""Quiz tables: runs in progress, answers, the points ledger, the 错题本 (Leitner boxes), organisation bindings."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow


class QuizRun(Base):
    """One quiz a member is taking or took; the source of truth when Redis is lost."""

    __tablename__ = "quiz_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # daily, special, challenge, review
    theme: Mapped[str | None] = mapped_column(String(16), nullable=True)
    question_ids: Mapped[list] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)  # index of the question being asked
    correct: Mapped[int] = mapped_column(Integer, default=0)
    asked_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow
    )  # when the current question went out
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)


class QuizAnswer(Base):
    """One answered (or skipped / timed-out) question."""

    __tablename__ = "quiz_answers"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_quiz_answers_run_position"),
        Index("ix_quiz_answers_openid_time", "openid", "answered_at"),
    )  # questions seen lately

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    openid: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(32))
    given: Mapped[str] = mapped_column(String(16))  # normalised answer, "" skipped, "timeout"
    correct: Mapped[bool] = mapped_column(Boolean)
    suspicious: Mapped[bool] = mapped_column(Boolean, default=False)  # faster than quiz.min_answer_seconds
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PointsEntry(Base):
    """The points ledger: one row per award; `award_key` makes awards idempotent."""

    __tablename__ = "points_ledger"
    __table_args__ = (Index("ix_points_ledger_openid_day", "openid", "day"),)  # caps, today, streaks

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    activity: Mapped[str] = mapped_column(String(16))  # daily, special, challenge
    points: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    award_key: Mapped[str] = mapped_column(String(120), unique=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the day in Asia/Shanghai, for caps and streaks
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Mistake(Base):
    """A question in a member's 错题本, in a Leitner box, due again at `due_at`."""

    __tablename__ = "mistakes"
    __table_args__ = (UniqueConstraint("openid", "question_id", name="uq_mistakes_openid_question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    question_id: Mapped[str] = mapped_column(String(32))
    box: Mapped[int] = mapped_column(Integer, default=1)  # 1..5; leaving box 5 means learned
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    learned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReviewReminder(Base):
    """A review reminder sent: at most one per member per day, even if Redis is lost."""

    __tablename__ = "review_reminders"
    __table_args__ = (UniqueConstraint("openid", "day", name="uq_review_reminders_openid_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
