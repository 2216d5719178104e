"""Long replies in pages: every handler's text is fitted to WeChat's limit here, and 「继续」 shows the next page."""

from __future__ import annotations

import functools
from typing import Any

from bot.inbound import fit
from bot.inbound.context import Context
from bot.inbound.message import Message
from bot.inbound.router import Handler, Route, Router


def asks_more(msg: Message, ctx: Context) -> bool:
    """The filter of 「继续」: pages wait (it drops them when the user says anything else)."""
    return fit.wants_more(ctx)


def more(msg: Message, ctx: Context) -> str:
    """「继续」 while a long reply has pages left: the next one (any other message drops them)."""
    return fit.next_page(ctx)


def fitted(handler: Handler) -> Handler:
    """`handler`, its text reply cut into pages that fit (the first now, the rest on 「继续」)."""

    @functools.wraps(handler)
    def run(msg: Message, ctx: Context) -> Any:
        return fit.page(ctx, handler(msg, ctx))

    run.fitted = True  # type: ignore[attr-defined]
    return run


def install(routers: list[Router]) -> None:
    """「继续」 becomes the first route of the first router; every route's handler is wrapped once, so no reply
    can outgrow WeChat's limit whichever feature gives it."""
    first = routers[0]
    if not any(route.handler.__name__ == more.__name__ for route in first.routes):
        first.routes.insert(0, Route(more, (asks_more,)))
    for r in routers:
        r.routes = [
            route if getattr(route.handler, "fitted", False) else Route(fitted(route.handler), route.filters)
            for route in r.routes
        ]
