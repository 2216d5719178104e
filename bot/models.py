"""Database models: what must never be lost (followers now; tickets, points and pushes as features land)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Timezone-aware now, as every timestamp column stores it."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every model; Alembic reads its metadata."""


class Follower(Base):
    """A WeChat user of the account; last_interaction starts the 48-hour customer-service window."""

    __tablename__ = "followers"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_interaction: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    subscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    scene: Mapped[str | None] = mapped_column(String(64), nullable=True)  # qrscene_ key of the QR code that brought them
    tags: Mapped[list] = mapped_column(JSON, default=list)  # WeChat tag ids
