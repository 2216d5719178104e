"""Quiz runs: choose questions, read answers tolerantly, score with caps, keep the 错题本 on a Leitner schedule."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core.database import utcnow
from bot.library.questions import Question
from handlers.quiz.config import QuizConfig
from handlers.quiz.models import Mistake, QuizAnswer, QuizRun
from handlers.quiz.points import Points

TRUE_WORDS = {"对", "√", "✓", "✔", "正确", "是", "T", "TRUE", "Y", "YES", "V"}  # read as 正确
FALSE_WORDS = {"错", "×", "✗", "✘", "X", "错误", "否", "不对", "F", "FALSE", "N", "NO"}  # read as 错误
FILLERS = re.compile(r"^(我选|选择|选|答案是|答案|答)")  # words before the letters ("选A")
SEPARATORS = re.compile(r"[\s,，、.。;；:：和与及]+")  # between letters ("A C", "A、C")


@dataclass
class Outcome:
    """What one answer did, for the reply."""

    question: Question
    correct: bool
    given: str
    points: int = 0
    suspicious: bool = False
    finished: bool = False
    timed_out: bool = False
    run: QuizRun | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_answer(text: str, q: Question) -> str | None:
    """ "A", "a", "Ａ", "A C", "ac", "选A", "对"/"错"/"√"/"×" → the normalised answer; None if unreadable."""
    t = unicodedata.normalize("NFKC", text).strip().upper()
    t = FILLERS.sub("", t).strip()
    if q.type == "judge":
        return "正确" if t in TRUE_WORDS else "错误" if t in FALSE_WORDS else None
    letters = SEPARATORS.sub("", t)
    keys = {k for k, _ in q.options}
    if not letters or any(ch not in keys for ch in letters) or len(set(letters)) != len(letters):
        return None
    if q.type == "single" and len(letters) != 1:
        return None
    return "".join(sorted(letters))


def recent_ids(db: Session, openid: str, days: int, now: datetime) -> set[str]:
    since = now - timedelta(days=days)
    return set(
        db.scalars(select(QuizAnswer.question_id).where(QuizAnswer.openid == openid, QuizAnswer.answered_at >= since))
    )


def choose(
    db: Session,
    bank: Sequence[Question],
    openid: str,
    n: int,
    repeat_days: int,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> list[str]:
    """n questions, none seen in the last `repeat_days` while unseen ones remain."""
    rng = rng or random.Random()
    seen = recent_ids(db, openid, repeat_days, now or utcnow())
    fresh = [q.id for q in bank if q.id not in seen]
    picked = rng.sample(fresh, min(n, len(fresh)))
    if len(picked) < n:
        stale = [q.id for q in bank if q.id in seen]
        picked += rng.sample(stale, min(n - len(picked), len(stale)))
    return picked


def active_run(db: Session, openid: str) -> QuizRun | None:
    stmt = select(QuizRun).where(QuizRun.openid == openid, QuizRun.finished_at.is_(None)).order_by(QuizRun.id.desc())
    return db.scalars(stmt).first()


def start(db: Session, openid: str, mode: str, ids: list[str], theme: str | None = None) -> QuizRun:
    """A new run (any unfinished one is closed first); committed."""
    now = utcnow()
    db.execute(update(QuizRun).where(QuizRun.openid == openid, QuizRun.finished_at.is_(None)).values(finished_at=now))
    run = QuizRun(
        openid=openid, mode=mode, theme=theme, question_ids=ids, position=0, correct=0, asked_at=now, started_at=now
    )
    db.add(run)
    db.commit()
    return run


def finish(db: Session, run: QuizRun, now: datetime | None = None) -> None:
    run.finished_at = now or utcnow()
    db.commit()


class Scorer:
    """Scores answers of a run: points (capped, idempotent), 错题本, suspicious speed."""

    def __init__(self, points: Points, settings: QuizConfig) -> None:
        self.points, self.cfg = points, settings

    def answer(
        self,
        db: Session,
        run: QuizRun,
        q: Question,
        given: str,
        now: datetime | None = None,
        membership: tuple[str | None, str | None] | None = None,
    ) -> Outcome:
        """Record the answer to the run's current question and move on; committed in one transaction."""
        now = now or utcnow()
        elapsed = (now - _aware(run.asked_at, now)).total_seconds()
        timed_out = run.mode == "challenge" and elapsed > self.cfg.challenge_seconds
        correct = not timed_out and given == q.answer
        suspicious = given not in ("", "timeout") and elapsed < self.cfg.min_answer_seconds
        out = Outcome(
            q, correct, "timeout" if timed_out else given, suspicious=suspicious, timed_out=timed_out, run=run
        )
        db.add(
            QuizAnswer(
                run_id=run.id,
                position=run.position,
                openid=run.openid,
                question_id=q.id,
                given=out.given,
                correct=correct,
                suspicious=suspicious,
                answered_at=now,
            )
        )
        self.review(db, run, q, correct, given, now)
        run.correct += int(correct)
        run.position += 1
        run.asked_at = now
        out.finished = run.position >= len(run.question_ids) or (run.mode == "challenge" and not correct)
        out.points = self.award(db, run, out, now)
        if out.finished:
            run.finished_at = now
        db.commit()
        self.points.publish(db, run.openid, out.points, now, membership)
        return out

    def award(self, db: Session, run: QuizRun, out: Outcome, now: datetime) -> int:
        """1 per correct answer in daily and special runs; challenge points by run length when it ends."""
        if out.suspicious or run.mode == "review":
            return 0
        key = f"{run.mode}:{run.id}:{run.position}"
        if run.mode in ("daily", "special") and out.correct:
            return self.points.stage(db, run.openid, run.mode, 1, f"{out.question.id} 答对", key, now)
        if run.mode == "challenge" and out.finished:
            length = run.correct
            earned = next((p for need, p in self.cfg.challenge_points if length >= need), 0)
            return (
                self.points.stage(db, run.openid, "challenge", earned, f"挑战答题连对{length}题", key, now)
                if earned
                else 0
            )
        return 0

    def review(self, db: Session, run: QuizRun, q: Question, correct: bool, given: str, now: datetime) -> None:
        """Leitner: a wrong answer puts the question in box 1; in review, right moves it up, wrong back to 1."""
        days = list(self.cfg.leitner_days)
        if run.mode != "review" and (correct or given == ""):
            return  # nothing to file: a right answer outside review leaves the 错题本 as it is
        item = db.scalar(select(Mistake).where(Mistake.openid == run.openid, Mistake.question_id == q.id))
        if run.mode != "review":
            if not correct and given != "":
                if item is None:
                    db.add(
                        Mistake(
                            openid=run.openid,
                            question_id=q.id,
                            box=1,
                            due_at=now + timedelta(days=days[0]),
                            added_at=now,
                        )
                    )
                else:
                    item.box, item.due_at, item.learned_at = 1, now + timedelta(days=days[0]), None
            return
        if item is None:
            return
        if not correct:
            item.box, item.due_at = 1, now + timedelta(days=days[0])
        elif item.box >= len(days):
            item.learned_at = now
        else:
            item.box += 1
            item.due_at = now + timedelta(days=days[item.box - 1])


def due_mistakes(db: Session, openid: str, now: datetime | None = None, limit: int = 10) -> list[str]:
    """Question ids due for review, most overdue first."""
    stmt = (
        select(Mistake.question_id)
        .where(Mistake.openid == openid, Mistake.learned_at.is_(None), Mistake.due_at <= (now or utcnow()))
        .order_by(Mistake.due_at)
        .limit(limit)
    )
    return list(db.scalars(stmt))


def _aware(moment: datetime, like: datetime) -> datetime:
    """SQLite returns naive datetimes: treat them as UTC like everything we store."""
    return moment if moment.tzinfo else moment.replace(tzinfo=like.tzinfo)
