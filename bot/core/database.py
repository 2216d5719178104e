"""Database base and the platform's table: followers (each feature keeps its own tables in its models module)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Timezone-aware now, as every timestamp column stores it."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """`value` with its time zone: SQLite gives back naive datetimes, which are UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    scene: Mapped[str | None] = mapped_column(
        String(64), nullable=True
    )  # qrscene_ key of the QR code that brought them
    tags: Mapped[list] = mapped_column(JSON, default=list)  # WeChat tag ids
