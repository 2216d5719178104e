"""Database base and the platform's table: followers (each feature keeps its own tables in its models module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, String, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bot.core.clock import aware, utcnow  # noqa: F401 - re-exported: models and features import them from here
from bot.core.errors import AppendOnlyError


class Base(DeclarativeBase):
    """Declarative base of every model; Alembic reads its metadata."""


def append_only(model: type[Base], row: str) -> None:
    """Refuse updates and deletes of `model`'s rows: AppendOnlyError names the table and the row (`row` and its id)."""

    def refuse(_mapper: Any, _conn: Any, target: Any) -> None:
        raise AppendOnlyError(f"{model.__tablename__} is append-only ({row} {target.id})")

    event.listen(model, "before_update", refuse)
    event.listen(model, "before_delete", refuse)


def insert_ignoring(
    db: Session, model: type[Base], values: dict[str, Any], index_elements: list[str] | None = None
) -> Any:
    """INSERT … ON CONFLICT DO NOTHING of `values` into `model`, for the session's database (PostgreSQL or SQLite):
    race-safe "create unless it exists"; add .returning(...) to learn whether a row was written."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        insert: Any = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:  # pragma: no cover - the platform runs on the two above
        raise NotImplementedError(dialect)
    return insert(model).values(**values).on_conflict_do_nothing(index_elements=index_elements)


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
