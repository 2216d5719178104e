"""Dispatch suggestions on the console's ticket page: the per-process model (handlers/tickets/dispatch.py) fitted on
the seed set plus past tickets staff dispatched, similar past tickets, and the record of what was suggested and
what staff chose (DispatchSuggestion), with the share of suggestions taken for the figures page."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from bot.core.database import insert_ignoring
from bot.core.errors import UserFacingError
from handlers.tickets import flow
from handlers.tickets.config import TicketConfig
from handlers.tickets.dispatch import SEED, Labelled, Suggester
from handlers.tickets.models import DispatchSuggestion, Ticket
from handlers.tickets.similar import Suggestion, closest

PAST_ROWS = 5000  # newest dispatched tickets the model learns from (fitting 5,000 takes about 0.2 s)
REBUILD_SECONDS = 600  # a process refits its model at most this often (newly dispatched tickets join then)
SIMILAR_POOL = 2000  # newest past tickets (any status but merged) compared for similarity
SIMILAR_THRESHOLD = 0.2  # least character-bigram Jaccard shown
SIMILAR_SHOWN = 5
SUGGESTED_STATUSES = ("new", "accepted")  # a ticket waiting for 交办 gets a suggestion
_models: dict[tuple[str, int], tuple[float, Suggester]] = {}  # (database, config) → (built at, model)
_lock = threading.Lock()


@functools.cache  # read once per process: the file does not change while the app runs
def seed_rows(path: Path = SEED) -> tuple[Labelled, ...]:
    return tuple(Labelled(str(r["t"]), str(r["c"]), str(r["d"])) for r in yaml.safe_load(path.read_text("utf-8")) or [])


def past_rows(db: Session, limit: int = PAST_ROWS) -> list[Labelled]:
    """Tickets staff dispatched (a department set), newest first: their category and department as they stand."""
    rows = db.execute(
        select(Ticket.description, Ticket.category, Ticket.department)
        .where(Ticket.department.is_not(None), Ticket.status != "merged")
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return [Labelled(r.description, r.category, r.department) for r in rows]


def build(cfg: TicketConfig, rows: Sequence[Labelled]) -> Suggester:
    known = [r for r in rows if r.category in cfg.categories and (r.department or "") in cfg.departments]
    return Suggester.build(known, cfg.category_cues, cfg.category_departments, cfg.department_cues)


def model(db: Session, cfg: TicketConfig) -> Suggester:
    """This process's model for this database and config, refitted when older than REBUILD_SECONDS."""
    key, now = (str(db.get_bind().url), id(cfg)), time.monotonic()
    with _lock:
        cached = _models.get(key)
        if cached is None or now - cached[0] > REBUILD_SECONDS:
            cached = _models[key] = (now, build(cfg, [*seed_rows(), *past_rows(db)]))
        return cached[1]


def forget() -> None:
    """Drop every cached model (tests, or after the config changed)."""
    with _lock:
        _models.clear()


def similar(
    db: Session, ticket: Ticket, where: Sequence[ColumnElement[bool]] = (), pool: int = SIMILAR_POOL
) -> list[Suggestion]:
    """The past tickets (open and closed) most like `ticket`, among those the viewer may see (`where`)."""
    rows = db.execute(
        select(Ticket.id, Ticket.number, Ticket.category, Ticket.status, Ticket.description, Ticket.place)
        .where(Ticket.id != ticket.id, Ticket.status != "merged", *where)
        .order_by(Ticket.id.desc())
        .limit(pool)
    )
    past = (Suggestion(r.id, r.number, r.category, r.status, r.description, r.place, 0.0) for r in rows)
    return closest(ticket, past, SIMILAR_THRESHOLD, SIMILAR_SHOWN)


def suggestion(db: Session, cfg: TicketConfig, ticket: Ticket) -> DispatchSuggestion | None:
    """The ticket's recorded suggestion; made and recorded now if the ticket waits for 交办 and has none."""
    row = db.scalar(select(DispatchSuggestion).where(DispatchSuggestion.ticket_id == ticket.id))
    if row is not None or ticket.status not in SUGGESTED_STATUSES or ticket.department is not None:
        return row
    fitted = model(db, cfg)
    made = fitted.suggest(ticket.description)
    cat, cat_score = made.category
    dep, dep_score = made.department if made.departments else (None, 0.0)
    values = dict(
        ticket_id=ticket.id,
        category=cat,
        category_score=round(cat_score, 3),
        department=dep,
        department_score=round(dep_score, 3),
        alternatives={
            "categories": [[c, round(p, 3)] for c, p in made.categories[:3]],
            "departments": [[d, round(p, 3)] for d, p in made.departments[:3]],
        },
        model_version=fitted.version,
        submitted_category=ticket.category,
    )
    db.execute(insert_ignoring(db, DispatchSuggestion, values, ["ticket_id"]))  # two first views: one row
    db.commit()
    return db.scalar(select(DispatchSuggestion).where(DispatchSuggestion.ticket_id == ticket.id))


def record_choice(db: Session, ticket: Ticket, actor: str, now: Any) -> DispatchSuggestion | None:
    """What staff chose at the ticket's first 交办 (by the suggestion's buttons or the 交办 step), if it had one."""
    row = db.scalar(select(DispatchSuggestion).where(DispatchSuggestion.ticket_id == ticket.id))
    if row is None or row.chosen_at is not None:
        return row
    row.chosen_category, row.chosen_department = ticket.category, ticket.department
    row.chosen_by, row.chosen_at = actor, now
    return row


def dispatch(step: flow.Step, ticket: Ticket, category: str, department: str, account_id: int) -> dict[str, Any]:
    """交办 with a category: the category changes first if staff chose another, then the 交办 step runs as usual."""
    if category not in step.cfg.categories:
        raise UserFacingError(f"未知的诉求类别：{category}")
    if category != ticket.category:
        flow.recategorise(step, ticket, category)
    flow.assign(step, ticket, department or None, None, "", account_id)
    row = record_choice(step.db, ticket, step.actor, step.now)
    taken = row is not None and row.category == ticket.category and row.department == ticket.department
    return {"category": ticket.category, "department": ticket.department, "taken": taken}


@dataclass(frozen=True)
class Taken:
    """How often the suggestion was taken among tickets dispatched with one."""

    chosen: int
    category: int  # suggested category kept
    department: int  # suggested department kept

    def share(self, what: str) -> float | None:
        return getattr(self, what) / self.chosen if self.chosen else None


def taken(db: Session, where: Sequence[ColumnElement[bool]] = ()) -> tuple[Taken, list[tuple[str, Taken]]]:
    """Overall and per suggested category, over tickets matching `where` (the figures page's filters)."""
    s = DispatchSuggestion
    rows = db.execute(
        select(
            s.category,
            func.count(),
            func.sum(case((s.chosen_category == s.category, 1), else_=0)),
            func.sum(case((s.chosen_department == s.department, 1), else_=0)),
        )
        .join(Ticket, Ticket.id == s.ticket_id)
        .where(s.chosen_at.is_not(None), *where)
        .group_by(s.category)
        .order_by(s.category)
    ).all()
    per = [(r[0], Taken(int(r[1]), int(r[2] or 0), int(r[3] or 0))) for r in rows]
    total = Taken(*(sum(getattr(t, f) for _, t in per) for f in ("chosen", "category", "department")))
    return total, per
