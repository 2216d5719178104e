"""Console sign-in security: Argon2 password hashes (bounded per process), password rules, the Redis login
limiter (per username + address, per address, global), safe redirect targets."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from bot.core.errors import LoginBusy
from bot.core.keys import LOGIN_FAIL_ADDRESS_KEY, LOGIN_FAIL_ALL_KEY, LOGIN_FAIL_KEY
from bot.core.sections import ConsoleConfig

MIN_PASSWORD = 12  # characters a password must have at least
MAX_PASSWORD = 128  # characters at most
STRENGTH_CHARS = 72  # zxcvbn rates at most this many characters (its own limit; its cost grows with the length)
MIN_STRENGTH = 3  # zxcvbn score (0-4) a new password needs: 3 = "safely unguessable" (about 10^8 guesses)
COMMON = frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])  # 30,000 most common passwords (zxcvbn, MIT)

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters (64 MiB per check)
_DUMMY = _hasher.hash("unused password, verified when the username is unknown")  # evens out timing


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True if `password` matches; an unknown account (stored None) costs the same time and fails."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)


class HashGate:
    """Bounds the Argon2 checks running at once in this process; `running` and `peak` are what it saw."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: threading.BoundedSemaphore | None = None
        self.size = 0
        self.running = 0
        self.peak = 0

    def resize(self, size: int) -> None:
        """Set the bound (from the settings, at app start); a new bound starts with every slot free."""
        with self._lock:
            if size != self.size:
                self._slots, self.size = threading.BoundedSemaphore(size), size

    @contextmanager
    def slot(self, wait: float) -> Iterator[None]:
        """Hold one slot for the block; LoginBusy if none frees up within `wait` seconds."""
        slots = self._slots
        if slots is None or not slots.acquire(timeout=wait):
            raise LoginBusy("too many password checks at once")
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            slots.release()


gate = HashGate()  # one per process


@dataclass(frozen=True)
class LoginRules:
    """The `console` settings that bound sign-in attempts."""

    max_failures: int  # per username + address
    address_max_failures: int  # per address, any usernames
    global_max_failures: int  # every address together
    window: int  # seconds: the failure window, and how long a lockout lasts
    password_checks: int  # Argon2 checks at once per process
    password_check_wait: float  # seconds a login waits for a free check

    @classmethod
    def read(cls, cfg: ConsoleConfig) -> LoginRules:
        return cls(
            cfg.login_max_failures,
            cfg.login_address_max_failures,
            cfg.login_global_max_failures,
            cfg.login_window,
            cfg.password_checks,
            cfg.password_check_wait,
        )


@dataclass
class Limit:
    """Where a sign-in stands: which limit (if any) is reached and seconds left of that lockout."""

    failures: int
    retry_after: int
    scope: str | None = None  # "user" (username + address), "address" or "global" when locked

    @property
    def locked(self) -> bool:
        return self.scope is not None


class LoginLimiter:
    """Counts failed logins in Redis per username + address, per address and overall; any limit reached locks."""

    def __init__(self, client: redis.Redis, rules: LoginRules) -> None:
        self.redis = client
        self.rules = rules

    def keys(self, username: str, ip: str) -> list[tuple[str, str, int]]:
        """(scope, Redis key, limit) of each counter a login from `ip` as `username` touches."""
        r = self.rules
        return [
            ("user", LOGIN_FAIL_KEY.format(username.strip().lower(), ip), r.max_failures),
            ("address", LOGIN_FAIL_ADDRESS_KEY.format(ip), r.address_max_failures),
            ("global", LOGIN_FAIL_ALL_KEY, r.global_max_failures),
        ]

    def _limit(self, counts: list[Any], ttls: list[Any], keys: list[tuple[str, str, int]]) -> Limit:
        user_count = int(counts[0] or 0)
        for (scope, _, limit), count, ttl in zip(keys, counts, ttls, strict=True):
            if int(count or 0) >= limit:
                return Limit(user_count, max(int(ttl or 0), 0), scope)
        return Limit(user_count, 0)

    def status(self, username: str, ip: str) -> Limit:
        keys = self.keys(username, ip)
        pipe = self.redis.pipeline()
        for _, key, _ in keys:
            pipe.get(key)
            pipe.ttl(key)
        out = pipe.execute()
        return self._limit(out[0::2], out[1::2], keys)

    def fail(self, username: str, ip: str) -> Limit:
        """Count one failure in each counter; a window starts at its first failure."""
        keys = self.keys(username, ip)
        pipe = self.redis.pipeline()
        for _, key, _ in keys:
            pipe.set(key, 0, ex=self.rules.window, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
        out = pipe.execute()
        return self._limit(out[1::3], out[2::3], keys)

    def clear(self, username: str, ip: str) -> None:
        """A successful login clears its username + address counter (the others keep counting)."""
        self.redis.delete(self.keys(username, ip)[0][1])


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path inside the console (no scheme, host or backslash tricks), else `default`."""
    if not target or not target.startswith("/console") or target.startswith("//") or "\\" in target:
        return default
    return target


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused (in Chinese), or None."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少需要 {MIN_PASSWORD} 个字符"
    if len(password) > MAX_PASSWORD:
        return f"密码最多 {MAX_PASSWORD} 个字符"
    if username and password.strip().lower() == username.strip().lower():
        return "密码不能与用户名相同"
    if password.strip().lower() in COMMON:
        return "这是一个常见密码，很容易被猜中，请换一个"
    if zxcvbn(password[:STRENGTH_CHARS], user_inputs=[username] if username else [])["score"] < MIN_STRENGTH:
        return "密码太容易被猜到（如常见单词、用户名、连续或重复的字符、键盘上相邻的键），请加长或换一个"
    return None
