"""Pagination for the console's lists (followers, audit log): one page of a query plus its numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass
class Page:
    """Rows of one page and where it sits among the others."""

    items: list[Any]
    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def page_number() -> int:
    """?page=N from the query string, at least 1."""
    raw = request.args.get("page", "1")
    return max(1, int(raw)) if raw.isdigit() else 1


def paginate(db: Session, query: Select, size: int) -> Page:
    """The requested page of `query` (ordered by the caller); past the end shows the last page."""
    total = db.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    number = min(page_number(), max(1, -(-total // size)))
    items = list(db.execute(query.limit(size).offset((number - 1) * size)).scalars())
    return Page(items, number, size, total)
