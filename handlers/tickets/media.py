"""Ticket media: after submission, images and voice are copied from WeChat (ids expire in 3 days), retried, shown."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, cast, exists, or_, select
from sqlalchemy.orm import Session

from bot.core.database import aware, utcnow
from bot.core.errors import WeChatAPIError
from handlers.tickets.models import Ticket, TicketMedia

if TYPE_CHECKING:
    from bot.core.services import Services

MAX_BYTES = 10 * 1024 * 1024  # the largest temporary media WeChat keeps (images 10 MB, voice 2 MB)
LIFETIME = timedelta(days=3)  # how long WeChat keeps the media of a received message
EXPIRED = 40007  # WeChat's "invalid media_id": unknown or expired, retrying cannot help
FINAL_ERRORS = ("expired", "too_large")  # failures not retried
KINDS = ("image", "voice")  # media a ticket keeps
CLAIM_KEY = "tickets:media-fetch:{}"  # Redis: held while one worker fetches a row (the first fetch and a retry)
CLAIM_TTL = 300  # seconds a claim lasts at most
RETRY_BATCH = 200  # rows one retry run takes at most
BACKFILL_BATCH = 500  # tickets without rows (submitted before rows existed) one retry run looks at
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"})  # shown in the page
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "audio/amr": "amr",
    "audio/speex": "speex",
    "audio/mpeg": "mp3",
    "audio/x-speex": "speex",
}
VOICE_FORMATS = {"audio/amr": "AMR", "audio/speex": "Speex", "audio/x-speex": "Speex", "audio/mpeg": "MP3"}
log = logging.getLogger(__name__)


# Rows: one per media id, written with the ticket ---------------------------------------------------------------
def add_rows(db: Session, ticket: Ticket) -> int:
    """Queue the ticket's images and voice messages for copying (inside the caller's transaction); rows added."""
    seen: set[str] = set()
    for item in ticket.media or []:
        media_id, kind = str(item.get("media_id") or ""), item.get("type")
        if kind in KINDS and media_id and len(media_id) <= 128 and media_id not in seen:
            seen.add(media_id)
            db.add(TicketMedia(ticket_id=ticket.id, media_id=media_id, kind=kind, created_at=ticket.created_at))
    return len(seen)


def backfill(db: Session, now: datetime) -> int:
    """Rows for tickets of the last 3 days that have media but no rows (submitted before this table existed)."""
    bare = db.scalars(
        select(Ticket)
        .where(
            Ticket.created_at > now - LIFETIME,
            cast(Ticket.media, String) != "[]",
            ~exists().where(TicketMedia.ticket_id == Ticket.id),
        )
        .order_by(Ticket.id)
        .limit(BACKFILL_BATCH)
    ).all()
    added = sum(add_rows(db, t) for t in bare if t.media)
    db.commit()
    return added


# Fetching -------------------------------------------------------------------------------------------------------
def error_name(exc: WeChatAPIError) -> str:
    """What a failed download records: expired and too_large are final, the rest are retried."""
    if exc.errcode == EXPIRED:
        return "expired"
    if exc.kind == "too_large":
        return "too_large"
    return "network" if exc.errcode is None else f"errcode {exc.errcode}"


def content_type(answered: str) -> str:
    """The answer's media type without parameters ("application/octet-stream" when it gave none)."""
    return (answered.split(";")[0].strip().lower() or "application/octet-stream")[:64]


def fetch_one(services: Services, row: TicketMedia, now: datetime) -> None:
    """Download one attachment into `row`, or record why not (the caller commits)."""
    row.attempts, row.tried_at = (row.attempts or 0) + 1, now
    try:
        got = services.wx.download_media(row.media_id, MAX_BYTES)
    except WeChatAPIError as exc:
        row.error = error_name(exc)
        log.info("ticket %s media %s not fetched (attempt %d): %s", row.ticket_id, row.id, row.attempts, exc)
        return
    row.data, row.size, row.content_type = got.data, len(got.data), content_type(got.content_type)
    row.fetched_at, row.error = now, None


def fetch(services: Services, row_ids: Iterable[int], now: datetime | None = None) -> int:
    """Fetch the given rows still missing, one at a time (each committed, then its bytes let go); the number fetched."""
    fetched = 0
    with services.sessions() as db:
        for row_id in row_ids:
            claim = CLAIM_KEY.format(row_id)
            if not services.redis.set(claim, "1", nx=True, ex=CLAIM_TTL):
                continue  # another worker has it
            try:
                row = db.get(TicketMedia, row_id)
                if row is None or row.fetched_at is not None:
                    continue
                fetch_one(services, row, now or utcnow())
                db.commit()
                fetched += row.fetched_at is not None
                db.expunge(row)
            finally:
                services.redis.delete(claim)
    return fetched


