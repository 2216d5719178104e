"""The index build's forward pass (#14, bot/library/bulk_encoder.py): the content embeds to the vectors the
package itself gives, in one process and over the build's worker processes, so answers do not change."""

from __future__ import annotations

import numpy as np
import pytest

from bot.library import answer, bulk_encoder, dense
from bot.library.dense import VectorCache
from tests.library.answer_helpers import content, ready_asker


def content_texts(limit: int) -> list[str]:
    """Sentences of the real content as the dense index embeds them (the item's title in front)."""
    texts = []
    for item in content().by_id.values():
        texts += [f"{item.title}：{s}" for s in answer.sentences(answer.item_text(item))]
    return texts[:limit]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_the_build_gives_the_packages_vectors():
    model = ready_asker(content()).encoder.model
    texts = [*content_texts(300), "", "好", "中国共产党" * 400]  # empty, one character, longer than a micro-batch
    assert cosines(bulk_encoder.encode(model, texts), model.encode(texts)).min() > 0.999


def test_a_build_over_worker_processes_gives_the_packages_vectors(tmp_path, monkeypatch: pytest.MonkeyPatch):
    encoder = ready_asker(content()).encoder
    monkeypatch.setattr(dense, "POOL_FROM", 100)  # a small build still goes to the worker processes
    monkeypatch.setattr(dense, "CHUNK", 64)
    texts = content_texts(200)
    rows = dense.embed(encoder, texts, VectorCache(tmp_path), workers=2)
    assert cosines(rows, encoder.model.encode(texts)).min() > 0.999
