"""The inbound flow after parsing: dedupe → user lock + dialog load → route → handler → save → reply XML."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import redis
from sqlalchemy.exc import SQLAlchemyError

from bot.core import metrics
from bot.core.errors import RequestRefused, UserFacingError
from bot.core.keys import DEDUPE_KEY, DIALOG_KEY, LOCK_KEY, SEEN_KEY
from bot.core.logs import mask
from bot.inbound.context import Context, Deferred
from bot.inbound.dialog import Dialog
from bot.inbound.message import Message, Reply, TextReply, as_reply
from bot.inbound.wire import render

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)

FALLBACK = "抱歉，系统开小差了，请稍后再试。如需帮助请回复「帮助」。"  # reply when a handler fails
BUSY = "系统繁忙，请稍后再发一次。您已填写的内容都还在。"  # reply when Redis or the database did not answer in time
BUSY_REPLY = TextReply(BUSY)  # a handler's dependency failed: the dialog is kept as it was before the message
DEPENDENCY_ERRORS = (redis.RedisError, SQLAlchemyError)  # bounded by their timeouts; answered with BUSY
POLL = 0.02  # seconds between looks at a lock or a first attempt's record
RETRY_SHARE = 0.4  # a turn faster than this share of WeChat's timeout cannot have been retried: FINISH is not awaited

# One round trip: claim the message, take the user's lock, read the dialog, note a visit (ARGV[4] > 0).
# First, with the webhook's nonce guard (KEYS[5] = its timestamp and nonce, ARGV[5] = the body's hash, ARGV[6] = TTL):
# {-1} when that timestamp and nonce came before with another body (a forgery, refused with no effect).
BEGIN = """
if KEYS[5] and not redis.call('SET', KEYS[5], ARGV[5], 'NX', 'EX', ARGV[6])
   and redis.call('GET', KEYS[5]) ~= ARGV[5] then return {-1} end
