"""The emulator's world in Redis: simulated users, every message they sent or received, and their 48-hour windows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

import redis

from bot.emulator.client import new_openid
from bot.emulator.keys import (
    EVENT_BUDGET,
    EVENT_WINDOW,
    INJECT,
    LOG,
    LOG_CAP,
    MSG_BUDGET,
    MSG_WINDOW,
    PREFIX,
    REFUSED,
    SEQ,
    TOKEN,
    USERS,
    WINDOW,
    WINDOW_EVENTS,
)
from bot.emulator.state_account import AccountMixin
from bot.emulator.state_gate import GateMixin
from bot.emulator.state_media import MediaMixin
from bot.emulator.state_qr import QrMixin

__all__ = ["EmulatorState", "PREFIX", "USERS", "LOG", "SEQ", "LOG_CAP"]

CUSTOM_PATH = "message/custom/send"  # the API path whose injected errors send_custom's gate takes

# One round trip: append an entry whose seq comes from the counter. KEYS seq, log; ARGV entry tail, cap.
RECORD = """
local seq = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], '{"seq": ' .. seq .. ', ' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return seq
"""
# One round trip for a customer-service message: the gate (an injected error? the access token), then subscribed?
# inside a window with budget left? then log it. The gate part is GateMixin.gate's for a call without quotas.
# KEYS users, window, seq, log, inject list, token key; ARGV openid, now, entry tail, cap, token check
# ('0' none, '1' the token key, 'missing' an empty access_token).
# Returns {errcode, seq}.
CUSTOM = """
if ARGV[5] ~= '0' then
  local injected = redis.call('LPOP', KEYS[5])
  if injected then
    if tonumber(injected) ~= 0 then return {tonumber(injected), 0} end
  elseif ARGV[5] == 'missing' then
    return {41001, 0}
  else
    local expiry = redis.call('GET', KEYS[6])
    if not expiry then return {40001, 0} end
    if tonumber(expiry) <= tonumber(ARGV[2]) then return {42001, 0} end
  end
end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw or cjson.decode(raw).subscribed ~= true then return {43004, 0} end
local now = tonumber(ARGV[2])
local w = redis.call('HMGET', KEYS[2], 'evt_until', 'evt_left', 'msg_until', 'msg_left')
local open, field = false, nil
for i = 1, 3, 2 do
  if not field and w[i] and tonumber(w[i]) > now then
    open = true
    if tonumber(w[i + 1]) > 0 then field = (i == 1) and 'evt_left' or 'msg_left' end
  end
end
if not field then return {open and 45047 or 45015, 0} end
redis.call('HINCRBY', KEYS[2], field, -1)
local seq = redis.call('INCR', KEYS[3])
redis.call('RPUSH', KEYS[4], '{"seq": ' .. seq .. ', ' .. ARGV[3])
redis.call('LTRIM', KEYS[4], -tonumber(ARGV[4]), -1)
return {0, seq}
"""


def entry_tail(direction: str, kind: str, body: dict[str, Any]) -> str:
    """A log entry's JSON without its opening brace and seq (the script puts those in front)."""
    entry = {"time": time.time(), "dir": direction, "kind": kind, "body": body}
    return json.dumps(entry, ensure_ascii=False)[1:]


