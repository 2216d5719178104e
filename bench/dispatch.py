"""Dispatch suggestion bench (issue #14): the tickets feature's suggester (handlers/tickets/dispatch.py) scored on
the held-out part (bench/ask/dispatch_fresh.yaml) beside bench/ask.py's two baselines, fitted and scored in the
same run on the training rows (bench/ask/dispatch.yaml and dispatch_more.yaml).

    python bench/dispatch.py [--past 5000] [--rounds 5]
    python bench/dispatch.py --write-seed   # handlers/tickets/dispatch_seed.yaml := the training rows

Reports category top-1/top-2, department top-1, the ambiguous ones, per category, latency p50/p99 per suggestion,
build time (seed only, and with --past invented dispatched tickets, as a busy year would add), and the similar-ticket
lookup (character-bigram Jaccard over the 2,000 newest tickets). The suggester's cues and weights were written and
tuned on the tune part only (5-fold cross-validation, also reported); the held-out part is scored, never tuned on.
Results go to bench/out/dispatch.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import ask  # noqa: E402 - bench/ask.py: the baselines, the sets, latency()

from handlers.tickets.config import TicketConfig  # noqa: E402
from handlers.tickets.dispatch import SEED, Labelled, Suggester  # noqa: E402
from handlers.tickets.similar import rank  # noqa: E402
from handlers.tickets.suggest import PAST_ROWS, SIMILAR_POOL, SIMILAR_SHOWN, SIMILAR_THRESHOLD, build, seed_rows  # noqa: E402

OUT = ROOT / "bench" / "out" / "dispatch.json"
FOLDS = 5  # cross-validation on the tune part


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--past", type=int, default=PAST_ROWS, help="invented dispatched tickets for the build-time figure")
    p.add_argument("--rounds", type=int, default=5, help="latency rounds over the held-out texts")
    p.add_argument("--write-seed", action="store_true", help="write the app's seed file from the training rows")
    return p.parse_args()


def fit(rows: Sequence[Labelled], cfg: TicketConfig, no_cues: bool = False, no_nb: bool = False) -> Suggester:
    """The suggester as the app builds it; no_cues / no_nb score the learned part or the cue words alone."""
    built = build(cfg, rows)
    if no_cues:
        built.cue_weight = 0.0
    if no_nb:
        built.nb_weight = 0.0
    return built


def scores(m: Suggester, test: list[dict[str, Any]]) -> dict[str, Any]:
    made = [m.suggest(s["t"]) for s in test]
    per: defaultdict[str, list[bool]] = defaultdict(list)
    for s, d in zip(test, made, strict=True):
        per[s["c"]].append(d.category[0] == s["c"])
    amb = [i for i, s in enumerate(test) if s.get("amb")]
    return {
        "category_top1": statistics.mean(d.category[0] == s["c"] for s, d in zip(test, made, strict=True)),
        "category_top2": statistics.mean(
            s["c"] in [c for c, _ in d.categories[:2]] for s, d in zip(test, made, strict=True)
        ),
        "department_top1": statistics.mean(d.department[0] == s["d"] for s, d in zip(test, made, strict=True)),
        "category_top1_ambiguous": statistics.mean(made[i].category[0] == test[i]["c"] for i in amb) if amb else None,
        "ambiguous": len(amb),
        "per_category": {c: sum(v) / len(v) for c, v in sorted(per.items())},
        "confusions": Counter(
            f"{s['c']}→{d.category[0]}" for s, d in zip(test, made, strict=True) if d.category[0] != s["c"]
        ).most_common(8),
    }


def cross_validation(tune: list[dict[str, Any]], cfg: TicketConfig) -> dict[str, float]:
    shuffled = tune[:]
    random.Random(7).shuffle(shuffled)
    hits = {"category_top1": 0.0, "department_top1": 0.0}
    for f in range(FOLDS):
        train = [Labelled(s["t"], s["c"], s["d"]) for i, s in enumerate(shuffled) if i % FOLDS != f]
        r = scores(fit(train, cfg), shuffled[f::FOLDS])
        for k in hits:
            hits[k] += r[k] * len(shuffled[f::FOLDS])
    return {k: v / len(tune) for k, v in hits.items()}


def invented_past(tune: list[dict[str, Any]], n: int) -> list[Labelled]:
    """`n` dispatched tickets made from the tune texts with a numbered place: the build-time figure only."""
    rng = random.Random(3)
    return [
        Labelled(f"{s['t']}（{rng.randint(1, 99)}号楼{i}）", s["c"], s["d"])
        for i, s in enumerate(rng.choice(tune) for _ in range(n))
    ]


def timed_build(rows: Sequence[Labelled], cfg: TicketConfig) -> tuple[Suggester, float]:
    started = time.perf_counter()
    built = fit(rows, cfg)
    return built, time.perf_counter() - started


def similar_latency(tune: list[dict[str, Any]], test: list[dict[str, Any]], rounds: int) -> dict[str, float]:
    pool = [(i, r.text) for i, r in enumerate(invented_past(tune, SIMILAR_POOL))]
    return ask.latency(lambda q: rank(q, pool, SIMILAR_THRESHOLD, SIMILAR_SHOWN), [s["t"] for s in test], rounds)


SEED_HEADER = """\
# Seed rows for the dispatch suggestion (handlers/tickets/dispatch.py): the training rows of bench/ask/
# (dispatch.yaml and dispatch_more.yaml: invented submissions labelled by the rules at the top of dispatch.yaml),
# written by `python bench/dispatch.py --write-seed`. The held-out part (dispatch_fresh.yaml) is never here:
# bench/dispatch.py checks that. Past tickets whose category and department staff chose are added at run time.
# Each: t (text), c (category name), d (department id).
"""


def write_seed(tune: list[dict[str, Any]]) -> None:
    rows = [{"t": s["t"], "c": s["c"], "d": s["d"]} for s in tune]
    body = "".join(
        yaml.safe_dump([r], allow_unicode=True, default_flow_style=None, width=1000, sort_keys=False) for r in rows
    )
    SEED.write_text(SEED_HEADER + body, "utf-8")


def main() -> None:
    args = parse_args()
    sets = ask.read_all(ask.DISPATCH_FILES)
    tune = [s for s in sets if s["split"] != "heldout"]
    test = [s for s in sets if s["split"] == "heldout"]
    if args.write_seed:
        write_seed(tune)
    seed = list(seed_rows())
    assert [(r.text, r.category, r.department) for r in seed] == [(s["t"], s["c"], s["d"]) for s in tune], (
        "handlers/tickets/dispatch_seed.yaml must be exactly the training rows: python bench/dispatch.py --write-seed"
    )
    raw = yaml.safe_load(ask.CONFIG.read_text("utf-8"))
    cfg = TicketConfig.from_raw(raw["tickets"])
    baselines = ask.dispatch_quality(sets, raw)  # same run, same split
    suggester, build_s = timed_build(seed, cfg)
    big, big_build_s = timed_build(seed + invented_past(tune, args.past), cfg)
    result = {
        "train": len(tune),
        "heldout": len(test),
        "baselines": {k: baselines[k] for k in ("ngram_softmax", "bm25_knn")},
        "suggester": scores(suggester, test),
        "cues_only": scores(fit(seed, cfg, no_nb=True), test),
        "model_only": scores(fit(seed, cfg, no_cues=True), test),
        "tune_cross_validation": cross_validation(tune, cfg),
        "version": suggester.version,
        "build_s_seed": build_s,
        "build_s_with_past": big_build_s,
        "past_rows": args.past,
        "latency_seed": ask.latency(suggester.suggest, [s["t"] for s in test], args.rounds),
        "latency_with_past": ask.latency(big.suggest, [s["t"] for s in test], args.rounds),
        "similar_latency": similar_latency(tune, test, args.rounds),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    report(result)


def pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def report(r: dict[str, Any]) -> None:
    print(f"dispatch: fitted on {r['train']} tune submissions, scored on {r['heldout']} held out (same run)")
    print(f"{'':16} {'cat top1':>9} {'cat top2':>9} {'dep top1':>9} {'amb top1':>9}")
    rows = [(k, r["baselines"][k]) for k in ("ngram_softmax", "bm25_knn")]
    rows += [(k, r[k]) for k in ("cues_only", "model_only", "suggester")]
    for name, s in rows:
        amb = s.get("category_top1_ambiguous")
        print(
            f"{name:16} {pct(s['category_top1']):>9} {pct(s['category_top2']):>9} "
            f"{pct(s['department_top1']):>9} {pct(amb):>9}"
        )
    cv = r["tune_cross_validation"]
    print(f"suggester, 5-fold on tune: category {pct(cv['category_top1'])}, department {pct(cv['department_top1'])}")
    print("suggester per category:", ", ".join(f"{c} {v:.2f}" for c, v in r["suggester"]["per_category"].items()))
    print("suggester confusions:", ", ".join(f"{c}×{n}" for c, n in r["suggester"]["confusions"]) or "none")
    print(
        f"build: seed {r['build_s_seed'] * 1000:.0f} ms; with {r['past_rows']} past tickets "
        f"{r['build_s_with_past'] * 1000:.0f} ms"
    )
    for key in ("latency_seed", "latency_with_past", "similar_latency"):
        lat = r[key]
        print(f"{key}: p50 {lat['p50_ms']:.3f} ms, p99 {lat['p99_ms']:.3f} ms (cpu p99 {lat['cpu_p99_ms']:.3f} ms)")
    print(f"model version {r['version']}; target category top-1 {ask.TARGETS['category_top1']}")


if __name__ == "__main__":
    main()
