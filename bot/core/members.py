"""Members' organisations and who they are (党员认证): read by leaderboards, push audiences, tickets, the console."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, utcnow

# Binding states: self-declared or carried over from 绑定组织 (unconfirmed), awaiting the secretary, confirmed.
UNCONFIRMED, PENDING, CONFIRMED = "unconfirmed", "pending", "confirmed"


class Membership(Base):
    """A follower's organisation and, once proven, their roster entry: one row per openid."""

    __tablename__ = "memberships"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    organisation: Mapped[str] = mapped_column(String(32), index=True)  # the organisation's code
    district: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    bound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=UNCONFIRMED, index=True)  # UNCONFIRMED, PENDING, CONFIRMED
    member_id: Mapped[int | None] = mapped_column(ForeignKey("roster_members.id"), nullable=True, unique=True)
    method: Mapped[str | None] = mapped_column(String(16), nullable=True)  # auto, secretary, console, qr
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    confirmed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # username or "auto"
