"""Out-of-band sends (customer-service, template, mass, menu) with WeChat's error policy applied."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core import metrics
from bot.core.errors import WeChatAPIError
from bot.core.logs import mask
from bot.inbound import fit
from bot.inbound.message import Reply, TextReply

if TYPE_CHECKING:
    from bot.core.followers import Followers
    from bot.outbound.client import WxClient

# errcode → kind, from the reference table; anything else is "error".
ERROR_KINDS = {
    43004: "unsubscribed",  # mark the follower unsubscribed, skip
    43019: "blocked",  # the user blocked the account: skip
    43101: "refused",  # the user refused this template: skip, record
    45009: "backoff",
    45011: "backoff",  # frequency limits: back off, retry later
    45015: "window",
    45047: "window",  # outside the 48 h window / too many customer-service messages
    45065: "duplicate",
    45066: "duplicate",  # clientmsgid already used: treat as sent
    48001: "unauthorised",  # API not authorised for this account: tell the operator
    40001: "token",
    40014: "token",
    42001: "token",  # still refused after one refresh
}

TEMPLATE_VALUE = 20  # characters of a template keyword value (WeChat's limit since 2023-05)
log = logging.getLogger(__name__)


@dataclass
class SendResult:
    """What happened to one send: ok, or the kind of failure with WeChat's errcode."""

    ok: bool
    kind: str = "sent"  # sent, duplicate, or one of ERROR_KINDS' values, "network", "error"
    errcode: int | None = None
    errmsg: str = ""
    response: dict[str, Any] | None = None


def classify(exc: WeChatAPIError) -> str:
    """The kind of an API error."""
    if exc.errcode is None:
        return "network"
    return ERROR_KINDS.get(exc.errcode, "error")


class Outbox:
    """Sends through the WeChat API; never raises for WeChat's answers, returns a SendResult."""

    def __init__(self, client: WxClient, followers: Followers, backoff: float = 2.0) -> None:
        self.client = client
        self.followers = followers
        self.backoff = backoff

    def call(self, api: str, fn: Callable[[], dict[str, Any]], openid: str | None = None) -> SendResult:
        """Run one API call with the policy: back off once on 45009/45011, 43004 unsubscribes."""
        for attempt in (1, 2):
            try:
                response = fn()
                metrics.OUTBOX_SENT.labels(api).inc()
                return SendResult(True, response=response)
            except WeChatAPIError as exc:
                kind = classify(exc)
                metrics.OUTBOX_ERRORS.labels(str(exc.errcode)).inc()
                if kind == "backoff" and attempt == 1:
                    time.sleep(self.backoff)
                    continue
                return self.failed(api, exc, kind, openid)
        raise AssertionError("unreachable")

    def failed(self, api: str, exc: WeChatAPIError, kind: str, openid: str | None) -> SendResult:
        """Apply the side effects of a failure and report it."""
        who = mask(openid) if openid else "-"
        if kind == "duplicate":
            return SendResult(True, "duplicate", exc.errcode, exc.errmsg)
        if kind == "unsubscribed" and openid:
            self.followers.unsubscribe(openid)
        if kind in ("unauthorised", "error", "network", "token"):
            log.error("%s to %s failed: %s %s", api, who, exc.errcode, exc.errmsg)
        else:
            log.warning("%s to %s not delivered (%s): %s", api, who, kind, exc.errcode)
        return SendResult(False, kind, exc.errcode, exc.errmsg)

    def send_custom(self, openid: str, body: dict[str, Any]) -> SendResult:
        """A customer-service message (inside the 48 h window); a text over WeChat's limit goes as several, in order."""
        result = SendResult(False, "error")
        for part in fit.custom_parts(
            body
        ):  # stops at the first part WeChat refuses: the rest would arrive out of context
            data = {"touser": openid, **part}
            result = self.call("custom", lambda: self.client.post("message/custom/send", data=data), openid)  # noqa: B023
            if not result.ok:
                break
        return result

    def send_reply(self, openid: str, reply: Reply) -> SendResult:
        """A handler's reply sent late, as a customer-service message."""
        return self.send_custom(openid, reply.custom_body())

    def send_text(self, openid: str, text: str) -> SendResult:
        return self.send_reply(openid, TextReply(text))

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str | None = None) -> SendResult:
        """A template message (verified service accounts)."""
        fn = lambda: self.client.message.send_template(openid, template_id, data, url=url)  # noqa: E731
        return self.call("template", fn, openid)

    def send_mass_text(self, text: str, tag_id: int | None = None, client_msg_id: str | None = None) -> SendResult:
        """A mass text to all followers (tag_id None) or one tag; clientmsgid makes it idempotent."""
        fn = lambda: self.client.message.send_mass_text(  # noqa: E731
            text, tag_or_users=tag_id, is_to_all=tag_id is None, client_msg_id=client_msg_id
        )
        return self.call("mass", fn)

    def sync_menu(self, menu: dict[str, Any]) -> SendResult:
        """Push the custom menu."""
        return self.call("menu", lambda: self.client.menu.create(menu))
