"""The 党建数据 figures cached in Redis for a minute: the per-organisation counts of a period (shared by every scope)
and each scope's rolled-up table, so a warm page neither counts nor walks the tree. Without Redis they are computed
every time."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import redis
from sqlalchemy.orm import Session

from bot.core.organisations import Organisation
from handlers.orgs.figures import Period, Row, Tree, own_counts, roll_up

COUNTS_KEY = "orgs:figures:counts:{}"  # period key → the per-organisation counts as JSON
TREE_KEY = "orgs:figures:tree:{}:{}"  # (period key, scope root id or "park") → the rolled-up table as JSON
KEYS = "orgs:figures:*"
TTL = 60  # seconds figures are reused (the page says so); a table never outlives the counts it was built from
log = logging.getLogger(__name__)


def _get(cache: redis.Redis | None, key: str) -> tuple[Any, int]:
    """(the decoded value or None, its seconds left); (None, 0) without Redis."""
    if cache is None:
        return None, 0
    try:
        pipe = cache.pipeline()
        pipe.get(key)
        pipe.ttl(key)
        raw, left = pipe.execute()
    except redis.RedisError:
        log.warning("organisation figures computed without the Redis cache")
        return None, 0
    return (json.loads(raw), int(left)) if raw else (None, 0)


def _set(cache: redis.Redis | None, key: str, value: Any, ttl: int) -> None:
    if cache is None or ttl <= 0:
        return
    try:
        cache.set(key, json.dumps(value, ensure_ascii=False, separators=(",", ":")), ex=ttl)
    except redis.RedisError:
        log.warning("organisation figures not cached")


def counts(cache: redis.Redis | None, db: Session, period: Period) -> tuple[dict[int, list[int]], int]:
    """own_counts of `period` and the seconds they stay cached."""
    hit, left = _get(cache, COUNTS_KEY.format(period.key))
    if hit is not None:
        return {int(k): v for k, v in hit.items()}, left
    found = own_counts(db, period)
    _set(cache, COUNTS_KEY.format(period.key), found, TTL)
    return found, TTL


def tree(
    cache: redis.Redis | None, db: Session, period: Period, root: Organisation | None, districts: Iterable[str]
) -> Tree:
    """The scope's rolled-up table for `period`, from the cache when it is there."""
    key = TREE_KEY.format(period.key, root.id if root else "park")
    hit, _ = _get(cache, key)
    if hit is not None:
        return loads(hit)
    found, left = counts(cache, db, period)
    table = roll_up(db, found, root, districts)
    _set(cache, key, dumps(table), left)
    return table


def forget(cache: redis.Redis) -> None:
    """Drop every cached figure (tests, benchmarks)."""
    keys = list(cache.scan_iter(KEYS))
    if keys:
        cache.delete(*keys)


ROW_FIELDS = ("key", "label", "code", "kind", "parent_code", "district", "children")
COUNT_FIELDS = ("roster", "confirmed", "studied", "points")


def row_list(row: Row) -> list[Any]:
    return [getattr(row, f) for f in ROW_FIELDS + COUNT_FIELDS]


def row_of(values: list[Any]) -> Row:
    return Row(*values)


def dumps(table: Tree) -> dict[str, Any]:
    return {
        "rows": [row_list(r) for r in table.rows.values()],
        "children": [[parent, kids] for parent, kids in table.children.items()],
        "districts": [row_list(r) for r in table.districts.values()],
        "total": row_list(table.total),
    }


def loads(data: dict[str, Any]) -> Tree:
    rows = {int(values[0]): row_of(values) for values in data["rows"]}
    districts = {values[0]: row_of(values) for values in data["districts"]}
    children: dict[int | None, list[int]] = {parent: kids for parent, kids in data["children"]}
    return Tree(rows=rows, children=children, districts=districts, total=row_of(data["total"]))
