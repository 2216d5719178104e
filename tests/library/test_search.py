"""Study search as a member sees it: ranking, normalisation, keywords, paging, determinism."""

from __future__ import annotations

import unicodedata
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bot.library.search import Document, Hit, SearchIndex, nfkc, normalize, top

DOCS = [
    Document(
        "xs017",
        "遵义会议",
        "1935年1月，中共中央政治局在贵州遵义召开扩大会议，确立了毛泽东在党中央和红军的领导地位。",
        ("遵义会议", "遵义", "伟大转折"),
        "episode",
    ),
    Document(
        "xs018",
        "四渡赤水",
        "遵义会议后，毛泽东指挥中央红军四渡赤水，摆脱了敌人的围追堵截。",
        ("四渡赤水", "长征"),
        "episode",
    ),
    Document(
        "xs012", "古田会议", "1929年12月，红四军第九次党代表大会在福建上杭古田召开。", ("古田会议", "古田"), "episode"
    ),
    Document(
        "xs001",
        "中国共产党第一次全国代表大会召开",
        "1921年7月，大会在上海开幕，最后一天转移到嘉兴南湖的一条游船上举行。",
        ("中共一大", "红船", "嘉兴南湖"),
        "episode",
    ),
    Document(
        "chongde-06",
        "砍头不要紧，只要主义真",
        "夏明翰就义前写下诗句；瞿秋白在福建长汀从容就义。",
        ("夏明翰", "瞿秋白"),
        "article",
    ),
    Document(
        "lixing-01",
        "學史力行：辦實事、開新局",
        "把黨史學習教育成果轉化為為群眾辦實事的實際行動。",
        ("我為群眾辦實事",),
        "article",
    ),
    Document("zengxin-09", "ZH 与 WTO", "2001年中国加入世界贸易组织（WTO）。", ("WTO", "入世"), "article"),
]
TWINS = [Document(f"twin-{i}", "南泥湾大生产运动", "自己动手，丰衣足食。", ("南泥湾",), "episode") for i in range(7)]


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(DOCS + TWINS, extra_words=["毛主席"])


def ids(hits: list[Hit]) -> list[str]:
    return [h.id for h in hits]


def test_title_match_outranks_body_mention(index: SearchIndex) -> None:
    hits = index.search("遵义会议")
    assert ids(hits)[:2] == ["xs017", "xs018"]  # xs018 only mentions it in its body
    assert hits[0].score > hits[1].score and hits[0].kind == "episode"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("遵義會議", "xs017"),
        ("遵义会议", "xs017"),
        ("ｚｈ", "zengxin-09"),
        ("ＷＴＯ", "zengxin-09"),
        ("wto", "zengxin-09"),
    ],
)
def test_traditional_full_width_and_case_find_the_same_document(index: SearchIndex, query: str, expected: str) -> None:
    assert ids(index.search(query))[0] == expected


def test_documents_matching_only_a_common_word_are_not_hits() -> None:
    meetings = [Document(f"m{i}", f"第{i}次支部会议", "支部召开会议，学习党章。") for i in range(30)]
    index = SearchIndex.build(DOCS + meetings)
    assert ids(index.search("遵义会议", limit=50)) == ["xs017", "xs018"]  # not the 31 that only say 会议
    assert index.count("遵义会议") == 2
    assert index.count("会议") == 33


def test_traditional_documents_are_found_by_simplified_queries(index: SearchIndex) -> None:
    assert ids(index.search("学史力行 办实事"))[0] == "lixing-01"


def test_keyword_match(index: SearchIndex) -> None:
    assert ids(index.search("红船")) == ["xs001"]  # only in the keywords
    assert ids(index.search("我为群众办实事"))[0] == "lixing-01"


def test_partial_name_and_colloquial_queries(index: SearchIndex) -> None:
    assert ids(index.search("秋白"))[0] == "chongde-06"  # part of the keyword 瞿秋白
    assert ids(index.search("毛主席在遵义开的会"))[0] == "xs017"


@pytest.mark.parametrize("query", ["量子火锅", "qwertyzx", "香蕉飞机"])
def test_nonsense_finds_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []
    assert index.count(query) == 0


@pytest.mark.parametrize("query", ["", "   ", "的了吗", "请问一下，有没有？", "！？。，"])
def test_empty_and_stopword_only_queries_find_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []
    assert index.count(query) == 0


def test_paging_and_count(index: SearchIndex) -> None:
    everything = index.search("南泥湾", limit=100)
    assert index.count("南泥湾") == len(everything) == 7
    pages = [index.search("南泥湾", limit=3, offset=o) for o in (0, 3, 6, 9)]
    assert [len(p) for p in pages] == [3, 3, 1, 0]
    assert sum(pages, []) == everything
    assert ids(everything) == [f"twin-{i}" for i in range(7)]  # equal scores: document order
    assert index.search("南泥湾", limit=0) == []
    with pytest.raises(ValueError):
        index.search("南泥湾", offset=-1)


def test_ranking_with_ties_equals_a_full_sort() -> None:
    scores = np.random.default_rng(7).integers(0, 5, 300).astype(np.float64)
    matched = np.flatnonzero(scores > 0)
    expected = sorted(matched.tolist(), key=lambda i: (-scores[i], i))
    for k in (1, 3, 10, 150, 400):
        assert top(scores, matched, k) == expected[:k]


def test_build_is_deterministic(index: SearchIndex) -> None:
    again = SearchIndex.build(DOCS + TWINS, extra_words=["毛主席"])
    for query in ("遵义会议", "长征 红军", "办实事", "南泥湾", "1921年"):
        assert again.search(query, limit=10) == index.search(query, limit=10)
        assert again.count(query) == index.count(query)


def test_shared_between_threads(index: SearchIndex) -> None:
    queries = ["遵义会议", "红船", "秋白", "南泥湾", "wto"] * 40
    expected = [index.search(q) for q in queries]
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(index.search, queries)) == expected


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError):
        SearchIndex.build([DOCS[0], DOCS[0]])


def test_normalize() -> None:
    assert normalize("遵義會議 ＡＢＣ　１２３") == "遵义会议 abc 123"


def test_members_names_for_people_and_events_read_as_the_contents() -> None:
    assert normalize("文革是哪年结束的") == "文化大革命是哪年结束的"
    assert normalize("日本鬼子投降那天") == "日军投降那天"  # the longest name wins, not 鬼子 inside it
    assert normalize("彭老总在朝鲜战争") == "彭德怀在抗美援朝"
    for text in ["e\u0301", "ｶﾀｶﾅ", "①…Ⅻ", "ﬁ\u3000x", "한국어", "中文，混合ＡＢ\u0301"]:
        assert nfkc(text) == unicodedata.normalize("NFKC", text)
