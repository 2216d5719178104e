"""The parsed inbound message and the reply types handlers return (rendered by bot.inbound.wire)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Message:
    """One inbound message or event, as WeChat sent it (field names in snake case)."""

    type: str  # text, image, voice, video, shortvideo, location, link, file, event, or unknown ones
    openid: str  # FromUserName
    account: str  # ToUserName: the official account's original id
    create_time: int
    raw: dict[str, Any]
    msg_id: str | None = None
    content: str = ""
    event: str = ""  # lower-cased Event for type "event"
    event_key: str = ""
    # (Redis key of the request's timestamp and nonce, hash of its body, seconds left in the timestamp window):
    # set by the webhook, checked by the pipeline in the same Redis round trip that claims the message.
    nonce_guard: tuple[str, str, int] | None = None

    @property
    def text(self) -> str:
        """The text content, stripped; empty for non-text messages."""
        return self.content.strip() if self.type == "text" else ""

    @property
    def dedupe_key(self) -> str:
        """FromUserName + MsgId for messages (a MsgId is only unique per sender); FromUserName + CreateTime +
        Event + EventKey (+ a job's MsgID) for events."""
        if self.msg_id:
            return f"m:{self.openid}:{self.msg_id}"
        job = self.raw.get("MsgID") or self.raw.get("MsgId") or ""
        job = job if isinstance(job, str) else ""  # job reports: two in one second differ here
        return f"e:{self.openid}:{self.create_time}:{self.event}:{self.event_key}:{job}"

    @property
    def opens_window(self) -> bool:
        """A message the user sent (not an event): it starts WeChat's 48-hour customer-service window."""
        return self.type != "event"

    def get(self, name: str, default: Any = None) -> Any:
        """A raw field by WeChat's name (e.g. "MediaId", "Location_X")."""
        return self.raw.get(name, default)


@dataclass(slots=True)
class Reply:
    """Base of replies; `msgtype` names it for both passive XML and the customer-service API."""

    msgtype = "text"

    def custom_body(self) -> dict[str, Any]:
        """The body of message/custom/send for this reply, without touser."""
        raise NotImplementedError


@dataclass(slots=True)
class TextReply(Reply):
    content: str
    msgtype = "text"

    def custom_body(self) -> dict[str, Any]:
        return {"msgtype": "text", "text": {"content": self.content}}


@dataclass(slots=True)
class Article:
    title: str
    description: str = ""
    url: str = ""
    picurl: str = ""


@dataclass(slots=True)
class NewsReply(Reply):
    """A news (图文) reply; WeChat shows one article in a passive reply since 2018-10."""

    articles: list[Article] = field(default_factory=list)
    msgtype = "news"

    def custom_body(self) -> dict[str, Any]:
        items = [
            {"title": a.title, "description": a.description, "url": a.url, "picurl": a.picurl}
            for a in self.articles[:1]
        ]
        return {"msgtype": "news", "news": {"articles": items}}


@dataclass(slots=True)
class MediaReply(Reply):
    """An image, voice or video reply by media id."""

    media_id: str
    msgtype: str = "image"
    title: str = ""
    description: str = ""

    def custom_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"media_id": self.media_id}
        if self.msgtype == "video":
            body.update(title=self.title, description=self.description)
        return {"msgtype": self.msgtype, self.msgtype: body}


def as_reply(value: Reply | str | None) -> Reply | None:
    """Handlers may return a plain string: it becomes a TextReply."""
    if isinstance(value, str):
        return TextReply(value)
    return value