local first = redis.call('SET', KEYS[1], 'pending', 'NX', 'EX', ARGV[1])
if not first then return {0, redis.call('GET', KEYS[1]) or ''} end
local locked = redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3])
local seen = false
if ARGV[4] ~= '0' then seen = redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[4]) end
return {1, locked and 1 or 0, redis.call('GET', KEYS[3]) or '', seen and 1 or 0}
"""
# One round trip: remember the reply, save the dialog, release the lock; returns the previous record.
FINISH = """
local prev = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], 'done:' .. ARGV[1], 'EX', ARGV[2])
if ARGV[4] == '-' then
elseif ARGV[4] == '' then redis.call('DEL', KEYS[3])
else redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5]) end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return prev or ''
"""
# A retry gives up waiting: mark the record so the first attempt sends its reply out of band.
HANDOFF = """
local cur = redis.call('GET', KEYS[1])
if cur == 'pending' then redis.call('SET', KEYS[1], 'deferred', 'KEEPTTL') return 'deferred' end
return cur or ''
"""


@dataclass
class Turn:
    """One message being handled: its Redis keys (dedupe, lock, dialog, seen), lock token and start."""

    msg: Message
    started: float
    token: str = ""
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        openid = self.msg.openid
        self.keys = [
            DEDUPE_KEY.format(self.msg.dedupe_key),
            LOCK_KEY.format(openid),
            DIALOG_KEY.format(openid),
            SEEN_KEY.format(openid),
        ]


class Pipeline:
    """Handles parsed messages; returns the plaintext reply XML, or None for "success"."""

    def __init__(self, services: Services) -> None:
        self.s = services
        cfg = services.settings
        self.soft_limit = cfg.webhook.soft_limit
        self.retry_wait = cfg.webhook.retry_wait
        self.retry_floor = cfg.webhook.wechat_timeout * RETRY_SHARE
        self.dialog_ttl = services.dialogs.ttl
        self.lock_ms = cfg.dialog.lock_timeout * 1000
        self.lock_wait = cfg.dialog.lock_wait
        self.dedupe_ttl = cfg.dedupe.ttl
        self.touch_ttl = max(1, cfg.followers.touch_interval)
        self.local = threading.local()  # one dedicated Redis connection per thread for the two hot scripts
        self.begin = services.redis.register_script(BEGIN)
        self.finish = services.redis.register_script(FINISH)
        self.handoff = services.redis.register_script(HANDOFF)

    def conn(self) -> redis.Redis:
        """This thread's own connection (no pool checkout per command); an unread FINISH answer is read first."""
        shared = self.s.redis.connection_pool
        if getattr(self.local, "source", None) is not shared:
            own = redis.ConnectionPool(
                connection_class=shared.connection_class, max_connections=1, **shared.connection_kwargs
            )
            self.local.client = redis.Redis(connection_pool=own, single_connection_client=True)
            self.local.source, self.local.unread = shared, False
        client: redis.Redis = self.local.client
        if self.local.unread:
            self.local.unread = False
            try:
                client.connection.read_response()  # type: ignore[union-attr]  # a single-connection client
            except redis.RedisError as exc:  # the reply already went out; the record will expire
                log.error("a previous message's FINISH failed in Redis: %s", exc)
        return client

    def finish_fast(self, keys: list[str], args: list[str | int]) -> None:
        """FINISH without awaiting its answer: only for turns too quick for WeChat to have retried them."""
        client = self.conn()
        client.connection.send_command("EVAL", FINISH, len(keys), *keys, *args)  # type: ignore[union-attr]
        self.local.unread = True

    def handle(self, msg: Message, started: float | None = None) -> str | None:
        """The reply XML for `msg`; 「系统繁忙」 when Redis or the database did not answer within their timeouts."""
        try:
            return self.handle_once(msg, started)
        except DEPENDENCY_ERRORS as exc:
            log.warning("message from %s answered busy: %s unavailable", mask(msg.openid), dependency(exc))
            return self.busy(msg)

    def busy(self, msg: Message) -> str:
        """The 「系统繁忙，请稍后再发一次」 reply XML, for a message not handled because a dependency failed."""
        metrics.REQUESTS.labels("busy").inc()
        return render(BUSY_REPLY, msg)

    def handle_once(self, msg: Message, started: float | None = None) -> str | None:
        """The reply XML for `msg`, handled once however often WeChat sends it."""
        turn = Turn(msg, started or time.monotonic(), os.urandom(12).hex())
        touch = self.touch_ttl if msg.opens_window else 0
        guard = msg.nonce_guard  # set by the webhook: checked in BEGIN's round trip
        keys, extra = (turn.keys + [guard[0]], guard[1:]) if guard else (turn.keys, ())
        res = self.begin(keys=keys, args=[self.dedupe_ttl, turn.token, self.lock_ms, touch, *extra], client=self.conn())
        if res[0] == -1:
            raise RequestRefused(403, "timestamp and nonce reused with another body")
        if not res[0]:
            metrics.DEDUPE_HITS.inc()
            return self.answer_retry(turn, _text(res[1]))
        if res[3]:
            self.s.followers.touch(msg.openid)
            for observe in self.s.window_observers:  # features' hooks (e.g. ticket notices that waited)
                observe(self.s, msg.openid)
        if res[1]:
            return self.run(turn, Dialog.loads(res[2]))
        dialog = self.wait_lock(turn)
        if dialog is not None:
            return self.run(turn, dialog)
        self.handoff(keys=turn.keys[:1])
        self.s.pool.submit(self.run_late, turn)
        return None

    def answer_retry(self, turn: Turn, record: str) -> str | None:
        """A retry: the first attempt's reply, or "success" if it is still running after a short wait."""
        deadline = time.monotonic() + self.retry_wait
        while record == "pending" and time.monotonic() < deadline:
            time.sleep(POLL)
            record = _text(self.s.redis.get(turn.keys[0]))
        if record == "pending":
            record = _text(self.handoff(keys=turn.keys[:1]))
        return record[5:] or None if record.startswith("done:") else None

    def wait_lock(self, turn: Turn, wait: float | None = None) -> Dialog | None:
        """Wait for the user's previous message to finish; the dialog once the lock is ours."""
        deadline = time.monotonic() + (self.lock_wait if wait is None else wait)
        while time.monotonic() < deadline:
            time.sleep(POLL)
            if self.s.redis.set(turn.keys[1], turn.token, nx=True, px=self.lock_ms):
                return self.s.dialogs.get(turn.msg.openid)
        return None

    def run_late(self, turn: Turn) -> None:
        """Background: a message that waited too long for the lock; its reply goes out through the outbox."""
        dialog = self.wait_lock(turn, wait=self.lock_ms / 1000 + 1) or self.s.dialogs.get(turn.msg.openid)
        turn.started = float("-inf")  # past any soft limit: whatever comes back is sent out of band
        xml_reply = self.run(turn, dialog, out_of_band=True)
        log.debug("late message for %s handled (%s)", mask(turn.msg.openid), bool(xml_reply))

    def run(self, turn: Turn, dialog: Dialog, out_of_band: bool = False) -> str | None:
        """Route and handle; save the dialog and the reply in one step; hand off late replies."""
        ctx = Context(turn.msg, dialog, self.s)
        try:
            before = dialog.dumps()
            reply, late = self.dispatch(ctx, turn)
            after = ctx.dialog.dumps()
            saved = "-" if (after == before and not after) or reply is BUSY_REPLY else after
            xml_reply = render(reply, turn.msg) if reply else ""
            args: list[str | int] = [xml_reply, self.dedupe_ttl, turn.token, saved, self.dialog_ttl]
            if not out_of_band and time.monotonic() - turn.started < self.retry_floor:
                self.finish_fast(turn.keys[:3], args)
                prev = ""  # a retry comes after WeChat's 5 s timeout, so none can have marked this turn yet
            else:
                prev = _text(self.finish(keys=turn.keys[:3], args=args, client=self.conn()))
        finally:
            ctx.close()
        if late is not None:
            self.hand_over(turn.msg.openid, late)
        if reply and (out_of_band or prev == "deferred"):
            self.s.outbox.send_reply(turn.msg.openid, reply)
            return None
        return xml_reply or None

    def dispatch(self, ctx: Context, turn: Turn) -> tuple[Reply | None, Deferred | None]:
        """Call the matching handler; a Deferred is waited on until the soft limit."""
        result = self.call(ctx)
        if not isinstance(result, Deferred):
            return result, None
        result.future = self.s.pool.submit(self.call_work, result, turn.msg)
        remaining = self.soft_limit - (time.monotonic() - turn.started)
        try:
            return result.future.result(timeout=max(0.0, remaining)), None
        except FutureTimeout:
            return (TextReply(result.notice) if result.notice else None), result

    def call(self, ctx: Context) -> Reply | Deferred | None:
        """Run the handler with the error policy: user-facing errors verbatim, the rest logged + fallback."""
        route = self.s.dispatcher.resolve(ctx.msg, ctx)
        if route is None:
            return None
        t0 = time.perf_counter()
        try:
            result = route.handler(ctx.msg, ctx)
        except UserFacingError as exc:
            result = str(exc)
        except DEPENDENCY_ERRORS as exc:
            log.warning(
                "handler %s answered busy for %s: %s unavailable", ctx.route_name, mask(ctx.msg.openid), dependency(exc)
            )
            metrics.HANDLER_ERRORS.labels(ctx.route_name).inc()
            return BUSY_REPLY
        except Exception:
            log.exception("handler %s failed for %s", ctx.route_name, mask(ctx.msg.openid))
            metrics.HANDLER_ERRORS.labels(ctx.route_name).inc()
            result = FALLBACK
        latency, replies = metrics.for_handler(ctx.route_name)
        latency.observe(time.perf_counter() - t0)
        replies.inc()
        return result if isinstance(result, Deferred) else as_reply(result)

    def call_work(self, deferred: Deferred, msg: Message) -> Reply | None:
        """Run deferred work in a pool thread with its own context."""
        ctx = Context(msg, Dialog(), self.s)
        try:
            return as_reply(deferred.work(ctx))
        except UserFacingError as exc:
            return TextReply(str(exc))
        except DEPENDENCY_ERRORS as exc:
            log.warning("deferred work for %s answered busy: %s unavailable", mask(msg.openid), dependency(exc))
            return BUSY_REPLY
        except Exception:
            log.exception("deferred work failed for %s", mask(msg.openid))
            return TextReply(FALLBACK)
        finally:
            ctx.close()

    def hand_over(self, openid: str, deferred: Deferred) -> None:
        """Send a deferred reply through the outbox when its work finishes."""
        assert deferred.future is not None

        def done(fut: object) -> None:
            reply = deferred.future.result() if deferred.future else None
            if reply:
                self.s.ordered.submit(openid, self.s.outbox.send_reply, openid, reply)

        deferred.future.add_done_callback(done)


def dependency(exc: BaseException) -> str:
    """Which dependency an error came from (for the log; never the error's text, which may hold parameters)."""
    return "redis" if isinstance(exc, redis.RedisError) else "database"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")
