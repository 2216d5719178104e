"""Members' progress through the 新声 serial, in the database (survives a Redis flush)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.core.database import Base, utcnow


class EpisodeView(Base):
    """A member heard (opened) an episode of the 新声 serial: their progress, kept across Redis flushes."""

    __tablename__ = "episode_views"
    __table_args__ = (UniqueConstraint("openid", "episode_no", name="uq_episode_views_openid_episode"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    episode_no: Mapped[int] = mapped_column(Integer)
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def record_view(db: Session, openid: str, number: int) -> None:
    """Note that the member opened episode `number` (the latest view decides "下一集")."""
    row = db.scalar(select(EpisodeView).where(EpisodeView.openid == openid, EpisodeView.episode_no == number))
    if row is None:
        db.add(EpisodeView(openid=openid, episode_no=number, viewed_at=utcnow()))
    else:
        row.viewed_at = utcnow()
    try:
        db.commit()
    except IntegrityError:  # the same view recorded by a racing request: nothing lost
        db.rollback()


def heard(db: Session, openid: str) -> set[int]:
    """Episode numbers the member has opened."""
    return set(db.scalars(select(EpisodeView.episode_no).where(EpisodeView.openid == openid)))


def last_heard(db: Session, openid: str) -> int | None:
    """The episode opened most recently."""
    stmt = (
        select(EpisodeView.episode_no)
        .where(EpisodeView.openid == openid)
        .order_by(EpisodeView.viewed_at.desc(), EpisodeView.id.desc())
        .limit(1)
    )
    return db.scalar(stmt)


def next_episode(db: Session, openid: str, total: int) -> int | None:
    """The first unheard episode after the last one opened, else the first unheard; None when all are heard."""
    done, last = heard(db, openid), last_heard(db, openid) or 0
    after = [n for n in range(last + 1, total + 1) if n not in done]
    if after:
        return after[0]
    return next((n for n in range(1, total + 1) if n not in done), None)
