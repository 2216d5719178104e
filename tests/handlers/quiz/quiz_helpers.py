"""Quiz test helpers (tests/handlers/quiz/): the fast-answer setting, the current question, answers, points."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.library.questions import Question
from handlers.quiz.models import PointsEntry
from handlers.quiz.runs import active_run

FAST = {"quiz": {"min_answer_seconds": 0}}  # tests answer at machine speed


def current(services: Any, openid: str) -> Question:
    """The question the user's open run is waiting for."""
    with services.sessions() as db:
        run = active_run(db, openid)
        return services.content.current().questions[run.question_ids[run.position]]


def right(q: Question) -> str:
    """A right answer to `q`, typed as a user would."""
    return {"正确": "对", "错误": "错"}.get(q.answer, q.answer)


def wrong(q: Question) -> str:
    """A wrong answer to `q`."""
    if q.type == "judge":
        return "错" if q.answer == "正确" else "对"
    return next(k for k, _ in q.options if k not in q.answer)


def points(services: Any, openid: str) -> int:
    """The user's total points in the ledger."""
    with services.sessions() as db:
        return int(
            db.scalar(select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.openid == openid))
        )
