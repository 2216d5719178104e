"""Parametric QR codes of the emulator's world: what qrcode/create made, what showqrcode shows and a scan sends."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass

import redis

from bot.emulator.keys import (
    QR_CODES,
    QR_EXPIRY,
    QR_KEEP_EXPIRED,
    QR_ORDER,
    QR_PERMANENT,
    QR_PERMANENT_LIMIT,
    QR_SEQ,
)

TEMPORARY = frozenset({"QR_SCENE", "QR_STR_SCENE"})  # action names of temporary codes
PERMANENT = frozenset({"QR_LIMIT_SCENE", "QR_LIMIT_STR_SCENE"})  # action names of permanent codes
STRING_SCENES = frozenset({"QR_STR_SCENE", "QR_LIMIT_STR_SCENE"})  # those whose scene is a scene_str
QR_URL = "http://weixin.qq.com/q/{}"  # the shape of the url a WeChat QR code encodes
COUNT_EXCEEDED = 45029  # errcode when the account already has QR_PERMANENT_LIMIT permanent codes
# A permanent code in one round trip: the scene's existing ticket, or 45029 at the limit, or the new code stored.
# KEYS permanent index, codes, order; ARGV "action:scene", ticket, code JSON, seq, limit, errcode.
# Returns {errcode, ticket}.
CREATE_PERMANENT = """
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[5]) then return {tonumber(ARGV[6]), ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
return {0, ARGV[2]}
"""


@dataclass(frozen=True)
class QrCode:
    """One parametric QR code: its ticket, action name, scene (as EventKey carries it), url and life."""

    ticket: str
    action: str  # QR_SCENE, QR_STR_SCENE, QR_LIMIT_SCENE or QR_LIMIT_STR_SCENE
    scene: str  # scene_str, or scene_id written as a string
    url: str
    created: float
    expires_at: float = 0.0  # 0 for a permanent code
    seq: int = 0  # creation order

    @property
    def permanent(self) -> bool:
        return self.action in PERMANENT

    def expired(self, now: float | None = None) -> bool:
        """A temporary code past its expire_seconds (WeChat no longer shows or honours it)."""
        return not self.permanent and self.expires_at <= (time.time() if now is None else now)

    def expire_seconds(self) -> int:
        """The life it was created with (0 for a permanent code)."""
        return 0 if self.permanent else round(self.expires_at - self.created)

    def as_dict(self) -> dict[str, object]:
        """Its fields plus permanent / expired, for the chat page and the terminal."""
        return {**asdict(self), "permanent": self.permanent, "expired": self.expired()}


def new_ticket() -> str:
    """A random ticket shaped like WeChat's ("gQ" and URL-safe base64)."""
    return "gQ" + secrets.token_urlsafe(60)


def qr_from_json(raw: str | bytes | None) -> QrCode | None:
    return QrCode(**json.loads(raw)) if raw else None


class QrMixin:
    """QR codes of EmulatorState: a hash of codes by ticket, their creation order, permanent codes by scene."""

    redis: redis.Redis

    def create_qr(self, action: str, scene: str, expire_seconds: int = 0) -> tuple[int, QrCode | None]:
        """(0, the code) or (errcode, None); a permanent code asked for again with the same scene is the same code."""
        now = time.time()
        self.prune_qr(now)
        if action in PERMANENT:
            code = self.new_qr(action, scene, now, 0.0)
            keys = [QR_PERMANENT, QR_CODES, QR_ORDER]
            args = [f"{action}:{scene}", code.ticket, json.dumps(asdict(code), ensure_ascii=False), code.seq]
            errcode, ticket = self.redis.register_script(CREATE_PERMANENT)(
                keys=keys, args=[*args, QR_PERMANENT_LIMIT, COUNT_EXCEEDED]
            )
            return (int(errcode), None) if int(errcode) else (0, self.qr(str(ticket)))
        code = self.new_qr(action, scene, now, now + expire_seconds)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(QR_CODES, code.ticket, json.dumps(asdict(code), ensure_ascii=False))
        pipe.zadd(QR_ORDER, {code.ticket: code.seq})
        pipe.zadd(QR_EXPIRY, {code.ticket: code.expires_at})
        pipe.execute()
        return 0, code

    def new_qr(self, action: str, scene: str, now: float, expires_at: float) -> QrCode:
        url = QR_URL.format(secrets.token_urlsafe(16))
        return QrCode(new_ticket(), action, scene, url, now, expires_at, int(self.redis.incr(QR_SEQ)))

    def qr(self, ticket: str) -> QrCode | None:
        """The code with this ticket, expired or not (None when unknown or long forgotten)."""
        return qr_from_json(self.redis.hget(QR_CODES, ticket)) if ticket else None

    def live_qr(self, ticket: str) -> QrCode | None:
        """The code with this ticket if WeChat still honours it (None when unknown or expired)."""
        code = self.qr(ticket)
        return code if code is not None and not code.expired() else None

    def qr_codes(self, limit: int = 100) -> list[QrCode]:
        """The codes created, newest first (expired temporary ones included for a day)."""
        tickets = self.redis.zrevrange(QR_ORDER, 0, limit - 1) if limit > 0 else []
        raws = self.redis.hmget(QR_CODES, tickets) if tickets else []
        return [c for c in (qr_from_json(r) for r in raws) if c is not None]

    def find_qr(self, scene_or_ticket: str) -> QrCode | None:
        """The code with this ticket, else the newest code with this scene (a live one before an expired one)."""
        value = str(scene_or_ticket).strip()
        code = self.qr(value)
        if code is not None:
            return code
        tickets = self.redis.zrevrange(QR_ORDER, 0, -1)
        if not tickets:
            return None
        matches = [c for c in (qr_from_json(r) for r in self.redis.hmget(QR_CODES, tickets)) if c and c.scene == value]
        live = [c for c in matches if not c.expired()]
        return (live or matches or [None])[0]

    def expire_qr(self, ticket: str) -> None:
        """Make a temporary code expire now, as if its expire_seconds had passed."""
        code = self.qr(ticket)
        if code is None or code.permanent:
            return
        gone = QrCode(**{**asdict(code), "expires_at": time.time() - 1})
        self.redis.hset(QR_CODES, ticket, json.dumps(asdict(gone), ensure_ascii=False))
        self.redis.zadd(QR_EXPIRY, {ticket: gone.expires_at})

    def prune_qr(self, now: float) -> None:
        """Forget temporary codes expired more than QR_KEEP_EXPIRED seconds ago."""
        old = self.redis.zrangebyscore(QR_EXPIRY, 0, now - QR_KEEP_EXPIRED)
        if old:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hdel(QR_CODES, *old)
            pipe.zrem(QR_ORDER, *old)
            pipe.zrem(QR_EXPIRY, *old)
            pipe.execute()
