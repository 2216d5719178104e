"""The account's side of the emulator's world: custom menu, user tags, mass-send jobs and their quotas."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import redis

from bot.emulator.keys import (
    CLIENT_MSG,
    CLIENT_MSG_TTL,
    DAY,
    FIRST_MSG_ID,
    FIRST_TAG_ID,
    MASS_DAY,
    MASS_JOB,
    MASS_MONTH,
    MENU,
    MSG_SEQ,
    TAG_SEQ,
    TAGS,
)

MASS_JOB_TTL = 30 * DAY  # seconds a mass job's status is kept for message/mass/get
MONTH_TTL = 32 * DAY  # seconds a month's per-user mass counters are kept


class AccountMixin:
    """Menu, tags and mass jobs of EmulatorState (users and logs live in state.py)."""

    redis: redis.Redis

    if TYPE_CHECKING:  # provided by EmulatorState

        def users(self) -> list[dict[str, Any]]: ...
        def save_users(self, users: Any, chunk: int = 1000) -> None: ...

    # Menu --------------------------------------------------------------------
    def menu(self) -> dict[str, Any] | None:
        raw = self.redis.get(MENU)
        return json.loads(raw) if raw else None

    def set_menu(self, menu: dict[str, Any]) -> None:
        self.redis.set(MENU, json.dumps(menu, ensure_ascii=False))

    def delete_menu(self) -> None:
        self.redis.delete(MENU)

    # Tags --------------------------------------------------------------------
    def tags(self) -> list[dict[str, Any]]:
        """Every tag with its follower count, by id."""
        found = [json.loads(v) for v in self.redis.hgetall(TAGS).values()]
        counts: dict[int, int] = {}
        for user in self.users():
            for tag_id in user.get("tagid_list", []):
                counts[tag_id] = counts.get(tag_id, 0) + 1
        return sorted(({**t, "count": counts.get(t["id"], 0)} for t in found), key=lambda t: t["id"])

    def tag(self, tag_id: int) -> dict[str, Any] | None:
        raw = self.redis.hget(TAGS, str(tag_id))
        return json.loads(raw) if raw else None

    def create_tag(self, name: str) -> dict[str, Any]:
        """A new tag; ids start at FIRST_TAG_ID like WeChat's."""
        self.redis.set(TAG_SEQ, FIRST_TAG_ID - 1, nx=True)
        tag = {"id": int(self.redis.incr(TAG_SEQ)), "name": name}
        self.save_tag(tag)
        return tag

    def save_tag(self, tag: dict[str, Any]) -> None:
        self.redis.hset(TAGS, str(tag["id"]), json.dumps(tag, ensure_ascii=False))

    def delete_tag(self, tag_id: int) -> None:
        """Remove the tag and take it off every user."""
        self.redis.hdel(TAGS, str(tag_id))
        tagged = [u for u in self.users() if tag_id in u.get("tagid_list", [])]
        for user in tagged:
            user["tagid_list"].remove(tag_id)
        self.save_users(tagged)

    def retag(self, users: list[dict[str, Any]], tag_id: int, add: bool) -> None:
        """Put `tag_id` on (add) or take it off these users and save them."""
        for user in users:
            tags = [t for t in user.get("tagid_list", []) if t != tag_id]
            user["tagid_list"] = tags + [tag_id] if add else tags
        self.save_users(users)

    # Mass sends --------------------------------------------------------------
    def next_msg_id(self) -> int:
        """A new msg_id for a template or mass send."""
        self.redis.set(MSG_SEQ, FIRST_MSG_ID, nx=True)
        return int(self.redis.incr(MSG_SEQ))

    def claim_client_msgid(self, client_msgid: str, msg_id: int) -> int | None:
        """Remember a mass clientmsgid for 24 h; the msg_id it was first used for when it is a repeat."""
        key = CLIENT_MSG.format(client_msgid)
        if self.redis.set(key, msg_id, nx=True, ex=CLIENT_MSG_TTL):
            return None
        return int(self.redis.get(key) or 0)

    def release_client_msgid(self, client_msgid: str) -> None:
        """The send was refused: the clientmsgid may be used again."""
        self.redis.delete(CLIENT_MSG.format(client_msgid))

    def take_mass_day(self, limit: int) -> bool:
        """Count one mass send today; False (and not counted) past `limit`."""
        key = MASS_DAY.format(int(time.time() // DAY))
        if int(self.redis.incr(key)) <= limit:
            self.redis.expire(key, 2 * DAY)
            return True
        self.redis.decr(key)
        return False

    def take_monthly(self, openids: list[str], limit: int) -> list[str]:
        """The openids still under `limit` mass messages this month; each of them is counted once more."""
        if not openids:
            return []
        key = MASS_MONTH.format(time.strftime("%Y%m"))
        counts = self.redis.hmget(key, openids)
        allowed = [o for o, c in zip(openids, counts, strict=True) if int(c or 0) < limit]
        pipe = self.redis.pipeline(transaction=False)
        for openid in allowed:
            pipe.hincrby(key, openid, 1)
        pipe.expire(key, MONTH_TTL)
        pipe.execute()
        return allowed

    def save_mass_job(self, msg_id: int, job: dict[str, Any]) -> None:
        key = MASS_JOB.format(msg_id)
        self.redis.hset(key, mapping={k: str(v) for k, v in job.items()})
        self.redis.expire(key, MASS_JOB_TTL)

    def mass_job(self, msg_id: int | str) -> dict[str, str] | None:
        """A mass job's fields (status, total, filter, sent, error), None if unknown."""
        return self.redis.hgetall(MASS_JOB.format(msg_id)) or None

    def set_mass_status(self, msg_id: int | str, status: str) -> None:
        self.redis.hset(MASS_JOB.format(msg_id), "status", status)
