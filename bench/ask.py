"""Ask in your own words (#14): today's study search (bot/library/search.py over content/ as it was, without the
curated asks) as the baseline, and the answerer the bot now uses (bench/ask_answer.py), in the same run, on the
member-question set, chit-chat and the keyword set; and simple dispatch baselines on the ticket set."""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent  # the project folder
if str(ROOT) not in sys.path:  # `python bench/ask.py` puts bench/, not the project, on sys.path
    sys.path.insert(0, str(ROOT))

from bot.library import answer, search  # noqa: E402
from bot.library.answer import bigrams  # noqa: E402
from bot.library.loader import Library, load_library  # noqa: E402
from bot.library.search import Document, SearchIndex, normalize  # noqa: E402

SETS = ROOT / "bench" / "ask"  # questions*.yaml, chitchat.yaml, dispatch*.yaml
KEYWORDS = ROOT / "bench" / "queries.yaml"  # the existing keyword query set (bench/search.py)
CONFIG = ROOT / "config.yaml"  # tickets.categories and tickets.departments
OUT = ROOT / "bench" / "out" / "ask.json"  # git-ignored results
SPLITS = ("tune", "seen", "heldout")  # seen: the first held-out parts, scored on 1 December 2026 (see the files)
QUESTION_FILES = ("questions.yaml", "questions_fresh.yaml")  # the second holds the held-out part of record
DISPATCH_FILES = ("dispatch.yaml", "dispatch_more.yaml", "dispatch_fresh.yaml")  # ... the third
K = 3  # results shown to a member
CONFIDENT_SHARE = 0.5  # confidence rule: the second hit scores at most this share of the first (or there is none)
CONFIDENT_TERMS = 2  # ... and the query has at least this many searchable terms
SENTENCE_END = re.compile(r"(?<=[。！？；])")  # where a quoted sentence may end
TARGETS = {
    "heldout_hit@3": 0.95,
    "quote_ok": 0.85,
    "chitchat_confident": 0.02,
    "keyword_mrr@3": 0.99,
    "p99_ms": 30.0,
    "category_top1": 0.85,
}  # from the issue


# ----- the sets ---------------------------------------------------------------------------------------


def read(name: str) -> Any:
    return yaml.safe_load((SETS / name).read_text(encoding="utf-8"))


