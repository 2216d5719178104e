"""我要反映 drafts: written to the database at every step (a Redis loss or restart keeps them), Redis as a cache."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.core.database import aware, utcnow
from handlers.tickets.models import TicketDraft

if TYPE_CHECKING:
    from bot.core.services import Services

CACHE_KEY = "tickets:draft:{}"  # Redis: the cached copy of a user's draft (JSON), or a submitted one's number
log = logging.getLogger(__name__)


def parse(raw: str | bytes | None) -> dict[str, Any] | None:
    """A draft from its JSON: a dict with an id, else None."""
    try:
        draft = json.loads(raw) if raw else None
    except ValueError:
        return None
    return draft if isinstance(draft, dict) and draft.get("id") else None


def load(services: Services, openid: str) -> dict[str, Any] | None:
    """The user's draft: the Redis copy, else the database's (after a Redis flush or restart)."""
    cached = parse(services.redis.get(CACHE_KEY.format(openid)))
    if cached is not None:
        return cached
    with services.sessions() as db:
        row = db.get(TicketDraft, openid)
        if row is None or aware(row.expires_at) <= utcnow():
            return None
        return parse(json.dumps(row.data))


def store(services: Services, openid: str, draft: dict[str, Any], ttl: int) -> None:
    """Keep `draft` for `ttl` seconds: the database first (it must survive), then the Redis copy."""
    now = utcnow()
    values = {"openid": openid, "data": draft, "expires_at": now + timedelta(seconds=ttl), "updated_at": now}
    with services.sessions() as db:
        insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = insert(TicketDraft).values(**values)
        changed = {name: getattr(stmt.excluded, name) for name in ("data", "expires_at", "updated_at")}
        db.execute(stmt.on_conflict_do_update(index_elements=["openid"], set_=changed))
        db.commit()
    services.redis.set(CACHE_KEY.format(openid), json.dumps(draft, ensure_ascii=False), ex=ttl)


def drop(services: Services, openid: str) -> None:
    """Forget the user's draft (「取消」)."""
    with services.sessions() as db:
        db.execute(delete(TicketDraft).where(TicketDraft.openid == openid))
        db.commit()
    services.redis.delete(CACHE_KEY.format(openid))
