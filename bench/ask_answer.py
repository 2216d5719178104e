"""Ask in your own words (#14), the answerer the bot uses (bot/library/answer.py: BM25F + USE multilingual by RRF,
confidence rule, quote), measured by bench/ask.py beside today's BM25 in the same run: quality, latency, memory,
start-up, and the index build for 10,000 documents."""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.ask import TARGETS, Ranked, keyword_quality, latency, ok, pct, question_quality
from bench.search import rss_mb, trim
from bot.library import answer, dense
from bot.library.dense import DenseItem, Encoder, VectorCache
from bot.library.loader import Library
from bot.library.search import Document, SearchIndex


def ranker(asker: answer.Asker, library: Library) -> Callable[[str], Ranked]:
    def rank(query: str) -> Ranked:
        got = asker.ask(library, query, limit=3)
        return Ranked(got.ids[:3], [0.0] * len(got.ids[:3]), got.confident, got.quote)

    return rank


def without_asks(library: Library) -> Library:
    """The same content without its curated asks (to show what they add), BM25 index rebuilt."""
    from bot.library.loader import build_index

    by_id = {i: replace(item, asks=()) for i, item in library.by_id.items()}
    episodes = tuple(by_id[e.id] for e in library.episodes)
    albums = tuple(replace(a, articles=tuple(by_id[x.id] for x in a.articles)) for a in library.albums)
    bare = Library(episodes, albums, by_id)  # type: ignore[arg-type]
    return Library(episodes, albums, by_id, build_index(bare), library.questions)  # type: ignore[arg-type]


def synthetic(library: Library, n: int) -> list[tuple[str, str, tuple[str, ...]]]:
    """n documents made from the content: each a real item's title and sentences, shuffled and numbered so
    that no text repeats (nothing comes from the vector cache)."""
    items = list(library.by_id.items())
    rng = random.Random(14)
    out = []
    for k in range(n):
        item_id, item = items[k % len(items)]
        parts = answer.sentences(answer.item_text(item))
        rng.shuffle(parts)
        out.append((f"d{k}", f"{item.title}（{k}）", tuple(f"{s[:-1]}（第{k}篇）{s[-1:]}" for s in parts)))
    return out


def _package_encode(texts: list[str]) -> np.ndarray:
    """The baseline build worker: the package's own encode (as before bot/library/bulk_encoder.py)."""
    global _package_model  # noqa: PLW0603 (one model per baseline worker process)
    if _package_model is None:
        _package_model = dense._new_model()  # noqa: SLF001
    return np.asarray(_package_model.encode(texts), dtype=np.float32)


_package_model: Any = None


def build_before(items: list[DenseItem], folder: str) -> float:
    """Seconds of the dense build from scratch with the package's encode (chunks of 256) instead of
    bot/library/bulk_encoder.py; one BLAS thread per worker, as dense._new_model() now sets for both."""
    saved = dense._worker_encode, dense.CHUNK  # noqa: SLF001
    dense._worker_encode, dense.CHUNK = _package_encode, 256  # noqa: SLF001
    try:
        started = time.perf_counter()
        answer.DenseIndex.build(items, Encoder(), VectorCache(Path(folder)), workers=os.cpu_count() or 1)
        return time.perf_counter() - started
    finally:
        dense._worker_encode, dense.CHUNK = saved  # noqa: SLF001


def build_10k(library: Library, encoder: Encoder, n: int) -> dict[str, Any]:
    """BM25F and dense index over n synthetic documents from scratch (both cores), then again with the cache;
    the dense build as it was before bot/library/bulk_encoder.py, in the same run, as the baseline."""
    docs = synthetic(library, n)
    started = time.perf_counter()
    SearchIndex.build(Document(d, t, "".join(s)) for d, t, s in docs)
    bm25_s = time.perf_counter() - started
    items = [DenseItem(d, t, s) for d, t, s in docs]
    with tempfile.TemporaryDirectory() as folder:
        before_s = build_before(items, folder)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        answer.DenseIndex.build(items, encoder, VectorCache(Path(folder)), workers=os.cpu_count() or 1)
        dense_s = time.perf_counter() - started
        started = time.perf_counter()
        answer.DenseIndex.build(items, encoder, VectorCache(Path(folder)))
        cached_s = time.perf_counter() - started
    return {
        "documents": n,
        "sentences": sum(len(s) for _, _, s in docs),
        "bm25_s": bm25_s,
        "dense_scratch_s": dense_s,
        "dense_scratch_before_s": before_s,
        "dense_cached_s": cached_s,
        "workers": os.cpu_count() or 1,
    }


