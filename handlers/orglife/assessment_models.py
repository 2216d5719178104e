"""The yearly assessment's adjustments table: the committee's written changes to a computed score (Flask-free)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow


class AssessmentAdjustment(Base):
    """One adjustment of an organisation's score for a year: the final score set, with the reason. The latest one
    for (organisation, year) is in force; older ones stay as history."""

    __tablename__ = "orglife_assessment_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    score: Mapped[float] = mapped_column(Float)  # the adjusted (final) score, 0–100
    computed: Mapped[float | None] = mapped_column(Float, nullable=True)  # the computed score when adjusted
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(64))  # console username
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