class EmulatorState(GateMixin, AccountMixin, MediaMixin, QrMixin):
    """Users, logs, windows, tokens, quotas, menu, tags, mass jobs, media, QR codes: for the API, chat page, tests."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._record = client.register_script(RECORD)
        self._custom = client.register_script(CUSTOM)

    # Users -----------------------------------------------------------------
    def create_user(self, nickname: str = "", openid: str | None = None, subscribed: bool = False) -> dict[str, Any]:
        """A new simulated WeChat user (not yet following unless `subscribed`)."""
        user = new_profile(openid or new_openid(), nickname, subscribed)
        self.save_user(user)
        return user

    def create_users(self, count: int, subscribed: bool = True) -> list[str]:
        """Many users at once (a few round trips); their openids, in creation order."""
        users = [new_profile(new_openid(), "", subscribed) for _ in range(count)]
        self.save_users(users)
        return [u["openid"] for u in users]

    def user(self, openid: str) -> dict[str, Any] | None:
        raw = self.redis.hget(USERS, openid)
        return json.loads(raw) if raw else None

    def users_by_ids(self, openids: list[str]) -> list[dict[str, Any] | None]:
        """Profiles of `openids` in order (None for unknown ones), in one round trip."""
        raws = self.redis.hmget(USERS, openids) if openids else []
        return [json.loads(r) if r else None for r in raws]

    def users(self) -> list[dict[str, Any]]:
        """All simulated users, oldest first."""
        found = [json.loads(v) for v in self.redis.hgetall(USERS).values()]
        return sorted(found, key=lambda u: (u.get("created", 0), u["openid"]))

    def save_user(self, user: dict[str, Any]) -> None:
        self.redis.hset(USERS, user["openid"], json.dumps(user, ensure_ascii=False))

    def save_users(self, users: Iterable[dict[str, Any]], chunk: int = 1000) -> None:
        """Write many profiles, `chunk` per command."""
        mapping = {u["openid"]: json.dumps(u, ensure_ascii=False) for u in users}
        items = list(mapping.items())
        for i in range(0, len(items), chunk):
            self.redis.hset(USERS, mapping=dict(items[i : i + chunk]))

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
        return int(self._record(keys=[SEQ, LOG.format(openid)], args=[entry_tail(direction, kind, body), LOG_CAP]))

    def record_many(self, openids: list[str], direction: str, kind: str, body: dict[str, Any]) -> None:
        """The same entry appended to many users' logs (a mass send), in two round trips."""
        if not openids:
            return
        first = int(self.redis.incrby(SEQ, len(openids))) - len(openids) + 1
        tail = entry_tail(direction, kind, body)
        pipe = self.redis.pipeline(transaction=False)
        for i, openid in enumerate(openids):
            pipe.rpush(LOG.format(openid), f'{{"seq": {first + i}, {tail}')
            pipe.ltrim(LOG.format(openid), -LOG_CAP, -1)
        pipe.execute()

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
        """A user sent a message or event: log it; follow/unfollow change the user; windows open."""
        openid = str(fields["FromUserName"])
        kind = str(fields.get("MsgType", "text")).lower()
        event = str(fields.get("Event", "")).lower()
        if event in ("subscribe", "unsubscribe"):
            self.set_subscribed(openid, event == "subscribe")
        elif self.user(openid) is None:
            self.create_user(openid=openid, subscribed=True)
        if kind != "event" or event in WINDOW_EVENTS:
            self.open_window(openid, "event" if kind == "event" else "message")
        elif event == "unsubscribe":
            self.redis.delete(WINDOW.format(openid))
        self.record(openid, "in", kind, {k: v for k, v in fields.items() if k != "ToUserName"})

    def passive(self, openid: str, reply: dict[str, Any]) -> None:
        """The account's passive reply to the user's last message."""
        self.record(openid, "out", "passive", reply)

    # Customer-service windows ---------------------------------------------------
    def open_window(self, openid: str, kind: str = "message", at: float | None = None) -> None:
        """Open (or restart) a window as if the user sent a message (kind "message") or clicked ("event") at `at`."""
        at = time.time() if at is None else at
        if kind == "message":
            fields = {"msg_until": at + MSG_WINDOW, "msg_left": MSG_BUDGET}
        else:
            fields = {"evt_until": at + EVENT_WINDOW, "evt_left": EVENT_BUDGET}
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(WINDOW.format(openid), mapping=fields)
        pipe.expire(WINDOW.format(openid), MSG_WINDOW)
        pipe.execute()

    def window(self, openid: str) -> dict[str, float]:
        """The user's window fields (msg_until, msg_left, evt_until, evt_left); empty when none was opened."""
        return {k: float(v) for k, v in self.redis.hgetall(WINDOW.format(openid)).items()}

    def send_custom(self, openid: str, body: dict[str, Any], token: str | None = None) -> int:
        """Spend one customer-service message on `openid` and log it; 0, or WeChat's errcode (43004, 45015, 45047).

        With `token` (the call's access_token), the gate comes first in the same round trip: an injected error for
        message/custom/send, then 41001 / 40001 / 42001 for the token, as GateMixin.gate answers them.
        """
        keys = [
            USERS,
            WINDOW.format(openid),
            SEQ,
            LOG.format(openid),
            INJECT.format(CUSTOM_PATH),
            TOKEN.format(token or ""),
        ]
        args = [
            openid,
            repr(time.time()),
            entry_tail("out", "custom", body),
            LOG_CAP,
            "0" if token is None else "1" if token else "missing",
        ]
        code, _seq = self._custom(keys=keys, args=args)
        return int(code)

    # Template refusals -------------------------------------------------------------
    def refuse_templates(self, openid: str, template_id: str | None = None, refuse: bool = True) -> None:
        """The user refuses (or, refuse=False, accepts again) one template, or all when template_id is None."""
        member = f"{openid}:{template_id}" if template_id else openid
        if refuse:
            self.redis.sadd(REFUSED, member)
        else:
            self.redis.srem(REFUSED, member)

    def refuses_template(self, openid: str, template_id: str) -> bool:
        pipe = self.redis.pipeline(transaction=False)
        pipe.sismember(REFUSED, openid)
        pipe.sismember(REFUSED, f"{openid}:{template_id}")
        return any(pipe.execute())

    def reset(self) -> None:
        """Forget everything the emulator knows (keys under emu:)."""
        keys = list(self.redis.scan_iter(PREFIX + "*", count=1000))
        for i in range(0, len(keys), 1000):
            self.redis.delete(*keys[i : i + 1000])


def new_profile(openid: str, nickname: str, subscribed: bool) -> dict[str, Any]:
    """A user profile as stored in the users hash."""
    now = int(time.time())
    return {
        "openid": openid,
        "nickname": nickname or f"用户{openid[-4:]}",
        "subscribed": subscribed,
        "subscribe_time": now if subscribed else 0,
        "tagid_list": [],
        "created": now,
    }
