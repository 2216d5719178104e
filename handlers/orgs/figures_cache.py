"""The 党建数据 figures cached in Redis for a minute: the per-organisation counts of a period (shared by every scope)
and each scope's rolled-up table, so a warm page neither counts nor walks the tree. Without Redis they are computed
every time."""

from __future__ import annotations

import json
import logging
import secrets
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
DECODED_MAX = 64  # decoded tables this process keeps (per scope and period), dropped all at once when full
_decoded: dict[str, tuple[str, Tree]] = {}  # TREE_KEY → (stamp, the table decoded from that stamp's text)
log = logging.getLogger(__name__)


def _get(cache: redis.Redis | None, key: str) -> tuple[str | None, int]:
    """(the stored text or None, its seconds left); (None, 0) without Redis."""
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
    if not raw:
        return None, 0
    return (raw.decode() if isinstance(raw, bytes) else raw), int(left)


def _set(cache: redis.Redis | None, key: str, text: str, ttl: int) -> None:
    if cache is None or ttl <= 0:
        return
    try:
        cache.set(key, text, ex=ttl)
    except redis.RedisError:
        log.warning("organisation figures not cached")


def counts(cache: redis.Redis | None, db: Session, period: Period) -> tuple[dict[int, list[int]], int]:
    """own_counts of `period` and the seconds they stay cached."""
    hit, left = _get(cache, COUNTS_KEY.format(period.key))
    if hit is not None:
        return {int(k): v for k, v in json.loads(hit).items()}, left
    found = own_counts(db, period)
    _set(cache, COUNTS_KEY.format(period.key), encode(found), TTL)
    return found, TTL


def tree(
    cache: redis.Redis | None, db: Session, period: Period, root: Organisation | None, districts: Iterable[str]
) -> Tree:
    """The scope's rolled-up table for `period`, from the cache when it is there.

    The cached text starts with a random stamp line: a process that decoded that very text before reuses its
    decoded table (tables are never changed once built), so a warm page costs one Redis GET and no decoding."""
    key = TREE_KEY.format(period.key, root.id if root else "park")
    hit, _ = _get(cache, key)
    if hit is not None:
        stamp, _, body = hit.partition("\n")
        known = _decoded.get(key)
        if known is not None and known[0] == stamp:
            return known[1]
        table = loads(json.loads(body))
    else:
        found, left = counts(cache, db, period)
        table = roll_up(db, found, root, districts)
        stamp = secrets.token_hex(8)
        _set(cache, key, stamp + "\n" + encode(dumps(table)), left)
    if len(_decoded) >= DECODED_MAX:
        _decoded.clear()
    _decoded[key] = (stamp, table)
    return table


def encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def forget(cache: redis.Redis, period: Period | None = None) -> None:
    """Drop the cached figures of `period` (default: all of them), e.g. in tests and benchmarks."""
    keys = list(cache.scan_iter(f"orgs:figures:*:{period.key}*" if period else KEYS))
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
