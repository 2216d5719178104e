"""What a handler receives besides the message: dialog, database session, outbox, settings, deferral."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.inbound.dialog import Dialog
from bot.inbound.message import Message, Reply
from bot.inbound.router import normalize

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.core.services import Services
    from bot.outbound.outbox import Outbox

# Work run in the background: it gets a fresh context and returns the reply to send.
Work = Callable[["Context"], "Reply | str | None"]


@dataclass
class Deferred:
    """Returned by a handler that needs more time: `work` runs in the background.

    If it finishes within the webhook's soft limit its reply is passive; otherwise the webhook
    answers `notice` (or "success") now and the reply goes out through the outbox.
    The dialog is saved when the handler returns, before `work` runs.
    """

    work: Work
    notice: str | None = None
    future: Future | None = None


@dataclass
class Context:
    """Per-message context; `match` holds what the filters captured (regex groups)."""

    msg: Message
    dialog: Dialog
    services: Services
    match: dict[str, Any] = field(default_factory=dict)
    route_name: str = ""
    _db: Session | None = None
    norm_text: str = ""

    def __post_init__(self) -> None:
        self.norm_text = normalize(self.msg.content) if self.msg.type == "text" else ""

    @property
    def openid(self) -> str:
        return self.msg.openid

    @property
    def db(self) -> Session:
        """A database session, opened on first use and closed after the message."""
        if self._db is None:
            self._db = self.services.sessions()
        return self._db

    @property
    def outbox(self) -> Outbox:
        return self.services.outbox

    @property
    def settings(self) -> Any:
        return self.services.settings

    def later(self, work: Work, notice: str | None = None) -> Deferred:
        """Defer `work`; return the result from the handler."""
        return Deferred(work, notice)

    def close(self) -> None:
        """Close the database session if one was opened."""
        if self._db is not None:
            self._db.close()
            self._db = None
