"""Global commands (帮助, 取消), follower events, and the fallback answer for anything unmatched."""

from __future__ import annotations

import logging
import weakref
from typing import Any

from bot.core.keys import WXJOB_KEY
from bot.core.logs import mask
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Router, event_is, kind_is, text_is

router = Router("common")
fallback = Router("fallback")
log = logging.getLogger(__name__)

MEDIA_NAMES = {
    "image": "图片",
    "voice": "语音",
    "video": "视频",
    "shortvideo": "小视频",
    "location": "位置",
    "link": "链接",
    "file": "文件",
}


def menu_lines(menu: dict[str, Any]) -> list[str]:
    """The configured menu as text lines: "学习 → 新声·百年百事、学习专辑"."""
    lines = []
    for button in menu.get("button", []):
        subs = [s["name"] for s in button.get("sub_button") or []]
        lines.append(f"· {button['name']}" + (f"：{'、'.join(subs)}" if subs else ""))
    return lines


_help: dict[int, tuple[weakref.ref[Any], str]] = {}  # id(services) → (the services, their help text), built once


def help_text(ctx: Context) -> str:
    """What the account can do, with the menu: built once per services (menu and features do not change while
    running); the weak reference tells a live entry from one whose id a later services object reuses."""
    cached = _help.get(id(ctx.services))
    if cached is None or cached[0]() is not ctx.services:
        cached = _help[id(ctx.services)] = (weakref.ref(ctx.services), build_help(ctx))
    return cached[1]


def build_help(ctx: Context) -> str:
    return "\n".join(
        [
            "您好！这里是园区微党建公众号，可以：",
            *menu_lines(ctx.settings.menu),
            "",
            "常用指令：",
            *ctx.services.help_lines,  # each feature's (handlers/<feature>/__init__.py), in their positions
        ]
    )


@router.text("帮助", "help", "?", "？", "菜单")
@router.click("HELP")
def show_help(msg: Message, ctx: Context) -> str:
    """The help text, then whatever a running dialog (a quiz question...) is still waiting for."""
    pending = [text for hook in ctx.services.help_hooks if (text := hook(ctx))]  # the features' (Feature.help_hooks)
    return "\n\n".join([help_text(ctx), *pending])


@router.on(
    text_is("取消", "cancel", "退出", "exit"),
    lambda msg, ctx: not ctx.dialog.in_state("quiz:answering") or ctx.norm_text in ("取消", "cancel"),
)
def cancel(msg: Message, ctx: Context) -> str:
    """Leave whatever dialog runs (a quiz answers its own 退出 with a score)."""
    closed = [hook(ctx) for hook in ctx.services.cancel_hooks]  # the features' clean-up (Feature.cancel_hooks)
    if ctx.dialog.state is None and not any(closed):
        return "当前没有进行中的操作。回复「帮助」查看能做什么。"
    ctx.dialog.clear()
    return "已取消当前操作。回复「帮助」查看能做什么。"


def scene_answer(ctx: Context, scene: str | None) -> str | None:
    """What a feature answers to a QR code's scene (Feature.scene_hooks: the first that knows it), if any."""
    if not scene:
        return None
    return next((text for hook in ctx.services.scene_hooks if (text := hook(ctx, scene))), None)


@router.event("subscribe")
def subscribe(msg: Message, ctx: Context) -> str:
    """The welcome; after a QR code (EventKey qrscene_<scene>), followed by what its feature answers."""
    key = msg.event_key
    scene = key[len("qrscene_") :] if key.startswith("qrscene_") else None
    ctx.services.followers.subscribe(msg.openid, scene)
    extra = scene_answer(ctx, scene)
    return f"{ctx.settings.followers.welcome}\n\n{extra}" if extra else ctx.settings.followers.welcome


@router.event("unsubscribe")
def unsubscribe(msg: Message, ctx: Context) -> None:
    ctx.services.followers.unsubscribe(msg.openid)
    ctx.dialog.clear()


@router.event("scan")
def scan(msg: Message, ctx: Context) -> str:
    """A follower scanned a QR code (EventKey = its scene): the scene's feature answers, else a welcome back. The
    follower's row is read on the message's session and written only when the scene changed, just before the
    feature's commit (a check-in: one short write transaction; its retries and second scans write nothing)."""
    ctx.services.followers.scanned(msg.openid, msg.event_key or None, ctx.db)
    answer = scene_answer(ctx, msg.event_key) or "欢迎回来！回复「帮助」查看能做什么。"
    ctx.db.commit()  # the follower's new scene, when the feature did not commit
    return answer


@router.event("masssendjobfinish", "templatesendjobfinish")
def job_finished(msg: Message, ctx: Context) -> None:
    """WeChat reports a mass or template send's result: kept for the push report."""
    fields = {k: str(v) for k, v in msg.raw.items() if isinstance(v, str)}
    job = fields.get("MsgID") or fields.get("MsgId") or str(msg.create_time)
    ctx.services.redis.hset(WXJOB_KEY.format(msg.event, job), mapping=fields)
    log.info("%s for job %s: %s", msg.event, job, fields.get("Status"))


@router.event("view", "location", "subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event")
def quiet_event(msg: Message, ctx: Context) -> None:
    """Events that need no answer."""
    log.debug("event %s from %s", msg.event, mask(msg.openid))


@fallback.on(kind_is("text"))
def unknown_text(msg: Message, ctx: Context) -> str:
    shown = msg.text if len(msg.text) <= 20 else msg.text[:20] + "…"
    return f"抱歉，暂时没能理解「{shown}」。\n\n" + help_text(ctx)


@fallback.on(event_is("click"))
def unknown_click(msg: Message, ctx: Context) -> str:
    return "该功能正在建设中，敬请期待。回复「帮助」查看目前能做什么。"


@fallback.on(kind_is(*MEDIA_NAMES))
def media(msg: Message, ctx: Context) -> str:
    return f"已收到您的{MEDIA_NAMES[msg.type]}。如需反映问题，请回复「我要反映」；回复「帮助」查看能做什么。"