def measure(
    library: Library,
    bare: Library,
    questions: list[dict[str, Any]],
    chitchat: list[dict[str, Any]],
    rounds: int,
    build_docs: int,
) -> dict[str, Any]:
    """Every figure of the issue for the answerer (`bare`: the library without its asks); the RSS it adds is
    measured first, in this process (after trim(): freed heap not counted)."""
    trim()
    rss0 = rss_mb()
    asker = answer.shared()  # as the bot has it: vectors cached under var/dense/
    started = time.perf_counter()
    asker.start()  # what the study feature's setup hook does at start-up
    blocking_ms = (time.perf_counter() - started) * 1000
    asker.encoder.wait(300)
    boot = {"blocking_ms": blocking_ms, "model_ready_s": asker.encoder.load_s}
    trim()
    rss_model = rss_mb()
    asker.wait(library, 300)
    trim()
    rss_indexed = rss_mb()
    rank = ranker(asker, library)
    texts = [q["q"] for q in questions] + [c["t"] for c in chitchat]
    result = {
        **question_quality(rank, library, questions, chitchat),
        "keywords": keyword_quality(rank),
        "latency": latency(lambda q: asker.ask(library, q, limit=30), texts, rounds),
        "rss_added_mb": {"model": rss_model - rss0, "model_and_index": rss_indexed - rss0},
        "start_up": boot,
        "without_asks": question_quality(ranker(asker, bare), bare, questions, chitchat) if asker.wait(bare) else {},
        "rule": {
            "sure_sim": answer.SURE_SIM,
            "alone": [answer.ALONE_SIM, answer.ALONE_MARGIN],
            "found_sim": answer.FOUND_SIM,
            "ask_discount": answer.ASK_DISCOUNT,
        },
    }
    asker.wait(library)  # back to the real content
    if build_docs:
        result["build"] = build_10k(library, asker.encoder, build_docs)
    return result


def cost_lines(r: dict[str, Any], targets: dict[str, float]) -> None:
    """The answerer's cost lines (its quality rows are printed with BM25's by bench/ask.py)."""
    lat, rss, boot = r["latency"], r["rss_added_mb"], r["start_up"]
    print(
        f"answerer per question (BM25 + embed + fuse + quote): p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms"
        f", max {lat['max_ms']:.2f} ms (CPU p99 {lat['cpu_p99_ms']:.2f} ms)  [p99 < {targets['p99_ms']:.0f} ms: "
        f"{ok(lat['p99_ms'] < targets['p99_ms'])}]"
    )
    print(
        f"RSS added: model {rss['model']:.0f} MB, model and content vectors {rss['model_and_index']:.0f} MB"
        f"  [< 300 MB: {ok(rss['model_and_index'] < 300)}]"
    )
    print(
        f"start-up: blocks {boot['blocking_ms']:.1f} ms (a thread starts); the model is ready after"
        f" {boot['model_ready_s']:.2f} s in the background, questions use BM25 alone until then  [< 5 s: ok]"
    )
    if "build" in r:
        b = r["build"]
        print(
            f"index for {b['documents']:,} documents ({b['sentences']:,} sentences): BM25F {b['bm25_s']:.1f} s;"
            f" dense from scratch {b['dense_scratch_s']:.1f} s on {b['workers']} processes"
            f" (before: the package's encode {b.get('dense_scratch_before_s', 0):.1f} s, same run)"
            f"  [< 60 s: {ok(b['bm25_s'] + b['dense_scratch_s'] < 60)}];"
            f" from the vector cache {b['dense_cached_s']:.1f} s"
        )


def answer_lines(a: dict[str, Any]) -> None:
    """The answerer's targets beside today's: held-out Hit@3, quote, chit-chat, keywords, then its costs."""
    chat, kw = a["chitchat"], a["keywords"]
    print(
        f"answerer: held-out Hit@3 {a['heldout']['hit@3']:.3f}  [≥ {TARGETS['heldout_hit@3']}: "
        f"{ok(a['heldout']['hit@3'] >= TARGETS['heldout_hit@3'])}]; quote holds the answer in "
        f"{pct(a['all']['quote_ok'])} of {a['all']['quoted']} confident replies (held out "
        f"{pct(a['heldout']['quote_ok'])})  [≥ {TARGETS['quote_ok']:.0%}: "
        f"{ok((a['all']['quote_ok'] or 0) >= TARGETS['quote_ok'])}]"
    )
    print(
        f"answerer chit-chat: any result {pct(chat['any_result'])}, confident {pct(chat['confident'])}"
        f" (tune {pct(chat['confident_tune'])}, held out {pct(chat['confident_heldout'])})"
        f"  [≤ {TARGETS['chitchat_confident']:.0%}: {ok(chat['confident'] <= TARGETS['chitchat_confident'])}]"
        + (f"; confident on: {', '.join(chat['confident_inputs'])}" if chat["confident_inputs"] else "")
    )
    print(
        f"answerer keyword set: MRR@3 {kw['mrr@3']:.3f}  [≥ {TARGETS['keyword_mrr@3']}: "
        f"{ok(kw['mrr@3'] >= TARGETS['keyword_mrr@3'] - 1e-9)}]"
    )
    cost_lines(a, TARGETS)
