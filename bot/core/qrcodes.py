"""Parametric QR codes created through WeChat's qrcode/create: one row per scene, so a code is made once and reused.

Organisations' permanent codes (scene "org:<code>") use it; meetings' temporary check-in codes can too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.core.database import Base, utcnow


class QrCode(Base):
    """A QR code WeChat made for `scene`: its ticket (exchanged at showqrcode for the image) and the url it encodes."""

    __tablename__ = "qr_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scene: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # scene_str (WeChat allows 64)
    ticket: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(String(255))  # what the code encodes (weixin.qq.com/q/…)
    expire_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # None: permanent
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def by_scene(db: Session, scene: str) -> QrCode | None:
    return db.scalar(select(QrCode).where(QrCode.scene == scene))
