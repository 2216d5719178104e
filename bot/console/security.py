"""Console sign-in security: Argon2 password hashes, the Redis login limiter, safe redirect targets."""
from __future__ import annotations

from dataclasses import dataclass

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_FAILURES = 5  # failed logins per username + IP before the lockout
LOCKOUT_SECONDS = 15 * 60  # the failure window, and how long a lockout lasts
FAIL_KEY = "console:login-fail:{}:{}"  # Redis counter of failures (username, IP)
MIN_PASSWORD = 8  # characters a password must have at least

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
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


@dataclass
class Limit:
    """Where a username + IP stands: failures in the window and seconds left of a lockout."""

    failures: int
    retry_after: int

    @property
    def locked(self) -> bool:
        return self.failures >= MAX_FAILURES


class LoginLimiter:
    """Counts failed logins per username + IP in Redis; MAX_FAILURES within the window locks them out."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def key(self, username: str, ip: str) -> str:
        return FAIL_KEY.format(username.strip().lower(), ip)

    def status(self, username: str, ip: str) -> Limit:
        key = self.key(username, ip)
        pipe = self.redis.pipeline()
        pipe.get(key)
        pipe.ttl(key)
        count, ttl = pipe.execute()
        return Limit(int(count or 0), max(int(ttl or 0), 0))

    def fail(self, username: str, ip: str) -> Limit:
        """Count one failure; the window starts at the first failure."""
        key = self.key(username, ip)
        pipe = self.redis.pipeline()
        pipe.set(key, 0, ex=LOCKOUT_SECONDS, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
        return Limit(int(count), max(int(ttl), 0))

    def clear(self, username: str, ip: str) -> None:
        self.redis.delete(self.key(username, ip))


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path inside the console (no scheme, host or backslash tricks), else `default`."""
    if not target or not target.startswith("/console") or target.startswith("//") or "\\" in target:
        return default
    return target


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused (in Chinese), or None."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少需要 {MIN_PASSWORD} 个字符"
    if username and password.strip().lower() == username.strip().lower():
        return "密码不能与用户名相同"
    return None
