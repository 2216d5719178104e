"""Import step 2, Flask-free: check a parsed sheet whole into a Plan, then apply it in one transaction.

Shared by the console (handlers/orgs/imports_console.py) and the CLI (handlers/orgs/commands.py): the plan's
shape, cell rules (phones, dates), the one-import-at-a-time Redis lock and the progress the console polls.
The tree and roster rules live in tree_import.py and roster_import.py. Nothing from the roster is ever logged:
only counts.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import redis
from sqlalchemy import Table

from handlers.orgs.sheets import ORG, ROSTER, Problem

log = logging.getLogger(__name__)

PREVIEW_ROWS = 50  # rows of each list a plan keeps to show (the counts cover all)
BATCH = 2000  # rows per bulk statement
LOCK_KEY, LOCK_TTL = "orgs:import:lock", 900  # one import at a time; the TTL frees a lock a crash left behind
PROGRESS_KEY, PROGRESS_TTL = "orgs:import:progress", 3600
STATEMENT_TIMEOUT = 300  # seconds a statement of an import may take on PostgreSQL (database.statement_timeout is
# for requests; an import's check and apply run in one transaction of their own)
BUSY = "另一个导入正在进行，请等它完成后再试"
MOBILE = re.compile(r"^1[3-9]\d{9}$")
DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+0?0:00(?::00)?)?$")
COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


@dataclass
class Item:
    """One line of a plan's preview: the row, the key (code or masked phone), a label and field changes."""

    row: int
    key: str
    label: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (column, old, new)


@dataclass
class Plan:
    """What an import would do: problems (then nothing may be applied) or the counts and first rows of each list."""

    kind: str
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    preview: dict[str, list[Item]] = field(default_factory=dict)
    ops: Any = None  # what apply writes (tree_import.TreeOps / roster_import.RosterOps)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def changes_anything(self) -> bool:
        return any(self.counts.values())

    def note(self, name: str, item: Item) -> None:
        """Count one planned change and keep it for the preview while there is room."""
        self.counts[name] = self.counts.get(name, 0) + 1
        shown = self.preview.setdefault(name, [])
        if len(shown) < PREVIEW_ROWS:
            shown.append(item)

    def summary(self) -> dict[str, Any]:
        """Counts only (what the audit log and the result page keep: never personal data)."""
        return {"kind": self.kind, "rows": self.rows, "problems": len(self.problems), **self.counts}


class Busy(Exception):
    """Another import holds the lock."""

    def __init__(self) -> None:
        super().__init__(BUSY)


class Progress:
    """Rows checked / applied and the percentage, in Redis for the console to poll (written every ~1%)."""

    def __init__(self, r: redis.Redis | None, token: str = "") -> None:
        self.r, self.token, self.last = r, token, -1.0

    def __call__(self, stage: str, done: int, total: int, force: bool = False) -> None:
        if self.r is None:
            return
        percent = 100.0 if total <= 0 else min(100.0, 100.0 * done / total)
        if not force and percent - self.last < 1.0 and done != total:
            return
        self.last = percent
        state = {"token": self.token, "stage": stage, "rows": done, "total": total, "percent": round(percent, 1)}
        self.r.set(PROGRESS_KEY, json.dumps(state), ex=PROGRESS_TTL)

    def finish(self, state: dict[str, Any]) -> None:
        if self.r is not None:
            self.r.set(PROGRESS_KEY, json.dumps({"token": self.token, **state}), ex=PROGRESS_TTL)


def progress(r: redis.Redis) -> dict[str, Any] | None:
    raw = r.get(PROGRESS_KEY)
    return json.loads(raw) if raw else None


@contextmanager
def import_lock(r: redis.Redis, ttl: int = LOCK_TTL) -> Iterator[str]:
    """Hold the one-import lock (Busy when another import holds it); released only by its holder."""
    token = acquire(r, ttl)
    try:
        yield token
    finally:
        release(r, token)


def acquire(r: redis.Redis, ttl: int = LOCK_TTL) -> str:
    token = secrets.token_hex(8)
    if not r.set(LOCK_KEY, token, nx=True, ex=ttl):
        raise Busy
    return token


def release(r: redis.Redis, token: str) -> None:
    r.eval(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
        1,
        LOCK_KEY,
        token,
    )


def busy(r: redis.Redis) -> bool:
    return bool(r.exists(LOCK_KEY))


def table(model: Any) -> Table:
    """A model's table, for Core executemany inserts (no ORM bookkeeping per row)."""
    return cast(Table, model.__table__)


def phone_of(text: str) -> str | None:
    """An 11-digit mainland mobile from how people write it (+86 138-0013-8000), or None."""
    digits = re.sub(r"[\s\-()（）.]", "", text)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix) :]
            break
    return digits if MOBILE.match(digits) else None


def date_of(text: str) -> date | None:
    """2010-07-01, 2010/7/1, 2010.7.1, 2010年7月1日 or 20100701; None when not a real date from 1921 to today."""
    match = DATE.match(text) or COMPACT_DATE.match(text)
    if not match:
        return None
    try:
        found = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return found if date(1921, 7, 1) <= found <= date.today() else None


def blank(text: str) -> str | None:
    return text or None


KIND_NAMES = {ORG: "组织", ROSTER: "花名册"}
COUNT_NAMES = {
    "added": "新增",
    "changed": "修改",
    "dissolved": "撤销",
    "deleted": "删除",
    "transferred": "转移",
    "removed": "移出花名册",
}
