"""三会一课 compliance's arithmetic, for every organisation at once: held/early month masks (from
handlers.orglife.compliance.held_masks) become each period's status as numpy arrays, counted by month and kind per
organisation and summed by guidance group, 片区 and total into RowSets. Called by compliance.evaluate."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from bot.core.clock import aware
from handlers.orglife.compliance_rows import STATUSES, RowSet

MONTHS = 13  # month slots per row: 1..12, slot 0 unused


@dataclass
class Rhythm:
    """A kind's periods that have begun by now: each Period, its months' bit mask, and its last month (1..12)."""

    key: str
    periods: list[Any]  # handlers.orglife.compliance.Period
    masks: list[int]
    lasts: list[int]


@dataclass
class Tally:
    """Per organisation (in the order given): counts by month and by kind, and each kind's period slots (-1: the
    period is not required of it; else the index in STATUSES)."""

    months: np.ndarray  # n × 13 × 4
    kinds: np.ndarray  # n × kinds × 4
    slots: list[np.ndarray]  # per kind: n × periods


def times(values: Sequence[datetime | None], missing: float) -> np.ndarray:
    """POSIX seconds of aware-or-UTC datetimes, `missing` for None."""
    return np.array([missing if v is None else aware(v).timestamp() for v in values], dtype=np.float64)


def tally(
    orgs: Sequence[Any],  # handlers.orglife.compliance.OrgInfo
    required: np.ndarray,  # n × kinds: the kind applies to the organisation
    held: np.ndarray,  # n × kinds month masks
    early: np.ndarray,
    rhythms: list[Rhythm],
    now: datetime,
) -> Tally:
    """Each period's status for every organisation: on time when a month of it is early, else late when one is held,
    else missing once the period has ended (open before); counted where the kind applies and the organisation exists
    at the period's end (or now, for a period still running)."""
    n, moment = len(orgs), aware(now).timestamp()
    created = times([o.created_at for o in orgs], -np.inf)
    dissolved = times([o.dissolved_at for o in orgs], np.inf)
    months = np.zeros((n, MONTHS, 4), dtype=np.int64)
    kinds = np.zeros((n, len(rhythms), 4), dtype=np.int64)
    slots = []
    for k, rhythm in enumerate(rhythms):
        found = np.full((n, len(rhythm.periods)), -1, dtype=np.int8)
        for j, (period, mask, last) in enumerate(zip(rhythm.periods, rhythm.masks, rhythm.lasts, strict=True)):
            at = min(period.end.timestamp(), moment)
            counted = required[:, k] & (created < at) & (dissolved > at)
            on_time = (early[:, k] & mask) != 0
            late = ~on_time & ((held[:, k] & mask) != 0)
            rest = 2 if moment >= period.end.timestamp() else 3  # missing once ended, else open
            slot = np.where(on_time, 0, np.where(late, 1, rest))
            found[:, j] = np.where(counted, slot, -1)
            for s in (0, 1, rest):
                hit = counted & (slot == s)
                months[:, last, s] += hit
                kinds[:, k, s] += hit
        slots.append(found)
    return Tally(months, kinds, slots)


def statuses(ids: list[int], rhythms: list[Rhythm], found: Tally) -> dict[tuple[int, str], list[tuple[Any, str]]]:
    """(org id, kind key) → each counted period's (Period, status), organisation by organisation. Read only: one
    list serves every organisation whose periods of that kind have the same statuses."""
    shapes = []  # per kind: each distinct row of slots as its list of statuses, and every organisation's row index
    for rhythm, slots in zip(rhythms, found.slots, strict=True):
        digits = (slots.astype(np.int64) + 1) * 5 ** np.arange(slots.shape[1], dtype=np.int64)  # a row as one number
        distinct, index = np.unique(digits.sum(axis=1), return_index=True, return_inverse=True)[1:]
        listed = [
            [(p, STATUSES[s]) for p, s in zip(rhythm.periods, row, strict=True) if s >= 0]
            for row in slots[distinct].tolist()
        ]
        shapes.append((rhythm.key, listed, index.reshape(-1).tolist()))
    out: dict[tuple[int, str], list[tuple[Any, str]]] = {}
    for i, org_id in enumerate(ids):
        for key, listed, index in shapes:
            if statuses := listed[index[i]]:  # none when the kind is not required of the organisation
                out[(org_id, key)] = statuses
    return out


def parts(
    found: Tally,
    ids: list[int],
    codes: list[str],
    names: list[str],
    groups: list[str],
    districts: list[str],
    kind_keys: list[str],
) -> tuple[RowSet, RowSet, RowSet, RowSet]:
    """Organisations with any counted period, and their sums by guidance group, 片区 and total (one row)."""
    kept = np.flatnonzero(found.kinds.sum(axis=(1, 2)) > 0)
    months, kinds = found.months[kept], found.kinds[kept]
    orgs = RowSet([ids[i] for i in kept], [codes[i] for i in kept], [names[i] for i in kept], months, kinds, kind_keys)
    by_group = summed([groups[i] for i in kept], months, kinds, kind_keys, "（未划入指导小组）")
    by_district = summed([districts[i] for i in kept], months, kinds, kind_keys, "（未分片区）")
    total = RowSet([""], [""], ["合计"], months.sum(axis=0)[None], kinds.sum(axis=0)[None], kind_keys)
    return orgs, by_group, by_district, total


def summed(names: list[str], months: np.ndarray, kinds: np.ndarray, kind_keys: list[str], unnamed: str) -> RowSet:
    """Rows summed by name, in order of first appearance; the empty name labelled `unnamed`."""
    order: dict[str, int] = {}
    index = np.array([order.setdefault(name, len(order)) for name in names], dtype=np.intp)
    keys: list[Hashable] = list(order)
    by_month = np.zeros((len(keys), MONTHS, 4), dtype=np.int64)
    by_kind = np.zeros((len(keys), kinds.shape[1], 4), dtype=np.int64)
    np.add.at(by_month, index, months)
    np.add.at(by_kind, index, kinds)
    return RowSet(keys, list(order), [name or unnamed for name in order], by_month, by_kind, kind_keys)
