"""The emulator's world in Redis: simulated users and every message they sent or received, in order."""
from __future__ import annotations

import json
import time
from typing import Any

import redis

from bot.emulator.client import new_openid

PREFIX = "emu:"  # every emulator key starts with this
USERS = PREFIX + "users"  # hash openid -> JSON profile
LOG = PREFIX + "log:{}"  # list of JSON entries per openid, oldest first
SEQ = PREFIX + "seq"  # counter giving every log entry a global sequence number
LOG_CAP = 2000  # entries kept per user


class EmulatorState:
    """Users and per-user conversation logs shared by the fake API, the chat page and tests."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    # Users -----------------------------------------------------------------
    def create_user(self, nickname: str = "", openid: str | None = None, subscribed: bool = False) -> dict[str, Any]:
        """A new simulated WeChat user (not yet following unless `subscribed`)."""
        openid = openid or new_openid()
        user = {"openid": openid, "nickname": nickname or f"用户{openid[-4:]}", "subscribed": subscribed,
                "subscribe_time": int(time.time()) if subscribed else 0, "tagid_list": [], "created": int(time.time())}
        self.redis.hset(USERS, openid, json.dumps(user, ensure_ascii=False))
        return user

    def user(self, openid: str) -> dict[str, Any] | None:
        raw = self.redis.hget(USERS, openid)
        return json.loads(raw) if raw else None

    def users(self) -> list[dict[str, Any]]:
        """All simulated users, oldest first."""
        found = [json.loads(v) for v in self.redis.hgetall(USERS).values()]
        return sorted(found, key=lambda u: (u.get("created", 0), u["openid"]))

    def save_user(self, user: dict[str, Any]) -> None:
        self.redis.hset(USERS, user["openid"], json.dumps(user, ensure_ascii=False))

    def set_subscribed(self, openid: str, subscribed: bool) -> dict[str, Any]:
        """Follow or unfollow; an unknown openid is created."""
        user = self.user(openid) or self.create_user(openid=openid)
        user["subscribed"] = subscribed
        user["subscribe_time"] = int(time.time()) if subscribed else user.get("subscribe_time", 0)
        self.save_user(user)
        return user

    # Conversation log --------------------------------------------------------
    def record(self, openid: str, direction: str, kind: str, body: dict[str, Any]) -> int:
        """Append to a user's log; direction "in" (user → account) or "out"; returns the sequence number.

        kind: text, event, image... for "in"; passive, custom, template, mass, preview for "out".
        """
        seq = int(self.redis.incr(SEQ))
        entry = {"seq": seq, "time": time.time(), "dir": direction, "kind": kind, "body": body}
        pipe = self.redis.pipeline()
        pipe.rpush(LOG.format(openid), json.dumps(entry, ensure_ascii=False))
        pipe.ltrim(LOG.format(openid), -LOG_CAP, -1)
        pipe.execute()
        return seq

    def messages(self, openid: str, since: int = 0, kind: str | None = None) -> list[dict[str, Any]]:
        """A user's log entries with seq > `since`, optionally of one kind."""
        entries = [json.loads(e) for e in self.redis.lrange(LOG.format(openid), 0, -1)]
        return [e for e in entries if e["seq"] > since and (kind is None or e["kind"] == kind)]

    def received(self, openid: str, kind: str | None = None) -> list[dict[str, Any]]:
        """What the account sent this user out of band (custom, template, mass, preview), oldest first."""
        out = [e for e in self.messages(openid) if e["dir"] == "out" and e["kind"] != "passive"]
        return [e for e in out if kind is None or e["kind"] == kind]

    # What WeChat's servers see ------------------------------------------------
    def inbound(self, fields: dict[str, Any]) -> None:
        """A user sent a message or event: log it; follow/unfollow events change the user."""
        openid = str(fields["FromUserName"])
        kind = str(fields.get("MsgType", "text")).lower()
        event = str(fields.get("Event", "")).lower()
        if event in ("subscribe", "unsubscribe"):
            self.set_subscribed(openid, event == "subscribe")
        elif self.user(openid) is None:
            self.create_user(openid=openid, subscribed=True)
        self.record(openid, "in", kind, {k: v for k, v in fields.items() if k != "ToUserName"})

    def passive(self, openid: str, reply: dict[str, Any]) -> None:
        """The account's passive reply to the user's last message."""
        self.record(openid, "out", "passive", reply)

    def reset(self) -> None:
        """Forget everything the emulator knows (keys under emu:)."""
        keys = list(self.redis.scan_iter(PREFIX + "*", count=1000))
        if keys:
            self.redis.delete(*keys)
