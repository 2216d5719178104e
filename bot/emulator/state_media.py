"""Temporary media of the emulator's world: what media/upload stores and a user's image or voice carries (3 days)."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

import redis
from redis.client import NEVER_DECODE

from bot.emulator.keys import MEDIA, MEDIA_TTL

# Content types each media type may have, with the file extension media/get names them by.
CONTENT_TYPES = {
    "image": {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/bmp": "bmp"},
    "voice": {"audio/amr": "amr", "audio/mpeg": "mp3", "audio/speex": "speex"},
}
MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # an acceptable media id (WeChat's are 64 such characters)
MAGIC = (  # leading bytes → content type, for uploads that do not say what they are
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"#!AMR", "audio/amr"),
    (b"ID3", "audio/mpeg"),
)


@dataclass(frozen=True)
class Media:
    """One stored media file."""

    media_id: str
    kind: str  # image or voice
    content_type: str
    created_at: int
    data: bytes

    @property
    def filename(self) -> str:
        """What media/get's Content-disposition calls it: the media id with the type's extension."""
        return f"{self.media_id}.{CONTENT_TYPES.get(self.kind, {}).get(self.content_type, 'bin')}"


def new_media_id() -> str:
    """A random media id shaped like WeChat's (64 URL-safe characters)."""
    return secrets.token_urlsafe(48)


def content_type_of(kind: str, data: bytes, declared: str = "") -> str | None:
    """The upload's content type if `kind` accepts it: its leading bytes first, else what the client declared."""
    allowed = CONTENT_TYPES.get(kind, {})
    sniffed = next((ctype for magic, ctype in MAGIC if data.startswith(magic)), None)
    for ctype in (sniffed, declared.split(";")[0].strip().lower()):
        if ctype in allowed:
            return ctype
    return None


class MediaMixin:
    """Temporary media of EmulatorState: stored as raw bytes in a Redis hash that expires with the media."""

    redis: redis.Redis

    def add_media(self, kind: str, data: bytes, content_type: str, ttl: int = MEDIA_TTL) -> str:
        """Store a file as WeChat would for `ttl` seconds (a user's image or voice, or an upload); its media id."""
        media_id = new_media_id()
        key = MEDIA.format(media_id)
        pipe = self.redis.pipeline(transaction=True)
        fields = {"type": kind, "content_type": content_type, "created_at": int(time.time()), "data": data}
        pipe.hset(key, mapping=fields)
        pipe.expire(key, ttl)
        pipe.execute()
        return media_id

    def media(self, media_id: str) -> Media | None:
        """The stored file, or None when the id is unknown or expired (WeChat's 40007)."""
        if not MEDIA_ID.fullmatch(media_id or ""):
            return None
        raw = self.redis.execute_command("HGETALL", MEDIA.format(media_id), **{NEVER_DECODE: True})
        if not raw or b"data" not in raw:
            return None
        return Media(
            media_id=media_id,
            kind=raw[b"type"].decode(),
            content_type=raw[b"content_type"].decode(),
            created_at=int(raw[b"created_at"]),
            data=raw[b"data"],
        )

    def expire_media(self, media_id: str) -> None:
        """Make a media id expire now, as if its 3 days had passed."""
        self.redis.delete(MEDIA.format(media_id))
