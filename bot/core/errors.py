"""Exceptions shared across the flow: user-facing errors are replied verbatim, the rest are logged."""

from __future__ import annotations


class BotError(Exception):
    """Base of the project's own exceptions."""


class ConfigError(BotError):
    """A setting is missing or malformed; the message is one line naming the key."""


class UserFacingError(BotError):
    """Raised by a handler: its message (in Chinese) is sent to the user as the reply."""


class RequestRefused(BotError):
    """The webhook refuses an inbound request; `status` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WeChatAPIError(BotError):
    """The WeChat API answered with a non-zero errcode (or could not be reached: errcode None)."""

    def __init__(self, errcode: int | None, errmsg: str, kind: str = "error") -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg
        self.kind = kind  # the class in outbox.ERROR_KINDS: token, unsubscribed, window, backoff, ...


class AppendOnlyError(BotError, RuntimeError):
    """Code tried to change or delete a row of an append-only table (the audit log, ticket events)."""


class LoginBusy(BotError):
    """Every password-check slot of this process stayed taken for the short wait; the console says "busy"."""


class AccessRefused(UserFacingError):
    """A console step the signed-in account may not take (e.g. naming themselves as a ticket's assignee)."""


class SelfApproval(UserFacingError):
    """A reviewer tried to approve a push they created or edited (four eyes: someone else approves)."""
