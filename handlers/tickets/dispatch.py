"""Dispatch suggestions (issue #14): from a submission's text, a category and a department with scores.

Sits under the console's ticket page (handlers/tickets/suggest.py builds it from the seed set and past tickets and
keeps it per process). No database and no Flask here: `Suggester.build(rows, cues)` then `suggest(text)`.

How a category is scored: curated cue words per category (config.yaml `tickets.categories[].cues`, domain words
following the labelling rules in bench/ask/dispatch.yaml) plus a multinomial naive Bayes over character 1-3-grams
fitted on labelled rows (the seed set and the tickets whose category staff confirmed). The two are added as
logits and turned into probabilities. The department: each category's probability flows to its usual department
(`tickets.categories[].department`, else the commonest in the rows), reweighted by a naive Bayes over departments
and department cue words (`tickets.departments[].cues`), for categories handled by more than one department.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.library.search import normalize

VERSION = "cues-nb-1"  # bump when the scoring changes; the recorded model version starts with it
NOISE = re.compile(r"[\W_]+")  # punctuation and spaces
GRAMS = (1, 2, 3)  # character n-gram sizes the naive Bayes reads
SMOOTHING = 0.1  # additive smoothing of the n-gram counts
NB_WEIGHT = 0.08  # each category's n-gram log-likelihood is scaled by this (naive Bayes is overconfident)
DEP_NB_WEIGHT = 0.02  # the same for a department among a category's departments (few rows: weaker still)
CUE_WEIGHT = 3.0  # logit added per matching cue word
DEP_CUE_WEIGHT = 2.0  # logit added per matching department cue word
MIXED_SHARE = 0.1  # a department takes at least this share of a category's rows to count as one of its departments
SEED = Path(__file__).with_name("dispatch_seed.yaml")  # labelled seed rows: the training rows of bench/ask/


@dataclass(frozen=True)
class Labelled:
    """One training row: a submission's text, its category and its department id (None when not yet known)."""

    text: str
    category: str
    department: str | None


@dataclass(frozen=True)
class Dispatch:
    """A suggestion: categories and departments, each with a probability, best first."""

    categories: list[tuple[str, float]]
    departments: list[tuple[str, float]]

    @property
    def category(self) -> tuple[str, float]:
        return self.categories[0]

    @property
    def department(self) -> tuple[str, float]:
        return self.departments[0]


def clean(text: str) -> str:
    """Normalised (full-width, traditional characters, case) without punctuation or spaces."""
    return NOISE.sub("", normalize(text or ""))


def cleaned(words: Iterable[str]) -> list[str]:
    """Cue words as texts are read (clean), empty ones dropped."""
    return [c for w in words if (c := clean(w))]


def grams(text: str) -> Counter[str]:
    plain = clean(text)
    return Counter(plain[i : i + n] for n in GRAMS for i in range(len(plain) - n + 1))


def softmax(logits: Mapping[str, float]) -> list[tuple[str, float]]:
    top = max(logits.values())
    exp = {k: math.exp(v - top) for k, v in logits.items()}
    total = sum(exp.values())
    return sorted(((k, v / total) for k, v in exp.items()), key=lambda kv: -kv[1])


class NaiveBayes:
    """Multinomial naive Bayes over character n-grams; log-likelihoods only (priors are left to the caller)."""

    def __init__(self, rows: Iterable[tuple[str, str]]) -> None:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for text, label in rows:
            counts[label].update(grams(text))
        self.vocab = len({g for c in counts.values() for g in c}) or 1
        self.logp = {label: self._table(c) for label, c in counts.items()}

    def _table(self, counts: Counter[str]) -> tuple[dict[str, float], float]:
        total = sum(counts.values()) + SMOOTHING * self.vocab
        unseen = math.log(SMOOTHING / total)
        return {g: math.log((n + SMOOTHING) / total) - unseen for g, n in counts.items()}, unseen

    def loglik(self, text: str) -> dict[str, float]:
        """Per class, the text's n-gram log-likelihood (relative to an all-unseen text, so values stay small)."""
        found = grams(text)
        size = sum(found.values())
        out = {}
        for label, (table, unseen) in self.logp.items():
            out[label] = sum(table.get(g, 0.0) * n for g, n in found.items()) + unseen * size
        shift = max(out.values(), default=0.0)
        return {label: v - shift for label, v in out.items()}


