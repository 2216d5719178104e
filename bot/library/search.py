"""Search over study content: normalise, segment, BM25 index; used by the study feature (handlers/study/chat.py)."""

from __future__ import annotations

import re
import threading
import time
import unicodedata
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import count

import jieba_fast_dat
import numpy as np
import opencc

K1 = 1.2  # BM25 term-frequency saturation
FIELD_WEIGHTS = (5.0, 3.0, 1.0)  # title, keywords, body: BM25F weight of one occurrence
FIELD_B = (0.3, 0.3, 0.75)  # title, keywords, body: BM25F length normalisation
HMM = False  # jieba's HMM for unknown words: off (faster); unknown names stay single characters, see fragments()
MIN_SHARE = 0.2  # a hit scores at least this share of the best one: drops matches on a common part only
MIN_COVERAGE = (
    0.5  # a hit holds query words carrying at least this share of the query's idf ("今天天气" ≠ any text with 今天)
)
BATCH = 256  # documents normalised and segmented per call: per-call overhead is half the cost otherwise
MIN_FRAGMENT = 2  # shortest query fragment matched inside keywords ("秋白" finds 瞿秋白)
STOPWORDS = frozenset(
    "的 地 得 了 着 过 是 在 和 与 及 或 而 并 也 都 就 又 还 被 把 将 对 从 向 于 以 为 之 其 这 那 哪 此 该"
    " 个 吗 呢 吧 啊 呀 哦 嘛 么 啦 哈 嗯 我 你 您 他 她 它 我们 你们 他们 她们 它们 咱们 自己 大家"
    " 什么 怎么 怎样 怎么样 怎么办 如何 为什么 哪里 哪些 哪个 多少 几 谁 请问 请 问 想 要 想要 能 能否 可以 会不会"
    " 一下 一些 有没有 有关 关于 相关 讲讲 说说 讲 说 介绍 介绍一下 知道 了解 告诉 查 查询 搜 搜索 看看 看 找 一个 一篇"
    " 那个 这个 的话 就是 还是 或者 以及 等 等等 内容 资料 故事 啥 为啥 咋 咋样 啥时候 什么时候 时候 哪年 哪一年 哪儿"
    " 是不是 有啥".split()
)  # function words and request phrasing, dropped from documents and queries alike

ALIASES = {  # how members name people and events (colloquial → the content's words), applied to queries and content
    "毛主席": "毛泽东",
    "毛爷爷": "毛泽东",
    "周总理": "周恩来",
    "朱总司令": "朱德",
    "小平同志": "邓小平",
    "彭老总": "彭德怀",
    "贺老总": "贺龙",
    "陈老总": "陈毅",
    "老蒋": "蒋介石",
    "蒋委员长": "蒋介石",
    "习主席": "习近平",
    "习总书记": "习近平总书记",
    "雷锋叔叔": "雷锋",
    "打鬼子": "抗日",
    "日本鬼子": "日军",
    "小鬼子": "日军",
    "鬼子": "日军",
    "小日本": "日本",
    "文革": "文化大革命",
    "改开": "改革开放",
    "朝鲜战争": "抗美援朝",
    "打老虎": "反腐败",
}
_ALIAS_RE = re.compile("|".join(map(re.escape, sorted(ALIASES, key=len, reverse=True))))  # longest first
NFKC_STABLE = "\u4e00-\u9fff\x00-\x7f\u3001\u3002\u300a-\u300f\u201c\u201d\u2018\u2019\u2014"  # NFKC leaves these alone
_UNSTABLE = re.compile(f"[\\s\\S]?[^{NFKC_STABLE}]+")  # what nfkc() hands to unicodedata
_t2s_local = threading.local()  # one OpenCC converter per thread (its C++ object is not documented thread-safe)
_dictionary: bytes | None = None  # jieba's main dictionary as a serialised trie, loaded once per process
_dictionary_lock = threading.Lock()
DICTIONARY_LOAD = {"seconds": 0.0, "cached": False}  # how the one-time dictionary load went, for the bench


@dataclass(frozen=True)
class Document:
    """One searchable item: an episode or an album article."""

    id: str
    title: str
    body: str
    keywords: tuple[str, ...] = ()
    kind: str = ""


@dataclass(frozen=True)
class Hit:
    """A ranked result: the document id, its score and its kind."""

    id: str
    score: float
    kind: str