def fetch_ticket(services: Services, ticket_id: int) -> int:
    """Fetch the ticket's attachments not copied yet; the number fetched."""
    with services.sessions() as db:
        ids = db.scalars(
            select(TicketMedia.id)
            .where(TicketMedia.ticket_id == ticket_id, TicketMedia.fetched_at.is_(None))
            .order_by(TicketMedia.id)
        ).all()
    return fetch(services, ids)


def fetch_later(services: Services, ticket_id: int) -> None:
    """Fetch in the background (the submitter's reply does not wait)."""
    services.pool.submit(_safe_fetch, services, ticket_id)


def _safe_fetch(services: Services, ticket_id: int) -> None:
    try:
        fetch_ticket(services, ticket_id)
    except Exception:  # noqa: BLE001 - a background job: log it, the scheduler retries
        log.exception("media of ticket %s not fetched", ticket_id)


def retry_pending(services: Services, now: datetime | None = None) -> int:
    """The scheduler's job: fetch what a failure or a crash left missing, for tickets of the last 3 days."""
    now = now or utcnow()
    with services.sessions() as db:
        backfill(db, now)
        ids = db.scalars(
            select(TicketMedia.id)
            .where(
                TicketMedia.fetched_at.is_(None),
                TicketMedia.created_at > now - LIFETIME,
                or_(TicketMedia.error.is_(None), TicketMedia.error.not_in(FINAL_ERRORS)),
            )
            .order_by(TicketMedia.id)
            .limit(RETRY_BATCH)
        ).all()
    fetched = fetch(services, ids, now)
    if ids:
        log.info("ticket media retry: %d of %d fetched", fetched, len(ids))
    return fetched


# What the console shows -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attachment:
    """One image or voice message of a ticket as the ticket page shows it."""

    kind: str  # image or voice
    state: str  # image (shown inline), file (a download), pending, expired, too_large
    row_id: int | None = None
    content_type: str = ""
    size: int = 0
    text: str = ""  # WeChat's speech recognition of a voice message
    retrying: bool = False  # pending after a failed attempt

    @property
    def size_text(self) -> str:
        """The copy's size for people: 830 B, 12.4 KB, 1.6 MB."""
        if self.size < 1024:
            return f"{self.size} B"
        return f"{self.size / 1024:.1f} KB" if self.size < 1024 * 1024 else f"{self.size / 1024 / 1024:.1f} MB"

    @property
    def voice_format(self) -> str:
        return VOICE_FORMATS.get(self.content_type, self.content_type.split("/")[-1].upper() or "未知格式")


def attachments(db: Session, ticket: Ticket, now: datetime | None = None) -> list[Attachment]:
    """The ticket's media in the order sent, with what became of each copy (no file bytes are read)."""
    rows = {r.media_id: r for r in db.scalars(select(TicketMedia).where(TicketMedia.ticket_id == ticket.id))}
    too_old = (now or utcnow()) - aware(ticket.created_at) > LIFETIME
    return [
        attachment(item, rows.get(str(item.get("media_id") or "")), too_old)
        for item in ticket.media or []
        if item.get("type") in KINDS
    ]


def attachment(item: dict[str, Any], row: TicketMedia | None, too_old: bool) -> Attachment:
    kind, text = str(item["type"]), str(item.get("text") or "")
    if row is not None and row.fetched_at is not None:
        state = "image" if kind == "image" and row.content_type in INLINE_TYPES else "file"
        return Attachment(kind, state, row.id, row.content_type or "", row.size, text)
    error = row.error if row is not None else None
    if error == "too_large":
        return Attachment(kind, "too_large", text=text)
    if error == "expired" or too_old:
        return Attachment(kind, "expired", text=text)
    return Attachment(kind, "pending", text=text, retrying=bool(error))


def download_name(number: str, row: TicketMedia) -> str:
    """The file name a downloaded attachment gets: ticket number, row id, extension (ASCII only)."""
    ctype = row.content_type or ""
    subtype = ctype.split("/")[-1]
    ext = EXTENSIONS.get(ctype) or (subtype if re.fullmatch(r"[a-z0-9]{1,8}", subtype) else "bin")
    return f"{number}-{row.id}.{ext}"
