"""Members' organisations (绑定组织): read by quiz leaderboards, push audiences, tickets and the followers page."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow


class Membership(Base):
    """A member's chosen organisation (and its 片区) for per-organisation leaderboards."""

    __tablename__ = "memberships"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    bound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
