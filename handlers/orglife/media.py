"""Meeting photos: uploaded in the console, or sent from the secretary's phone and copied from WeChat before the
media id expires (3 days), as ticket media are. Images only; type and size checked."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.core.clock import aware, day_of, utcnow
from bot.core.database import Base
from bot.core.errors import WeChatAPIError
from handlers.orglife.models import Meeting

if TYPE_CHECKING:
    from bot.core.services import Services

MAX_BYTES = 10 * 1024 * 1024  # the largest photo kept (WeChat's own limit for images)
IMAGE_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "image/gif": b"GIF8", "image/webp": b"RIFF"}
UPLOAD_DAYS = 7  # default: photos accepted from the meeting day to this many days after (orglife.material_days)
LIFETIME = timedelta(days=3)  # how long WeChat keeps a received message's media
FINAL_ERRORS = ("expired", "not_image", "too_large")  # not retried
RETRY_BATCH = 100
log = logging.getLogger(__name__)


class MeetingMedia(Base):
    """One photo of a meeting: bytes (uploaded, or copied from WeChat), or a WeChat media id still to copy."""

    __tablename__ = "meeting_media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    media_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # WeChat's, for a photo sent in chat
    content_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    added_by: Mapped[str] = mapped_column(String(64))  # console username, or wechat:<username>
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    fetched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    error: Mapped[str | None] = mapped_column(String(64), nullable=True)


def sniff(data: bytes) -> str | None:
    """The image type the bytes really are (None: not an image we keep)."""
    for ctype, magic in IMAGE_TYPES.items():
        if data.startswith(magic) and (ctype != "image/webp" or data[8:12] == b"WEBP"):
            return ctype
    return None


def check_upload(data: bytes) -> str:
    """The checked content type of an uploaded photo; ValueError (Chinese) when refused."""
    if not data:
        raise ValueError("请选择图片文件。")
    if len(data) > MAX_BYTES:
        raise ValueError("图片不能超过 10 MB。")
    ctype = sniff(data)
    if ctype is None:
        raise ValueError("只接受 JPG、PNG、GIF、WebP 图片。")
    return ctype


def add_upload(db: Session, meeting: Meeting, data: bytes, by: str) -> MeetingMedia:
    """Keep an uploaded photo (checked by check_upload); the caller commits."""
    row = MeetingMedia(
        meeting_id=meeting.id, content_type=check_upload(data), data=data, size=len(data), added_by=by[:64]
    )
    row.fetched_at = utcnow()
    db.add(row)
    return row


def in_window(meeting: Meeting, days: int, now: datetime | None = None) -> bool:
    """Materials are taken from the meeting's day to `days` days after it (China days)."""
    today, held = day_of(now or utcnow()), day_of(aware(meeting.starts_at))
    return held <= today <= held + timedelta(days=days)


def fetch_one(services: Services, row_id: int) -> bool:
    """Copy one photo sent in chat from WeChat; True when copied."""
    with services.sessions() as db:
        row = db.get(MeetingMedia, row_id)
        if row is None or row.fetched_at is not None or not row.media_id:
            return False
        try:
            got = services.wx.download_media(row.media_id, MAX_BYTES)
        except WeChatAPIError as exc:
            row.error = "expired" if exc.errcode == 40007 else str(exc.kind or exc.errcode or "network")[:64]
            db.commit()
            return False
        ctype = sniff(got.data)
        if ctype is None:
            row.error = "not_image"
        else:
            row.data, row.size, row.content_type, row.fetched_at = got.data, len(got.data), ctype, utcnow()
        db.commit()
        return ctype is not None


def fetch_later(services: Services, row_id: int) -> None:
    services.pool.submit(_safe_fetch, services, row_id)


def _safe_fetch(services: Services, row_id: int) -> None:
    try:
        fetch_one(services, row_id)
    except Exception:  # noqa: BLE001 - background: log it; the page shows the photo as not copied
        log.exception("meeting photo %s not copied", row_id)


def retry_pending(services: Services) -> int:
    """The scheduler's job: copy photos a failure or a restart left behind (last 3 days, not expired); copied."""
    since = utcnow() - LIFETIME
    with services.sessions() as db:
        ids = db.scalars(
            select(MeetingMedia.id)
            .where(
                MeetingMedia.fetched_at.is_(None),
                MeetingMedia.media_id.is_not(None),
                MeetingMedia.created_at > since,
                or_(MeetingMedia.error.is_(None), MeetingMedia.error.not_in(FINAL_ERRORS)),
            )
            .order_by(MeetingMedia.id)
            .limit(RETRY_BATCH)
        ).all()
    return sum(fetch_one(services, row_id) for row_id in ids)


def photos(db: Session, meeting_id: int) -> list[MeetingMedia]:
    return list(db.scalars(select(MeetingMedia).where(MeetingMedia.meeting_id == meeting_id).order_by(MeetingMedia.id)))
