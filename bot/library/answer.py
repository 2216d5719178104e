"""Answers to members' questions (#14): today's BM25F fused with dense retrieval (bot/library/dense.py) by
reciprocal rank fusion, a confidence rule and the sentence(s) to quote; asked by handlers/study/chat.py."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.library.dense import DenseIndex, DenseItem, Encoder, VectorCache
from bot.library.loader import Article, Library
from bot.library.search import normalize

log = logging.getLogger(__name__)

RRF_K = 60  # reciprocal rank fusion constant (the usual default)
DEPTH = 20  # hits of each retriever fused
LEXICAL_WEIGHT = 1.0  # BM25's share in the fusion beside dense (tried 1-5 on the tune part: 1 finds most)
# Confidence, set on the tune parts of bench/ask/ only (bench/ask.py): with the content's 1,042 asks and the
# discount below, the chit-chat inputs' best item similarity has its 98th percentile at 0.368 (2 December 2026).
SURE_SIM = 0.37  # BM25 and dense agree on the first item and its best sentence or ask is above this ...
ALONE_SIM, ALONE_MARGIN = 0.5, 0.1  # ... or dense alone is this sure, this far ahead of its second item
FOUND_SIM = 0.37  # when BM25 finds nothing, dense items above this are shown (98th percentile of chit-chat)
ASK_DISCOUNT = 0.2  # a curated ask's similarity counts this much less than a sentence's (questions look alike:
# 0.1 / 0.15 / 0.2 / 0.25 tried; 0.2 found most on the tune part with no chit-chat answered confidently)
QUOTE_DENSE = 0.3  # quote: weight of the sentence's dense similarity beside its idf-weighted bigram recall
QUOTE_EARLY = 0.02  # ... less this much per sentence into the item (the first sentences carry the main fact)
QUOTE_SENTENCES = 2  # the best sentences quoted, in text order
QUOTE_CHARS = 240  # a longer quote is cut (a text reply holds 2,047 bytes)
QUERY_WAIT = 0.05  # seconds a question waits for the model when another thread is using it; then BM25 alone
SENTENCE_END = re.compile(r"(?:(?<=[。！？；])(?![”’」』）]))|(?<=[。！？；][”’」』）])")  # closing quotes stay


@dataclass(frozen=True)
class Answer:
    """Item ids best first; whether the first answers with confidence, and then the sentence(s) to quote."""

    ids: list[str]
    confident: bool = False
    quote: str = ""
    dense: bool = False  # the dense retriever took part (False: the model is not ready, or busy)


def sentences(text: str) -> list[str]:
    """A text's sentences; a closing quote stays with the sentence it ends."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def item_text(item: object) -> str:
    """What a reply may quote: an episode's summary, an article's summary and body."""
    return f"{item.summary}{item.body}" if isinstance(item, Article) else str(getattr(item, "summary", ""))


def bigrams(text: str) -> set[str]:
    plain = re.sub(r"\W+", "", normalize(text))
    return {plain[i : i + 2] for i in range(len(plain) - 1)}


@dataclass(frozen=True)
class Prepared:
    """The dense index of one library and the idf of the character bigrams of its sentences."""

    library: Library
    index: DenseIndex
    idf: dict[str, float]
    position: dict[str, int]


def prepare(library: Library, encoder: Encoder, cache: VectorCache, workers: int = 0) -> Prepared:
    """Embed (or take from the cache) every sentence and ask of the library."""
    items = [
        DenseItem(item_id, item.title, tuple(sentences(item_text(item))), item.asks)
        for item_id, item in library.by_id.items()
    ]
    index = DenseIndex.build(items, encoder, cache, workers)
    df = Counter(b for s in index.sentences for b in bigrams(s))
    n = max(len(index.sentences), 1)
    idf = {b: math.log((n + 1) / (c + 0.5)) for b, c in df.items()}
    return Prepared(library, index, idf, {item_id: i for i, item_id in enumerate(index.ids)})


