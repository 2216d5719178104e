"""Likely duplicates shown on the console's ticket page: character-bigram Jaccard over description and place."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from handlers.tickets.models import OPEN_STATUSES, Ticket
from handlers.tickets.rules import TicketConfig

CANDIDATES = 2000  # most recent open tickets compared at most (same category first)
THRESHOLD = 0.25  # least similarity suggested
SHOWN = 5  # suggestions on the page
NOISE = re.compile(r"[\W_]+")  # punctuation and spaces: not part of what a ticket says
Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Suggestion:
    """An open ticket that reads like the one on the page."""

    id: int
    number: str
    category: str
    status: str
    description: str
    place: str
    score: float


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, punctuation and spaces dropped."""
    return NOISE.sub("", unicodedata.normalize("NFKC", text or "").lower())


def shingles(text: str) -> frozenset[str]:
    """The text's character bigrams (a one-character text is its own shingle)."""
    plain = normalise(text)
    if len(plain) < 2:
        return frozenset({plain}) if plain else frozenset()
    return frozenset(plain[i : i + 2] for i in range(len(plain) - 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0 when both are empty."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def similarity(a: str, b: str) -> float:
    return jaccard(shingles(a), shingles(b))


def rank(
    text: str, candidates: Iterable[tuple[Key, str]], threshold: float = THRESHOLD, limit: int = SHOWN
) -> list[tuple[Key, float]]:
    """The candidates at least `threshold` similar to `text`, most similar first, at most `limit`."""
    mine = shingles(text)
    scored = [(key, jaccard(mine, shingles(other))) for key, other in candidates]
    hits = [(key, score) for key, score in scored if score >= threshold]
    return sorted(hits, key=lambda hit: -hit[1])[:limit]


def ticket_text(description: str, place: str) -> str:
    """What is compared: the description and the enterprise or place."""
    return f"{description} {place}"


def candidates(
    db: Session,
    cfg: TicketConfig,
    ticket: Ticket,
    now: datetime,
    where: Sequence[ColumnElement[bool]] = (),
    cap: int = CANDIDATES,
) -> list[Suggestion]:
    """Open tickets of the last duplicate_days, newest first: the same category, then the others, `cap` in all."""
    since = now - timedelta(days=cfg.duplicate_days)
    base = (
        select(Ticket.id, Ticket.number, Ticket.category, Ticket.status, Ticket.description, Ticket.place)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.created_at >= since, Ticket.id != ticket.id, *where)
        .order_by(Ticket.id.desc())
    )
    rows = list(db.execute(base.where(Ticket.category == ticket.category).limit(cap)))
    if len(rows) < cap:
        rows += db.execute(base.where(Ticket.category != ticket.category).limit(cap - len(rows)))
    return [Suggestion(r.id, r.number, r.category, r.status, r.description, r.place, 0.0) for r in rows]


def likely_duplicates(
    db: Session, cfg: TicketConfig, ticket: Ticket, now: datetime, where: Sequence[ColumnElement[bool]] = ()
) -> list[Suggestion]:
    """The open tickets most like `ticket`, with their similarity."""
    return closest(ticket, candidates(db, cfg, ticket, now, where))


def closest(
    ticket: Ticket, pool: Iterable[Suggestion], threshold: float = THRESHOLD, limit: int = SHOWN
) -> list[Suggestion]:
    """The tickets of `pool` most like `ticket` (description and place), with their similarity."""
    by_id = {s.id: s for s in pool}
    ranked = rank(
        ticket_text(ticket.description, ticket.place),
        ((s.id, ticket_text(s.description, s.place)) for s in by_id.values()),
        threshold,
        limit,
    )
    return [replace(by_id[key], score=round(score, 2)) for key, score in ranked]
