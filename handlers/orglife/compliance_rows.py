"""三会一课 compliance as lines of the grid: Cell (counts of periods), Row (an organisation, guidance group, 片区 or the
total) and RowSet, one part's rows kept as count arrays and made into Row objects only when one is read. Built by
handlers.orglife.compliance_tally, read by the console page, the Excel export and the assessment."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

ON_TIME, LATE, MISSING, OPEN = "on_time", "late", "missing", "open"
STATUSES = (ON_TIME, LATE, MISSING, OPEN)  # the order of a cell's counts
Encoded = list[
    object
]  # [key, label, 12 month cells, year cell, {kind: cell}], a cell as [on time, late, missing, open]


@dataclass(slots=True)
class Cell:
    """Counts of periods: on time, late, missing, open."""

    on_time: int = 0
    late: int = 0
    missing: int = 0
    open: int = 0

    @property
    def required(self) -> int:
        return self.on_time + self.late + self.missing

    @property
    def rate(self) -> float | None:
        return (self.on_time + self.late / 2) / self.required if self.required else None


@dataclass
class Row:
    """One line of the grid (an organisation, a guidance group, a 片区 or the total): months 1..12 and the year."""

    key: str
    label: str
    months: dict[int, Cell] = field(default_factory=lambda: {m: Cell() for m in range(1, 13)})
    year: Cell = field(default_factory=Cell)
    kinds: dict[str, Cell] = field(default_factory=dict)


class RowSet(Mapping[Hashable, Row]):
    """One part of the grid: rows by key (organisation id, guidance group or 片区 name), each made on access from
    `months` (n × 13 × 4 counts, month 0 unused: a period counts in its last month) and `kinds` (n × kinds × 4); a
    kind is in a row's kinds when any of its periods counts there."""

    def __init__(
        self,
        keys: list[Hashable],
        codes: list[str],
        labels: list[str],
        months: np.ndarray,
        kinds: np.ndarray,
        kind_keys: list[str],
    ) -> None:
        self.index = {key: i for i, key in enumerate(keys)}
        self.codes, self.labels, self.kind_keys = codes, labels, kind_keys
        self.months, self.kinds = months, kinds
        self.years = months[:, 1:, :].sum(axis=1) if len(keys) else np.zeros((0, 4), dtype=np.int64)

    def __getitem__(self, key: Hashable) -> Row:
        return self.row(self.index[key])

    def __iter__(self) -> Iterator[Hashable]:
        return iter(self.index)

    def __len__(self) -> int:
        return len(self.index)

    def row(self, i: int) -> Row:
        months = self.months[i].tolist()
        kinds = {k: Cell(*c) for k, c in zip(self.kind_keys, self.kinds[i].tolist(), strict=True) if any(c)}
        return Row(
            self.codes[i],
            self.labels[i],
            {m: Cell(*months[m]) for m in range(1, 13)},
            Cell(*self.years[i].tolist()),
            kinds,
        )

    def encoded(self) -> list[Encoded]:
        """Every row as JSON-ready lists, lowest completion first (nothing required last), then by key (code or
        name) — straight from the arrays, no Row or Cell made."""
        months, kinds, years = self.months.tolist(), self.kinds.tolist(), self.years.tolist()
        rates = [(y[0] + y[1] / 2) / (y[0] + y[1] + y[2]) if y[0] + y[1] + y[2] else None for y in years]
        order = sorted(range(len(years)), key=lambda i: (rates[i] is None, rates[i] or 0, self.codes[i]))
        keys = self.kind_keys
        return [
            [
                self.codes[i],
                self.labels[i],
                months[i][1:],
                years[i],
                {k: c for k, c in zip(keys, kinds[i], strict=True) if any(c)},
            ]
            for i in order
        ]
