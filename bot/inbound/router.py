"""Routing: routers hold handlers declared by filters; the dispatcher tries routers in order, first match wins."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.inbound.message import Message, Reply

if TYPE_CHECKING:
    from bot.inbound.context import Context

# A filter looks at the message and context: falsy means no match; a dict adds to ctx.match.
Filter = Callable[[Message, "Context"], Any]
Handler = Callable[[Message, "Context"], "Reply | str | None"]


def normalize(text: str) -> str:
    """Full-width to half-width, case folded, spaces removed: how commands are compared."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def kind_is(*kinds: str) -> Filter:
    """The message type is one of `kinds` (text, image, voice, event...)."""
    wanted = frozenset(kinds)
    return lambda msg, ctx: msg.type in wanted


def text_is(*words: str) -> Filter:
    """The text equals one of `words` (normalised: width, case and spaces ignored)."""
    wanted = frozenset(normalize(w) for w in words)
    return lambda msg, ctx: msg.type == "text" and ctx.norm_text in wanted


def contains(*words: str) -> Filter:
    """The text contains one of the keywords."""
    wanted = tuple(normalize(w) for w in words)
    return lambda msg, ctx: msg.type == "text" and any(w in ctx.norm_text for w in wanted)


def regex(pattern: str, flags: int = 0) -> Filter:
    """The normalised text matches `pattern`; named groups go to ctx.match."""
    compiled = re.compile(pattern, flags)

    def check(msg: Message, ctx: Context) -> Any:
        if msg.type != "text":
            return None
        m = compiled.search(ctx.norm_text)
        return (m.groupdict() or {"match": m}) if m else None

    return check


def event_is(*events: str) -> Filter:
    """An event of one of these types (subscribe, unsubscribe, scan, location...)."""
    wanted = frozenset(e.lower() for e in events)
    return lambda msg, ctx: msg.type == "event" and msg.event in wanted


def click_is(*keys: str) -> Filter:
    """A menu click (CLICK event) on one of these keys."""
    wanted = frozenset(keys)
    return lambda msg, ctx: msg.type == "event" and msg.event == "click" and msg.event_key in wanted


def state_is(*states: str) -> Filter:
    """The user's dialog is in one of these states or below them ("quiz" matches "quiz:answering")."""
    return lambda msg, ctx: any(ctx.dialog.in_state(s) for s in states)


@dataclass(frozen=True)
class Route:
    """One handler with the filters that must all pass."""

    handler: Handler
    filters: tuple[Filter, ...]

    def match(self, msg: Message, ctx: Context) -> dict[str, Any] | None:
        found: dict[str, Any] = {}
        for check in self.filters:
            result = check(msg, ctx)
            if not result:
                return None
            if isinstance(result, dict):
                found.update(result)
        return found


class Router:
    """A feature's handlers, in declaration order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[Route] = []

    def on(self, *filters: Filter) -> Callable[[Handler], Handler]:
        """Register a handler that runs when every filter passes."""

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(handler, filters))
            return handler

        return register

    def text(self, *words: str, state: str | None = None) -> Callable[[Handler], Handler]:
        return self.on(text_is(*words), *_state(state))

    def keywords(self, *words: str, state: str | None = None) -> Callable[[Handler], Handler]:
        return self.on(contains(*words), *_state(state))

    def regex(self, pattern: str, state: str | None = None) -> Callable[[Handler], Handler]:
        return self.on(regex(pattern), *_state(state))

    def click(self, *keys: str) -> Callable[[Handler], Handler]:
        return self.on(click_is(*keys))

    def event(self, *events: str) -> Callable[[Handler], Handler]:
        return self.on(event_is(*events))

    def state(self, *states: str, kinds: Sequence[str] = ()) -> Callable[[Handler], Handler]:
        return self.on(state_is(*states), *([kind_is(*kinds)] if kinds else []))


def _state(state: str | None) -> list[Filter]:
    return [state_is(state)] if state else []


class Dispatcher:
    """Tries routers in the given order; the first route whose filters pass handles the message."""

    def __init__(self, routers: Iterable[Router]) -> None:
        self.routers = list(routers)

    def resolve(self, msg: Message, ctx: Context) -> Route | None:
        """The route that handles `msg`, with its match stored on ctx."""
        for router in self.routers:
            for route in router.routes:
                found = route.match(msg, ctx)
                if found is not None:
                    ctx.match = found
                    ctx.route_name = f"{router.name}.{route.handler.__name__}"
                    return route
        return None
