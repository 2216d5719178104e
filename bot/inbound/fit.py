"""Fitting text to WeChat's 2,047-byte message limit: split into parts, page with 「继续」, clip as a last resort."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from bot.inbound.message import TextReply

if TYPE_CHECKING:
    from bot.inbound.context import Context

LIMIT = 2047  # bytes of UTF-8 in a text message's Content (passive reply and customer-service text)
FOOTER_ROOM = 120  # bytes kept free on a page for its 「继续」 footer
MORE_KEY = "more"  # dialog data: the pages not yet shown, and how many pages there are
MORE_WORDS = ("继续", "继续阅读", "继续查看", "下一部分")  # what asks for the next page (normalised text)
CLIPPED = "…（内容过长，已截断）"  # ends a text the safety net had to cut
# Where a long text may be cut, best first: paragraphs, lines, sentence ends, clause ends, spaces.
# ASCII "," ":" "." only before a space: inside "1,000", "12:30" or "3.5" they are part of a number.
BREAKS = tuple(
    re.compile(p) for p in (r"\n\n", r"\n", r"[。！？；…]|[!?;.](?=\s)", r"[，、：）」』】]|[,:)](?=\s)", r"\s")
)
WORD = re.compile(r"[0-9A-Za-z._%+\-:/]")  # characters of a number, code or address, never cut in between
log = logging.getLogger(__name__)


def size(text: str) -> int:
    """Bytes of `text` in UTF-8 (what WeChat counts)."""
    return len(text.encode("utf-8"))


def fits(text: str, limit: int = LIMIT) -> bool:
    return size(text) <= limit


def split(text: str, limit: int = LIMIT) -> list[str]:
    """Parts of at most `limit` bytes, cut at the best boundary available, never inside a character or a number."""
    parts: list[str] = []
    while not fits(text, limit):
        cut = _cut(text, limit)
        parts.append(text[:cut])
        text = text[cut:]
    return [part for part in [*parts, text] if part.strip()]


def _cut(text: str, limit: int) -> int:
    """Where to end the next part: the best boundary in its second half, else between two characters of no number."""
    end = _prefix_chars(text, limit)
    floor = end // 2  # a part is at least half full, so a long paragraph does not leave a nearly empty page
    window = text[:end]
    for pattern in BREAKS:
        found = [m.end() for m in pattern.finditer(window) if m.end() > floor]
        if found:
            return found[-1]
    back = end
    while back > floor and WORD.match(text[back - 1]) and WORD.match(text[back]):
        back -= 1
    return back if back > floor else end  # a run of digits longer than half a part is cut anyway


def _prefix_chars(text: str, limit: int) -> int:
    """How many whole characters of `text` fit in `limit` bytes."""
    return len(text.encode("utf-8")[:limit].decode("utf-8", "ignore"))


def clip(text: str, limit: int = LIMIT, where: str = "reply") -> str:
    """The safety net: an oversized text is cut (with a note) and a warning logged; others are returned as they are."""
    if fits(text, limit):
        return text
    log.warning("%s text of %d bytes cut to WeChat's limit of %d", where, size(text), limit)
    return text[: _cut(text, limit - size(CLIPPED))].rstrip() + CLIPPED


# Paging in chat: the first page now, the rest on 「继续」 (kept in the dialog with the user's other state).
def footer(page: int, pages: int) -> str:
    return f"\n\n（未完，第{page}/{pages}页，回复「继续」查看下一页）"


def page(ctx: Context, result: Any) -> Any:
    """A handler's result made to fit: a long text becomes its first page, the rest waits for 「继续」."""
    text = result.content if isinstance(result, TextReply) else result if isinstance(result, str) else None
    if text is None or fits(text):
        return result
    parts = split(text, LIMIT - FOOTER_ROOM)
    ctx.dialog.data[MORE_KEY] = {"parts": parts[1:], "pages": len(parts)}
    return parts[0].rstrip() + footer(1, len(parts))


def has_more(ctx: Context) -> bool:
    more = ctx.dialog.data.get(MORE_KEY)
    return isinstance(more, dict) and bool(more.get("parts"))


def next_page(ctx: Context) -> str:
    """The next stored page (with its footer while more remain); the cursor is dropped after the last."""
    more = ctx.dialog.data.get(MORE_KEY) or {}
    parts, pages = list(more.get("parts") or []), int(more.get("pages") or 1)
    if not parts:
        ctx.dialog.data.pop(MORE_KEY, None)
        return "已经是最后一页了。"
    text = str(parts.pop(0))
    if not parts:
        ctx.dialog.data.pop(MORE_KEY, None)
        return text
    ctx.dialog.data[MORE_KEY] = {"parts": parts, "pages": pages}
    return text.rstrip() + footer(pages - len(parts), pages)


def wants_more(ctx: Context) -> bool:
    """「继续」 while pages wait. Any other message from the user drops the waiting pages (they moved on)."""
    if ctx.msg.type == "event" or not has_more(ctx):
        return False
    if ctx.norm_text in MORE_WORDS:
        return True
    ctx.dialog.data.pop(MORE_KEY, None)
    return False


def custom_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A customer-service body as bodies that fit: a long text becomes several text messages, in order."""
    if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
        return [body]
    content = str(body["text"].get("content") or "")
    if fits(content):
        return [body]
    parts = split(content)
    log.info("customer-service text of %d bytes sent in %d parts", size(content), len(parts))
    return [{**body, "text": {**body["text"], "content": part}} for part in parts]