def nfkc(text: str) -> str:
    """unicodedata NFKC, 4x faster on Chinese text: only runs of characters outside NFKC_STABLE (with
    the character before each, which a combining mark may join) are normalised."""
    return _UNSTABLE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), traditional to simplified Chinese, lower case, common aliases."""
    text = nfkc(text)
    converter = getattr(_t2s_local, "converter", None)
    if converter is None:
        converter = _t2s_local.converter = opencc.OpenCC("t2s")
    return _ALIAS_RE.sub(lambda m: ALIASES[m.group()], converter.convert(text).lower())


def dictionary() -> bytes:
    """The main dictionary trie, loaded lazily once per process: 1-1.5 s, or under 0.1 s from the cache file
    jieba_fast_dat keeps in the temp folder."""
    global _dictionary  # noqa: PLW0603 (loaded once per process, then shared)
    if _dictionary is None:
        with _dictionary_lock:
            if _dictionary is None:
                started = time.perf_counter()
                base = jieba_fast_dat.Tokenizer()
                cache = jieba_fast_dat.utils.CacheManager.get_cache_path(None, prefix="jieba_fast_dat")
                DICTIONARY_LOAD["cached"] = cache.exists()
                base.initialize()
                _dictionary = base.dat.save_to_bytes()
                DICTIONARY_LOAD["seconds"] = time.perf_counter() - started
    return _dictionary


def tokenizer(words: Iterable[str] = ()) -> jieba_fast_dat.Tokenizer:
    """A private tokenizer: a copy of the shared dictionary plus `words` kept whole."""
    tok = jieba_fast_dat.Tokenizer()
    tok.dat.load_from_bytes(dictionary())
    tok.total, tok.initialized = tok.dat.total_freq, True
    for word in sorted(set(words)):  # sorted: each add shifts the frequencies the next one gets
        tok.add_word(word)
    return tok


def user_words(docs: Sequence[Document], extra: Iterable[str]) -> list[str]:
    """Keywords and extra words, normalised, that the segmenter must keep whole."""
    raw = [*extra, *(kw for doc in docs for kw in doc.keywords)]
    return [w for w in map(str.strip, map(normalize, raw)) if len(w) >= 2 and not any(c.isspace() for c in w)]


def is_term(word: str) -> bool:
    """Whether a token can be searched: not a stopword, not punctuation or space."""
    return word not in STOPWORDS and any(c.isalnum() for c in word)


def expand(tok: jieba_fast_dat.Tokenizer, word: str) -> list[str]:
    """The word and its known 2- and 3-character parts, as jieba's cut_for_search; stopwords dropped."""
    if word in STOPWORDS:
        return []
    parts = [word[i : i + 2] for i in range(len(word) - 1)] if len(word) > 2 else []
    parts += [word[i : i + 3] for i in range(len(word) - 2)] if len(word) > 3 else []
    return [p for p in [*parts, word] if is_term(p) and (p == word or tok.get_freq(p))]


def is_single_han(term: str) -> bool:
    """One Chinese character: too vague to search on when the query has longer words."""
    return len(term) == 1 and "\u4e00" <= term <= "\u9fff"


class _Fields:
    """Every token of every document field as a word id; each field ends with a newline token."""

    def __init__(self, tok: jieba_fast_dat.Tokenizer) -> None:
        self.tok = tok
        self.words: defaultdict[str, int] = defaultdict(count().__next__)  # word -> id, in first-seen order
        self.newline = self.words["\n"]
        self.ids = array("i")  # word id of every token, compact

    def add(self, docs: Sequence[Document]) -> None:
        """Normalise and segment BATCH documents per call: title, keywords, body, each ending in a newline."""
        for start in range(0, len(docs), BATCH):
            fields = [f for d in docs[start : start + BATCH] for f in (d.title, " ".join(d.keywords), d.body)]
            text = "".join(f.replace("\n", " ") + "\n" for f in fields)
            self.ids.extend(map(self.words.__getitem__, self.tok.lcut(normalize(text), HMM=HMM)))

    def lengths(self, n_fields: int) -> np.ndarray:
        """Tokens in each field, its newline not counted."""
        ends = np.flatnonzero(np.frombuffer(self.ids, dtype=np.intc) == self.newline)
        if ends.size != n_fields:
            raise RuntimeError(f"segmenting found {ends.size} field ends, expected {n_fields}")
        return np.diff(ends, prepend=-1) - 1


def field_norms(lengths: np.ndarray) -> np.ndarray:
    """Per (document, field): the field weight over its BM25F length normalisation."""
    per_doc = lengths.reshape(-1, len(FIELD_WEIGHTS)).astype(np.float64)
    average = np.maximum(per_doc.mean(axis=0), 1.0) if per_doc.size else np.ones(len(FIELD_WEIGHTS))
    b, w = np.array(FIELD_B), np.array(FIELD_WEIGHTS)
    return (w / (1.0 - b + b * per_doc / average)).ravel()


