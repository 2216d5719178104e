"""Follower tags kept in step with WeChat: create and sync through the API, then Follower.tags and console_tags."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from bot.console.web import services
from bot.core.accounts import ConsoleTag
from bot.core.database import Follower
from bot.core.errors import WeChatAPIError

BATCH = 50  # openids per batchtagging / batchuntagging call (WeChat's limit)
# WeChat errcode → what the console tells the editor
WX_ERRORS = {
    45157: "标签名为空或已存在",
    45158: "标签名过长（最多 30 个字）",
    45056: "标签数量已达上限（100 个）",
    45059: "有粉丝的标签数已达上限（每人最多 20 个）",
    45159: "微信中没有这个标签，请先从微信同步标签",
    40003: "有粉丝的 openid 无效（可能不是本公众号的用户）",
    45009: "今日接口调用次数已达上限",
    48001: "公众号没有该接口的权限",
}


def wx_message(exc: WeChatAPIError) -> str:
    """A Chinese sentence for a failed tag call."""
    if exc.errcode is None:
        return "无法连接微信接口，请稍后再试"
    return f"微信接口返回错误 {exc.errcode}：{WX_ERRORS.get(exc.errcode, exc.errmsg)}"


def names(session: Session) -> dict[int, str]:
    """Tag id → name, in id order."""
    rows = session.execute(select(ConsoleTag).order_by(ConsoleTag.id)).scalars()
    return {t.id: t.name for t in rows}


def create(session: Session, name: str) -> ConsoleTag:
    """Create the tag in WeChat, then remember its name (committed by the caller's audit entry)."""
    made = services().wx.tag.create(name.strip())
    tag = ConsoleTag(id=int(made["id"]), name=str(made["name"]))
    session.merge(tag)
    return tag


def sync(session: Session) -> dict[int, str]:
    """Take WeChat's tag list as the truth: add and rename tags, forget those WeChat no longer has."""
    remote = {int(t["id"]): str(t["name"]) for t in services().wx.tag.get()}
    for tag in session.execute(select(ConsoleTag)).scalars():
        if tag.id not in remote:
            session.delete(tag)
    for tag_id, name in remote.items():
        session.merge(ConsoleTag(id=tag_id, name=name))
    return remote


def change_members(session: Session, tag_id: int, openids: list[str], add: bool) -> int:
    """Tag or untag `openids` in WeChat (in batches), then on their Follower rows; how many rows changed."""
    api = services().wx.tag
    for i in range(0, len(openids), BATCH):
        chunk = openids[i : i + BATCH]
        api.tag_user(tag_id, chunk) if add else api.untag_user(tag_id, chunk)
    changed = 0
    for row in session.execute(select(Follower).where(Follower.openid.in_(openids))).scalars():
        now = set(row.tags or [])
        new = now | {tag_id} if add else now - {tag_id}
        if new != now:
            row.tags, changed = sorted(new), changed + 1
    return changed


def counts(session: Session, tag_ids: Iterable[int]) -> dict[int, int]:
    """Followers carrying each tag."""
    totals = {t: 0 for t in tag_ids}
    tagged = session.execute(select(Follower.tags).where(cast(Follower.tags, String) != "[]")).scalars()
    for tags in tagged:
        for t in tags or []:
            if t in totals:
                totals[t] += 1
    return totals