class Asker:
    """Answers questions over the current library; the dense part joins once the model and the library's
    vectors are ready (built in the background), until then BM25 alone."""

    def __init__(self, encoder: Encoder, cache_dir: Path | None) -> None:
        self.encoder, self.cache_dir = encoder, cache_dir
        self.cache: VectorCache | None = None
        self.prepared: Prepared | None = None
        self.building: Library | None = None
        self.guard = threading.Lock()
        self.built = threading.Condition(self.guard)

    def start(self) -> None:
        self.encoder.start()

    def dense_for(self, library: Library) -> Prepared | None:
        """The prepared dense index for this library, or None (and its build started when the model is ready)."""
        prepared = self.prepared
        if prepared is not None and prepared.library is library:
            return prepared
        if not self.encoder.ready:
            return None
        with self.guard:
            if self.building is not library:
                self.building = library
                threading.Thread(target=self._build, args=(library,), name="dense-index", daemon=True).start()
        return None

    def _build(self, library: Library) -> None:
        try:
            if self.cache is None:
                self.cache = VectorCache(self.cache_dir)
            prepared = prepare(library, self.encoder, self.cache, workers=1)
        except (RuntimeError, OSError, ValueError) as exc:
            log.warning("dense index not built, questions use BM25 alone: %s", exc)
            return
        with self.guard:
            if self.building is library:
                self.prepared = prepared
            self.built.notify_all()

    def wait(self, library: Library, timeout: float = 60.0) -> bool:
        """Block until this library's dense index is ready (tests and benches); whether it is."""
        if not self.encoder.wait(timeout):
            return False
        self.dense_for(library)
        with self.guard:
            self.built.wait_for(lambda: self.prepared is not None and self.prepared.library is library, timeout)
        return self.dense_for(library) is not None

    def ask(self, library: Library, query: str, limit: int = 30) -> Answer:
        """The best items for a question, fused; confident with a quote when the rule holds."""
        lexical = [h.id for h in library.index.search(query, limit=max(limit, DEPTH))] if library.index else []
        prepared = self.dense_for(library)
        text = normalize(query)  # embedded as BM25 reads it: simplified, aliases resolved (毛主席 → 毛泽东)
        vector = self.encoder.encode([text], wait=QUERY_WAIT) if prepared is not None else None
        if prepared is None or vector is None:
            return Answer(lexical[:limit])
        return fuse(prepared, query, vector[0], lexical, limit, pinned(library, query, lexical))


def pinned(library: Library, query: str, lexical: list[str]) -> bool:
    """Whether BM25's first hit stays first: a keyword query, every word of which (2+ characters) is in
    that item's title or keywords."""
    if not lexical or library.index is None:
        return False
    item = library.by_id[lexical[0]]
    names = [normalize(k) for k in (item.title, *item.keywords)]
    terms = [t for t in library.index.query_terms(query) if len(t) >= 2]
    return bool(terms) and all(any(t in name for name in names) for t in terms)


def fuse(prepared: Prepared, query: str, vector: np.ndarray, lexical: list[str], limit: int, pin: bool) -> Answer:
    """RRF of the two rankings, the confidence rule, and the quote from the first item when confident."""
    index = prepared.index
    sims, best = index.scores(vector, ASK_DISCOUNT)
    order = np.argsort(-best, kind="stable")[:DEPTH]
    dense = [int(i) for i in order if lexical or best[i] > FOUND_SIM]
    fused: dict[int, float] = {}
    for rank, n in enumerate(dense):
        fused[n] = fused.get(n, 0.0) + 1 / (RRF_K + rank + 1)
    for rank, item_id in enumerate(lexical[:DEPTH]):
        n = prepared.position[item_id]
        fused[n] = fused.get(n, 0.0) + LEXICAL_WEIGHT / (RRF_K + rank + 1)
    ranked = sorted(fused, key=lambda n: (-fused[n], n))
    if pin:
        ranked.insert(0, ranked.pop(ranked.index(prepared.position[lexical[0]])))
    if not ranked:
        return Answer([], dense=True)
    ids = [index.ids[n] for n in ranked]
    taken = set(ids)
    ids += [i for i in lexical[DEPTH:] if i not in taken]
    first = ranked[0]
    second = float(best[order[1]]) if len(order) > 1 else -1.0
    agree = bool(lexical) and lexical[0] == index.ids[first] and int(order[0]) == first
    alone = int(order[0]) == first and best[first] > ALONE_SIM and best[first] - second > ALONE_MARGIN
    confident = not pin and bool((agree and best[first] > SURE_SIM) or alone)  # a keyword query gets a list
    return Answer(ids[:limit], confident, quote(prepared, first, query, sims) if confident else "", dense=True)


def quote(prepared: Prepared, n: int, query: str, sims: np.ndarray) -> str:
    """The item's sentence(s) that best answer: idf-weighted share of the query's bigrams they hold, plus
    QUOTE_DENSE times their dense similarity; the best QUOTE_SENTENCES, in text order."""
    wanted = bigrams(query)
    total = sum(prepared.idf.get(b, 0.0) for b in wanted) or 1.0
    positions = list(prepared.index.item_sentences(n))
    score = {
        p: sum(prepared.idf.get(b, 0.0) for b in wanted & bigrams(prepared.index.sentences[p])) / total
        + QUOTE_DENSE * float(sims[p])
        - QUOTE_EARLY * k
        for k, p in enumerate(positions)
    }
    chosen = sorted(sorted(positions, key=lambda p: -score[p])[:QUOTE_SENTENCES])
    text = "".join(prepared.index.sentences[p] for p in chosen)
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


_shared: Asker | None = None
_shared_lock = threading.Lock()


def shared() -> Asker:
    """This process's asker (one model per process), its vectors cached under var/dense/."""
    global _shared  # noqa: PLW0603 (one per process)
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                from bot.core.config import VAR

                _shared = Asker(Encoder(), VAR / "dense")
    return _shared


def start(services: object) -> None:
    """A feature's setup hook: begin loading the model in the background (start-up does not wait)."""
    shared().start()
