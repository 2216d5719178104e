"""The console's top navigation: the features' links (NavEntry), filtered for the signed-in account."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.feature import NavEntry, resolve


@dataclass(frozen=True)
class NavLink:
    """A feature's link as base.html renders it: its entry, and its badge count function resolved once."""

    entry: NavEntry
    count: Callable[[], int] | None = None


def build(entries: Iterable[NavEntry]) -> list[NavLink]:
    """The links in display order (by `order`, then as declared), badge functions imported."""
    ordered = sorted(entries, key=lambda e: e.order)
    return [NavLink(e, resolve(e.badge) if e.badge else None) for e in ordered]


def visible(links: Sequence[NavLink], me: Any) -> list[tuple[NavEntry, int]]:
    """(entry, badge count) of the links `me` sees: their roles held, a badge link only while its count is not 0."""
    shown = []
    for link in links:
        if link.entry.roles and not me.has_role(*link.entry.roles):
            continue
        count = link.count() if link.count else 0
        if link.count and not count:
            continue
        shown.append((link.entry, count))
    return shown


def current(shown: Sequence[tuple[NavEntry, int]], here: str) -> NavEntry | None:
    """The one link that page `here` belongs to: the closest match (党员 over 组织 for console.orgs.roster)."""
    plain = [entry for entry, _count in shown if not entry.badge]  # a badge link is current on its own page only
    best = max(plain, key=lambda entry: entry.match(here), default=None)
    return best if best is not None and best.match(here) else None