def read_all(names: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of several set files, in order."""
    return [row for name in names for row in read(name)]


def item_text(library: Library, item_id: str) -> str:
    """What a reply may quote from an item: an episode's summary, an article's summary and body."""
    return answer.item_text(library.by_id[item_id])


def check_sets(
    library: Library, questions: list[dict[str, Any]], dispatch: list[dict[str, Any]], config: dict[str, Any]
) -> list[str]:
    """Every problem in the sets: unknown ids, answers not in their item, unknown labels, bad splits."""
    problems = []
    for q in questions:
        for ref in [q["expect"], *q.get("also", [])]:
            if ref not in library.by_id:
                problems.append(f"question {q['q']!r}: unknown id {ref}")
        if q["expect"] in library.by_id and q.get("answer") and q["answer"] not in item_text(library, q["expect"]):
            problems.append(f"question {q['q']!r}: answer not in {q['expect']}: {q['answer']!r}")
        if q.get("split") not in SPLITS:
            problems.append(f"question {q['q']!r}: split must be one of {SPLITS}")
    categories = {c["name"] for c in config["tickets"]["categories"]}
    departments = {d["id"] for d in config["tickets"]["departments"]}
    for s in dispatch:
        if s["c"] not in categories or s["d"] not in departments or s.get("split") not in SPLITS:
            problems.append(f"submission {s['t']!r}: unknown category, department or split")
    return problems


# ----- study questions: today's search ----------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def quote(library: Library, item_id: str, query: str) -> str:
    """The baseline quote: the item's sentence sharing the most character bigrams with the query."""
    wanted = bigrams(query)
    return max(sentences(item_text(library, item_id)), key=lambda s: len(wanted & bigrams(s)), default="")


@dataclass(frozen=True)
class Ranked:
    """One query's top K ids, their scores, whether the confidence rule holds, and the sentence quoted
    from the first (empty: the baseline quote() picks it)."""

    ids: list[str]
    scores: list[float]
    confident: bool
    quote: str = ""


def confident(scores: Sequence[float], terms: int) -> bool:
    """The simple rule: a first hit clearly ahead of the second, and a query of more than one word."""
    if not scores or terms < CONFIDENT_TERMS:
        return False
    return len(scores) == 1 or scores[1] <= CONFIDENT_SHARE * scores[0]


def bm25_ranker(index: SearchIndex) -> Callable[[str], Ranked]:
    def rank(query: str) -> Ranked:
        hits = index.search(query, limit=K)
        scores = [h.score for h in hits]
        return Ranked([h.id for h in hits], scores, confident(scores, len(index.query_terms(query))))

    return rank


def question_quality(
    rank: Callable[[str], Ranked], library: Library, questions: list[dict[str, Any]], chitchat: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per split: Hit@1, Hit@3, MRR@3 (any accepted id), strict Hit@3 (the expected id), nothing-found rate,
    the confident share and its precision, and how often the quoted sentence holds the answer; then the
    chit-chat rates; every miss."""
    result: dict[str, Any] = {}
    for split in (*SPLITS, "all"):
        cases = [q for q in questions if split in ("all", q["split"])]
        hit1 = hit3 = strict3 = rr = none = conf = conf_right = quoted = quote_ok = 0.0
        misses = []
        for q in cases:
            got = rank(q["q"])
            accepted = {q["expect"], *q.get("also", [])}
            pos = next((i + 1 for i, d in enumerate(got.ids) if d in accepted), 0)
            hit1 += pos == 1
            hit3 += bool(pos)
            strict3 += q["expect"] in got.ids
            rr += 1 / pos if pos else 0.0
            none += not got.ids
            if got.confident:
                conf += 1
                conf_right += pos == 1
                if q.get("answer"):
                    quoted += 1
                    quote_ok += q["answer"] in (got.quote or quote(library, got.ids[0], q["q"]))
            if pos != 1:
                misses.append({"q": q["q"], "expect": q["expect"], "rank": pos or None, "got": got.ids})
        n = max(len(cases), 1)
        result[split] = {
            "questions": len(cases),
            "hit@1": hit1 / n,
            "hit@3": hit3 / n,
            "mrr@3": rr / n,
            "strict_hit@3": strict3 / n,
            "nothing": none / n,
            "confident": conf / n,
            "confident_precision": conf_right / conf if conf else None,
            "quote_ok": quote_ok / quoted if quoted else None,
            "quoted": int(quoted),
            "misses": misses if split != "all" else [],
        }
    kinds: defaultdict[str, list[bool]] = defaultdict(list)
    for q in questions:
        kinds[q["kind"]].append(bool({q["expect"], *q.get("also", [])} & set(rank(q["q"]).ids)))
    result["hit@3_by_kind"] = {k: sum(v) / len(v) for k, v in sorted(kinds.items())}
    chat = [(c, rank(c["t"])) for c in chitchat]
    result["chitchat"] = {
        "inputs": len(chitchat),
        "any_result": sum(bool(g.ids) for _, g in chat) / len(chat),
        "confident": sum(g.confident for _, g in chat) / len(chat),
        "confident_inputs": [c["t"] for c, g in chat if g.confident],
    }
    for split in SPLITS:
        part = [g for c, g in chat if c.get("split", "tune") == split]
        result["chitchat"][f"confident_{split}"] = sum(g.confident for g in part) / max(len(part), 1)
    return result


def keyword_quality(rank: Callable[[str], Ranked]) -> dict[str, Any]:
    """MRR@3 on bench/queries.yaml, the keyword set bench/search.py measures."""
    cases = yaml.safe_load(KEYWORDS.read_text(encoding="utf-8"))
    rr = [1 / (got.index(c["expect"]) + 1) if c["expect"] in (got := rank(c["q"]).ids) else 0.0 for c in cases]
    return {"queries": len(cases), "mrr@3": sum(rr) / len(rr)}


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def latency(run: Callable[[str], object], queries: list[str], rounds: int) -> dict[str, float]:
    """Milliseconds per call over every query, `rounds` times after a warm-up pass: wall clock, and this
    thread's CPU time, which other processes on a busy machine do not inflate."""
    wall, cpu = [], []
    for round_ in range(rounds + 1):
        for q in queries:
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            run(q)
            if round_:
                cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
                wall.append((time.perf_counter_ns() - started) / 1e6)
    return {
        "calls": len(wall),
        "p50_ms": statistics.median(wall),
        "p99_ms": percentile(wall, 99),
        "max_ms": max(wall),
        "cpu_p50_ms": statistics.median(cpu),
        "cpu_p99_ms": percentile(cpu, 99),
    }


# ----- dispatch baselines -----------------------------------------------------------------------------


def char_ngrams(text: str, sizes: Iterable[int] = (1, 2, 3)) -> list[str]:
    plain = re.sub(r"\W+", "", normalize(text))
    return [plain[i : i + n] for n in sizes for i in range(len(plain) - n + 1)]


class NgramSoftmax:
    """A char 1-3-gram TF-IDF, L2-normalised, multinomial logistic regression fitted by gradient descent."""

    def __init__(self, l2: float = 1e-3, steps: int = 400, rate: float = 2.0) -> None:
        self.l2, self.steps, self.rate = l2, steps, rate

    def _matrix(self, texts: Sequence[str]) -> np.ndarray:
        x = np.zeros((len(texts), len(self.vocab)), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram, tf in Counter(char_ngrams(text)).items():
                if (col := self.vocab.get(gram)) is not None:
                    x[row, col] = (1 + math.log(tf)) * self.idf[col]
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> NgramSoftmax:
        df = Counter(g for t in texts for g in set(char_ngrams(t)))
        self.vocab = {g: i for i, g in enumerate(sorted(g for g, n in df.items() if n >= 1))}
        self.idf = np.array(
            [math.log((1 + len(texts)) / (1 + df[g])) + 1 for g in sorted(self.vocab)], dtype=np.float32
        )
        self.classes = sorted(set(labels))
        x = self._matrix(texts)
        y = np.zeros((len(texts), len(self.classes)), dtype=np.float32)
        y[np.arange(len(texts)), [self.classes.index(lab) for lab in labels]] = 1.0
        self.w = np.zeros((x.shape[1], len(self.classes)), dtype=np.float32)
        self.b = np.zeros(len(self.classes), dtype=np.float32)
        for _ in range(self.steps):
            p = self._softmax(x @ self.w + self.b)
            grad = p - y
            self.w -= self.rate * (x.T @ grad / len(texts) + self.l2 * self.w)
            self.b -= self.rate * grad.mean(axis=0)
        return self

    @staticmethod
    def _softmax(z: np.ndarray) -> np.ndarray:
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """Per text, every class with its probability, best first."""
        p = self._softmax(self._matrix(texts) @ self.w + self.b)
        return [sorted(zip(self.classes, row.tolist(), strict=False), key=lambda cp: -cp[1]) for row in p]


class Bm25Neighbours:
    """Nearest past submissions by today's BM25 (bot/search.py, its coverage and share rules off: they are
    made for members' queries and leave most submissions without a neighbour); the label with the most
    score among the top k wins; no hit at all falls back to the commonest label."""

    def __init__(self, k: int = 5) -> None:
        self.k = k

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> Bm25Neighbours:
        self.labels = list(labels)
        self.fallback = Counter(labels).most_common(1)[0][0]
        self.index = SearchIndex.build(Document(str(i), "", t) for i, t in enumerate(texts))
        self.fallbacks = 0
        return self

    def predict(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        out = []
        rules = search.MIN_COVERAGE, search.MIN_SHARE
        search.MIN_COVERAGE, search.MIN_SHARE = 0.0, 0.0
        try:
            found = [self.index.search(text, limit=self.k) for text in texts]
        finally:
            search.MIN_COVERAGE, search.MIN_SHARE = rules
        for hits in found:
            votes: defaultdict[str, float] = defaultdict(float)
            for hit in hits:
                votes[self.labels[int(hit.id)]] += hit.score
            if not votes:
                self.fallbacks += 1
                votes[self.fallback] = 1.0
            out.append(sorted(votes.items(), key=lambda cp: -cp[1]))
        return out


def dispatch_quality(dispatch: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    """Each baseline fitted on the tuning split, scored on the held-out split: category top-1/top-2,
    department top-1 (its own model, and the category's usual department), per-category accuracy."""
    train = [s for s in dispatch if s["split"] != "heldout"]
    test = [s for s in dispatch if s["split"] == "heldout"]
    usual = {c: Counter(s["d"] for s in train if s["c"] == c).most_common(1)[0][0] for c in {s["c"] for s in train}}
    texts = [s["t"] for s in test]
    result: dict[str, Any] = {
        "train": len(train),
        "heldout": len(test),
        "majority_category": max(Counter(s["c"] for s in test).values()) / len(test),
    }
    for name, make in (("ngram_softmax", NgramSoftmax), ("bm25_knn", Bm25Neighbours)):
        started = time.perf_counter()
        cat_model = make().fit([s["t"] for s in train], [s["c"] for s in train])
        dep_model = make().fit([s["t"] for s in train], [s["d"] for s in train])
        fit_s = time.perf_counter() - started
        started = time.perf_counter()
        cats, deps = cat_model.predict(texts), dep_model.predict(texts)
        per_ms = (time.perf_counter() - started) * 1000 / len(texts)
        per_class: defaultdict[str, list[int]] = defaultdict(list)
        for s, c in zip(test, cats, strict=False):
            per_class[s["c"]].append(c[0][0] == s["c"])
        amb = [i for i, s in enumerate(test) if s.get("amb")]
        result[name] = {
            "category_top1": float(np.mean([c[0][0] == s["c"] for s, c in zip(test, cats, strict=False)])),
            "category_top2": float(
                np.mean([s["c"] in [lab for lab, _ in c[:2]] for s, c in zip(test, cats, strict=False)])
            ),
            "department_top1": float(np.mean([d[0][0] == s["d"] for s, d in zip(test, deps, strict=False)])),
            "department_via_category": float(
                np.mean([usual.get(c[0][0]) == s["d"] for s, c in zip(test, cats, strict=False)])
            ),
            "category_top1_ambiguous": float(np.mean([cats[i][0][0] == test[i]["c"] for i in amb])) if amb else None,
            "per_category": {c: sum(v) / len(v) for c, v in sorted(per_class.items())},
            "fit_s": fit_s,
            "predict_ms_each": per_ms,
            "fallbacks": getattr(cat_model, "fallbacks", None),
            "confusions": Counter(
                f"{s['c']}→{c[0][0]}" for s, c in zip(test, cats, strict=False) if c[0][0] != s["c"]
            ).most_common(8),
        }
    return result


# ----- run and report ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rounds", type=int, default=5, help="timed passes over all questions (default 5)")
    p.add_argument("--out", type=Path, default=OUT, help="JSON results file")
    p.add_argument("--misses", action="store_true", help="print every held-out question not ranked first")
    p.add_argument("--build-docs", type=int, default=10000, help="documents for the index build figure (0: skip)")
    p.add_argument("--no-answer", action="store_true", help="today's BM25 and dispatch only (no model)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    library = load_library()
    load_s = time.perf_counter() - started
    questions, chitchat, dispatch = read_all(QUESTION_FILES), read("chitchat.yaml"), read_all(DISPATCH_FILES)
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    problems = check_sets(library, questions, dispatch, config)
    if problems:
        raise SystemExit("problems in the sets:\n" + "\n".join(problems))
    from bench.ask_answer import measure, without_asks

    today = without_asks(library)  # the content as today's search saw it: no curated asks
    rank = bm25_ranker(today.index)
    result = {
        "load_average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "library_load_s": load_s,
        "confidence_rule": {"second_hit_share_at_most": CONFIDENT_SHARE, "min_terms": CONFIDENT_TERMS},
        "bm25": {
            **question_quality(rank, today, questions, chitchat),
            "keywords": keyword_quality(rank),
            "latency": latency(
                today.index.search, [q["q"] for q in questions] + [c["t"] for c in chitchat], args.rounds
            ),
        },
        "bm25_asks": question_quality(bm25_ranker(library.index), library, questions, chitchat),
        "dispatch": dispatch_quality(dispatch, config),
    }
    if not args.no_answer:
        result["answer"] = measure(library, today, questions, chitchat, args.rounds, args.build_docs)
        result["load_average_after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    report(result, args.out, args.misses)


def ok(good: bool) -> str:
    """A target's verdict."""
    return "ok" if good else "MISSED"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def question_table(rows: dict[str, dict[str, Any]]) -> None:
    """One line per retriever and split: the question-set figures."""
    print(
        f"{'retriever':<22}{'split':<9}{'n':>4}{'Hit@1':>8}{'Hit@3':>8}{'MRR@3':>8}{'strict@3':>9}"
        f"{'none':>7}{'conf':>7}{'conf ok':>8}{'quote ok':>9}"
    )
    for name, r in rows.items():
        for split in (*SPLITS, "all"):
            s = r[split]
            print(
                f"{name:<22}{split:<9}{s['questions']:>4}{s['hit@1']:>8.3f}{s['hit@3']:>8.3f}{s['mrr@3']:>8.3f}"
                f"{s['strict_hit@3']:>9.3f}{pct(s['nothing']):>7}{pct(s['confident']):>7}"
                f"{pct(s['confident_precision']):>8}{pct(s['quote_ok']):>9}"
            )


def report(r: dict[str, Any], out: Path, misses: bool) -> None:
    b, lat, kw, chat = r["bm25"], r["bm25"]["latency"], r["bm25"]["keywords"], r["bm25"]["chitchat"]
    print(f"library load {r['library_load_s']:.2f} s; load average {r['load_average']}")
    print(
        f"confidence rule: second hit ≤ {CONFIDENT_SHARE:.0%} of the first (or none), ≥ {CONFIDENT_TERMS} query terms"
    )
    print()
    rows = {"bm25 (today)": b, "bm25 + asks": r["bm25_asks"]}
    if "answer" in r:
        rows.update({"answerer": r["answer"], "answerer, no asks": r["answer"]["without_asks"]})
    question_table(rows)
    print(
        f"  [held-out Hit@3 ≥ {TARGETS['heldout_hit@3']}: {ok(b['heldout']['hit@3'] >= TARGETS['heldout_hit@3'])}]"
        f"  [quote holds the answer ≥ {TARGETS['quote_ok']:.0%} of confident: "
        f"{ok((b['all']['quote_ok'] or 0) >= TARGETS['quote_ok'])}]"
    )
    print(
        f"chit-chat ({chat['inputs']}): any result {pct(chat['any_result'])}, confident {pct(chat['confident'])}"
        f" (tune {pct(chat['confident_tune'])}, held out {pct(chat['confident_heldout'])})"
        f"  [≤ {TARGETS['chitchat_confident']:.0%}: {ok(chat['confident'] <= TARGETS['chitchat_confident'])}]"
    )
    print("Hit@3 by kind: " + ", ".join(f"{k} {v:.3f}" for k, v in b["hit@3_by_kind"].items()))
    if chat["confident_inputs"]:
        print(f"  confident on: {', '.join(chat['confident_inputs'])}")
    print(
        f"keyword set ({kw['queries']}): MRR@3 {kw['mrr@3']:.3f}  [≥ {TARGETS['keyword_mrr@3']}: "
        f"{ok(kw['mrr@3'] >= TARGETS['keyword_mrr@3'] - 1e-9)}]"
    )
    print(
        f"latency per question: p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms, max {lat['max_ms']:.2f} ms"
        f" (CPU p99 {lat['cpu_p99_ms']:.2f} ms) over {lat['calls']} calls"
        f"  [p99 < {TARGETS['p99_ms']:.0f} ms: {ok(lat['p99_ms'] < TARGETS['p99_ms'])}]"
    )
    if "answer" in r:
        from bench.ask_answer import answer_lines

        answer_lines(r["answer"])
    if misses:
        for m in r.get("answer", b)["heldout"]["misses"]:
            print(f"  held-out miss: {m['q']} expected {m['expect']} at {m['rank'] or '-'}, got {m['got']}")
    d = r["dispatch"]
    print()
    print(
        f"dispatch: fitted on {d['train']} tuning submissions, scored on {d['heldout']} held out"
        f" (majority category alone: {pct(d['majority_category'])})"
    )
    print(f"{'baseline':<16}{'cat@1':>8}{'cat@2':>8}{'dept@1':>8}{'dept via cat':>14}{'cat@1 amb':>11}{'ms each':>9}")
    for name in ("ngram_softmax", "bm25_knn"):
        m = d[name]
        print(
            f"{name:<16}{m['category_top1']:>8.3f}{m['category_top2']:>8.3f}{m['department_top1']:>8.3f}"
            f"{m['department_via_category']:>14.3f}{pct(m['category_top1_ambiguous']):>11}{m['predict_ms_each']:>9.2f}"
        )
    print(
        f"  [category top-1 ≥ {TARGETS['category_top1']:.0%}: "
        f"{ok(max(d[n]['category_top1'] for n in ('ngram_softmax', 'bm25_knn')) >= TARGETS['category_top1'])}]"
    )
    for name in ("ngram_softmax", "bm25_knn"):
        per = d[name]["per_category"]
        print(f"  {name} per category: " + ", ".join(f"{c} {v:.0%}" for c, v in per.items()))
        print(f"  {name} confusions: " + ", ".join(f"{k} ×{n}" for k, n in d[name]["confusions"]))
    if d["bm25_knn"]["fallbacks"]:
        print(f"  bm25_knn found no neighbour for {d['bm25_knn']['fallbacks']} of {d['heldout']} (majority label used)")
    print(f"written: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