def cue_hits(text: str, cues: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Per key, how many of its cue words the text holds."""
    plain = clean(text)
    return {key: sum(1 for cue in words if cue in plain) for key, words in cues.items()}


class Suggester:
    """A fitted dispatch model; build once, then suggest() in well under a millisecond per text."""

    def __init__(
        self,
        category_cues: Mapping[str, Sequence[str]],
        department_cues: Mapping[str, Sequence[str]],
        usual: Mapping[str, str],
        mixed: Mapping[str, tuple[dict[str, float], NaiveBayes]],
        categories: NaiveBayes,
        version: str,
    ) -> None:
        self.category_cues, self.department_cues = category_cues, department_cues
        self.usual, self.mixed = usual, mixed
        self.categories = categories
        self.version = version
        self.nb_weight, self.cue_weight = NB_WEIGHT, CUE_WEIGHT  # the bench sets one to 0 to score the other alone

    @classmethod
    def build(
        cls,
        rows: Sequence[Labelled],
        category_cues: Mapping[str, Sequence[str]],
        default_departments: Mapping[str, str] | None = None,
        department_cues: Mapping[str, Sequence[str]] | None = None,
    ) -> Suggester:
        """Fit on `rows`; every category of `category_cues` can be suggested, even one with no rows."""
        cat_cues = {c: cleaned(words) for c, words in category_cues.items()}
        dep_cues = {d: cleaned(words) for d, words in (department_cues or {}).items()}
        by_category: dict[str, Counter[str]] = defaultdict(Counter)
        for r in rows:
            if r.department:
                by_category[r.category][r.department] += 1
        usual = {c: n.most_common(1)[0][0] for c, n in by_category.items()}
        usual.update({c: d for c, d in (default_departments or {}).items() if d})
        mixed: dict[str, tuple[dict[str, float], NaiveBayes]] = {}
        for c, n in by_category.items():
            total = sum(n.values())
            shares = {d: (k + 1) / (total + len(n)) for d, k in n.items() if k >= MIXED_SHARE * total}
            if len(shares) > 1:
                nb = NaiveBayes((r.text, r.department) for r in rows if r.category == c and r.department in shares)
                mixed[c] = (shares, nb)
        cat_nb = NaiveBayes((r.text, r.category) for r in rows if r.category in cat_cues)
        return cls(cat_cues, dep_cues, usual, mixed, cat_nb, version_of(rows, cat_cues, dep_cues, usual))

    def category_logits(self, text: str) -> dict[str, float]:
        nb = self.categories.loglik(text)
        hits = cue_hits(text, self.category_cues)
        floor = min(nb.values(), default=0.0)
        return {c: self.nb_weight * nb.get(c, floor) + self.cue_weight * hits[c] for c in self.category_cues}

    def department_logits(self, category: str, text: str) -> dict[str, float]:
        """Among the category's departments: its share of the category's rows, the n-grams, the cue words."""
        prior, nb = self.mixed[category]
        lik = nb.loglik(text)
        hits = cue_hits(text, {d: self.department_cues.get(d, ()) for d in prior})
        return {d: math.log(p) + DEP_NB_WEIGHT * lik.get(d, 0.0) + DEP_CUE_WEIGHT * hits[d] for d, p in prior.items()}

    def suggest(self, text: str) -> Dispatch:
        categories = softmax(self.category_logits(text))
        departments: defaultdict[str, float] = defaultdict(float)
        for category, p in categories:
            if category in self.mixed:
                for d, q in softmax(self.department_logits(category, text)):
                    departments[d] += p * q
            elif category in self.usual:
                departments[self.usual[category]] += p
        return Dispatch(categories, sorted(departments.items(), key=lambda kv: -kv[1]))


def version_of(
    rows: Sequence[Labelled],
    cat_cues: Mapping[str, Sequence[str]],
    dep_cues: Mapping[str, Sequence[str]],
    usual: Mapping[str, str],
) -> str:
    """VERSION, a digest of the cues and usual departments, and the number of training rows: cues-nb-1.3fa2c1d0.n812."""
    digest = hashlib.sha1(repr((sorted(cat_cues.items()), sorted(dep_cues.items()), sorted(usual.items()))).encode())
    return f"{VERSION}.{digest.hexdigest()[:8]}.n{len(rows)}"