def group_sum(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique keys (sorted) and the sum of values for each; a stable sort is fast on keys in runs."""
    if keys.size == 0:
        return keys, values
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.add.reduceat(values[order], starts)


def ragged_take(ptr: np.ndarray, flat: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The concatenation of flat[ptr[r]:ptr[r+1]] for each r in rows, and each row's length."""
    lengths = ptr[rows + 1] - ptr[rows]
    ends = np.cumsum(lengths, dtype=ptr.dtype)
    starts = np.repeat(ptr[rows] - ends + lengths, lengths)
    return flat[starts + np.arange(ends[-1] if ends.size else 0, dtype=ptr.dtype)], lengths


class SearchIndex:
    """An immutable BM25F index: per term, the documents holding it and their precomputed scores."""

    def __init__(
        self,
        docs: Sequence[Document],
        tok: jieba_fast_dat.Tokenizer,
        terms: dict[str, int],
        postings: tuple[np.ndarray, np.ndarray, np.ndarray],
        keywords: Sequence[str],
    ) -> None:
        self._ids, self._kinds = tuple(d.id for d in docs), tuple(d.kind for d in docs)
        self._tok, self._terms, self._keywords = tok, terms, tuple(keywords)
        self._ptr, self._docs, self._weights = postings  # term t: _docs/_weights[_ptr[t]:_ptr[t+1]]
        df = np.diff(self._ptr)
        self._idf = np.log1p((len(docs) - df + 0.5) / (df + 0.5))  # per term, for query coverage
        self._rare_idf = float(np.log1p((len(docs) - 0.5) / 1.5))  # a word no document holds counts as this rare
        for arr in postings:
            arr.flags.writeable = False

    @classmethod
    def build(cls, docs: Iterable[Document], extra_words: Iterable[str] = ()) -> SearchIndex:
        """Segment and index the documents; keywords and extra_words are kept whole by the segmenter."""
        docs = tuple(docs)
        if len({d.id for d in docs}) != len(docs):
            raise ValueError("document ids must be unique")
        words = user_words(docs, extra_words)
        fields = _Fields(tokenizer(words))
        fields.add(docs)
        terms, postings = cls._postings(fields, len(docs))
        return cls(docs, fields.tok, terms, postings, sorted(set(words)))

    @staticmethod
    def _postings(fields: _Fields, n_docs: int) -> tuple[dict[str, int], tuple[np.ndarray, ...]]:
        """Per term: the documents holding it, in order, and the BM25F score each gets from it."""
        terms, keys, tf = SearchIndex._pairs(fields, n_docs)
        docs, term_of = np.divmod(keys, max(len(terms), 1))
        by_term = np.argsort(term_of, kind="stable")  # documents stay in order within a term
        docs, term_of, tf = docs[by_term].astype(np.int32), term_of[by_term], tf[by_term].astype(np.float64)
        df = np.bincount(term_of, minlength=len(terms))
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        weights = (idf[term_of] * tf * (K1 + 1.0) / (tf + K1)).astype(np.float32)
        return terms, (np.concatenate(([0], np.cumsum(df))), docs, weights)

    @staticmethod
    def _pairs(fields: _Fields, n_docs: int) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
        """Terms, and every (document, term) key with its BM25F pseudo-frequency, document-major."""
        lengths = fields.lengths(n_docs * len(FIELD_WEIGHTS))
        terms, exp_ptr, exp_terms = SearchIndex._expansions(fields)
        token_terms, reps = ragged_take(exp_ptr, exp_terms, np.frombuffer(fields.ids, dtype=np.intc))
        field_of = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths + 1)  # each token's (doc, field)
        groups = np.repeat(field_of, reps)  # each term's (doc, field); a newline has no terms
        tf = field_norms(lengths).astype(np.float32)[groups]
        keys = (groups // len(FIELD_WEIGHTS)).astype(np.int64) * len(terms) + token_terms  # runs: sorts fast
        return terms, *group_sum(keys, tf)

    @staticmethod
    def _expansions(fields: _Fields) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
        """Term ids, and for each word id the terms it counts for (itself and its parts, or none)."""
        terms: defaultdict[str, int] = defaultdict(count().__next__)
        ptr, flat = [0], []
        for word in fields.words:  # in id order
            flat.extend(terms[t] for t in expand(fields.tok, word))
            ptr.append(len(flat))
        return dict(terms), np.array(ptr, dtype=np.int32), np.array(flat, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def term_count(self) -> int:
        return len(self._terms)

    @property
    def nbytes(self) -> int:
        """Bytes held by the posting arrays."""
        return self._ptr.nbytes + self._docs.nbytes + self._weights.nbytes

    def query_terms(self, query: str) -> list[str]:
        """The searchable terms of a query, in order, without repeats."""
        base, matches, _ = self._query(query)
        return list(dict.fromkeys(base + matches))

    def _query(self, query: str) -> tuple[list[str], list[str], int]:
        """Base terms, keyword matches, and how many words of 2+ characters nothing explains."""
        text = normalize(query).strip()
        words = self._tok.lcut(text, HMM=HMM)
        base = [t for w in words for t in expand(self._tok, w)]
        if any(not is_single_han(t) for t in base):
            base = [t for t in base if not is_single_han(t)]
        matches = self._keyword_matches(text, words)
        unexplained = sum(
            1
            for w in dict.fromkeys(words)
            if len(w) >= MIN_FRAGMENT and is_term(w) and w not in self._terms and not any(w in m for m in matches)
        )
        return list(dict.fromkeys(base)), matches, unexplained

    def _keyword_matches(self, text: str, words: list[str]) -> list[str]:
        """The whole query if it is a term; keywords containing a fragment the index does not know."""
        found = [text] if text in self._terms else []
        for fragment in fragments(words, self._terms):
            found += [kw for kw in self._keywords if fragment in kw and kw != fragment]
        return found

    def _scores(self, query: str) -> np.ndarray:
        """Every document's score for the query (0: no match, or too little of the query matched)."""
        base, matches, unexplained = self._query(query)
        found = [self._terms[t] for t in dict.fromkeys(base + matches) if t in self._terms]
        spans = [slice(self._ptr[t], self._ptr[t + 1]) for t in found]
        if not spans:
            return np.zeros(len(self._ids))
        docs = np.concatenate([self._docs[s] for s in spans])
        scores = np.bincount(docs, weights=np.concatenate([self._weights[s] for s in spans]), minlength=len(self._ids))
        coverage = self._coverage([self._terms[t] for t in base if t in self._terms], unexplained)
        for t in (self._terms[m] for m in matches if m in self._terms):  # a keyword match explains its fragment
            coverage[self._docs[self._ptr[t] : self._ptr[t + 1]]] = 1.0
        scores[coverage < MIN_COVERAGE] = 0.0
        return scores

    def _coverage(self, terms: list[int], unexplained: int) -> np.ndarray:
        """Per document, the idf share of the query's base words it holds (keyword matches count as held)."""
        total = float(self._idf[terms].sum()) + unexplained * self._rare_idf
        if total <= 0:
            return np.ones(len(self._ids))
        spans = [slice(self._ptr[t], self._ptr[t + 1]) for t in terms]
        if not spans:
            return np.zeros(len(self._ids))
        docs = np.concatenate([self._docs[s] for s in spans])
        held = np.concatenate([np.full(s.stop - s.start, self._idf[t]) for s, t in zip(spans, terms, strict=True)])
        return np.bincount(docs, weights=held, minlength=len(self._ids)) / total

    def search(self, query: str, limit: int = 3, offset: int = 0) -> list[Hit]:
        """The best `limit` documents after `offset`, best first; equal scores in document order."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        scores = self._scores(query)
        ranked = top(scores, hits(scores), offset + limit)[offset:]
        return [Hit(self._ids[i], float(scores[i]), self._kinds[i]) for i in ranked]

    def count(self, query: str) -> int:
        """How many documents search() can return for the query, over all pages."""
        return int(hits(self._scores(query)).size)


def fragments(words: list[str], known: dict[str, int]) -> list[str]:
    """Parts of a segmented query the index may hold only inside longer words: unknown words and
    runs of single characters ("秋白" segments as 秋 / 白)."""
    found, run = [], ""
    for word in [*words, ""]:
        if len(word) == 1 and is_term(word):
            run += word
            continue
        found += [run] if len(run) >= MIN_FRAGMENT else []
        run = ""
        found += [word] if len(word) >= MIN_FRAGMENT and is_term(word) and word not in known else []
    return found


def hits(scores: np.ndarray) -> np.ndarray:
    """Indices of the documents that are hits: a positive score, at least MIN_SHARE of the best."""
    best = scores.max(initial=0.0)
    return np.flatnonzero(scores >= best * MIN_SHARE) if best > 0 else np.empty(0, dtype=np.intp)


def top(scores: np.ndarray, matched: np.ndarray, k: int) -> list[int]:
    """The k best of the matched indices, best first, ties in index order."""
    if k <= 0 or matched.size == 0:
        return []
    values = scores[matched]
    if k < matched.size:  # the k best: all above the k-th score, then ties with it in index order
        kth = np.partition(values, values.size - k)[values.size - k]  # partition: 2x argpartition's speed
        above = np.flatnonzero(values > kth)
        keep = np.concatenate((above, np.flatnonzero(values == kth)[: k - above.size]))
        matched, values = matched[keep], values[keep]
    order = np.lexsort((matched, -values))
    return matched[order[:k]].tolist()


__all__ = ["Document", "Hit", "SearchIndex", "normalize", "nfkc", "dictionary", "DICTIONARY_LOAD"]
