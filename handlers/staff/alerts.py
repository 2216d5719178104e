"""Staff in WeChat: console accounts bind their WeChat (a one-time code sent in chat) to receive alerts there
(handlers.tickets.alerts sends them)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.accounts import Account

if TYPE_CHECKING:
    from bot.core.services import Services

BIND_KEY = "staff:bind:{}"  # Redis: a one-time binding code → the console account id
BIND_TTL = 600  # seconds a binding code stays valid
CODE_DIGITS = 10  # digits of a binding code (10^10 codes; tries are limited per WeChat user and overall)
TRY_KEY = "staff:bind-try:{}"  # Redis: codes one WeChat user tried in the window
TRY_ALL_KEY = "staff:bind-try-all"  # Redis: codes everyone tried in the window


def new_code(services: Services, account_id: int) -> str:
    """A CODE_DIGITS-digit code the account's owner sends in chat as 「绑定后台 1234567890」; valid BIND_TTL seconds."""
    for _ in range(20):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if services.redis.set(BIND_KEY.format(code), account_id, nx=True, ex=BIND_TTL):
            return code
    raise RuntimeError("no free binding code")


def try_allowed(services: Services, openid: str) -> int:
    """Count one code try by `openid`; 0 if allowed, else the seconds until this user (or everyone) may try again."""
    cfg = services.settings.console
    window, wait = cfg.bind_window, 0
    for key, limit in (
        (TRY_KEY.format(openid), cfg.bind_max_attempts),
        (TRY_ALL_KEY, cfg.bind_global_max_attempts),
    ):
        pipe = services.redis.pipeline()
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
        if int(count) > limit:
            wait = max(wait, int(ttl), 1)
    return wait


def bind(services: Services, db: Session, code: str, openid: str) -> Account | None:
    """Bind `openid` to the code's account (the code is used up); None for an unknown or expired code."""
    if len(code) != CODE_DIGITS:
        return None
    account_id = services.redis.getdel(BIND_KEY.format(code))
    account = db.get(Account, int(account_id)) if account_id else None
    if account is None or not account.active:
        return None
    for other in db.scalars(select(Account).where(Account.openid == openid, Account.id != account.id)):
        other.openid = None  # one WeChat user alerts one account
    account.openid = openid
    return account


def unbind(db: Session, openid: str) -> list[str]:
    """Unbind every account bound to `openid`; their usernames."""
    accounts = db.scalars(select(Account).where(Account.openid == openid)).all()
    for account in accounts:
        account.openid = None
    return [a.username for a in accounts]
