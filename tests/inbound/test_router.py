"""Filters and the dispatcher: text (width/case-insensitive), keywords, regex groups, clicks, events, states."""

from __future__ import annotations

from bot.inbound.context import Context
from bot.inbound.dialog import Dialog
from bot.inbound.message import Message
from bot.inbound.router import Dispatcher, Router


def msg(text: str = "", kind: str = "text", event: str = "", key: str = "") -> Message:
    return Message(
        kind, "o1", "gh", 1, {}, msg_id="1" if kind != "event" else None, content=text, event=event, event_key=key
    )


def route(dispatcher: Dispatcher, m: Message, dialog: Dialog | None = None) -> tuple[str | None, dict]:
    ctx = Context(m, dialog or Dialog(), services=None)  # type: ignore[arg-type]
    found = dispatcher.resolve(m, ctx)
    return (found.handler.__name__ if found else None), ctx.match


def build() -> Dispatcher:
    first, second = Router("first"), Router("second")

    @first.text("帮助")
    def help_(m, c): ...

    @first.state("quiz")
    def in_quiz(m, c): ...

    @second.regex(r"^新声(?P<n>\d+)$")
    def episode(m, c): ...

    @second.keywords("积分")
    def points(m, c): ...

    @second.click("QUIZ_DAILY")
    def daily(m, c): ...

    @second.event("subscribe")
    def sub(m, c): ...

    return Dispatcher([first, second])


def test_exact_text_ignores_width_case_and_spaces():
    d = build()
    assert route(d, msg(" 帮 助 "))[0] == "help_"
    assert route(d, msg("帮助我"))[0] is None


def test_regex_groups_reach_ctx_match_full_width_digits_too():
    assert route(build(), msg("新声 ３７")) == ("episode", {"n": "37"})


def test_keywords_clicks_events():
    d = build()
    assert route(d, msg("我的积分多少"))[0] == "points"
    assert route(d, msg(kind="event", event="click", key="QUIZ_DAILY"))[0] == "daily"
    assert route(d, msg(kind="event", event="click", key="OTHER"))[0] is None
    assert route(d, msg(kind="event", event="subscribe"))[0] == "sub"


def test_router_order_decides_state_beats_later_routers():
    d = build()
    assert route(d, msg("我的积分"), Dialog("quiz:answering"))[0] == "in_quiz"
    assert route(d, msg("帮助"), Dialog("quiz:answering"))[0] == "help_"
