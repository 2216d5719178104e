"""Study content: load and validate content/ (新声 episodes, albums) into an immutable Library."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.config import ROOT
from bot.library.checks import Checker, Problem, read_yaml

CONTENT = ROOT / "content"  # where the data files live
EPISODES = Path("xinsheng/episodes.yaml")  # the serial, relative to the content folder
ALBUMS = ("mingli", "zengxin", "chongde", "lixing", "liuzhong")  # album files in menu order
SUMMARY_LIMITS = (100, 300)  # characters in an episode summary


class ContentInvalid(Exception):
    """Raised with every problem found; the old content keeps serving."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True)
class Episode:
    id: str
    number: int
    title: str
    year: int
    summary: str
    keywords: tuple[str, ...]
    media: str | None
    source: str
    asks: tuple[str, ...] = ()  # curated ways members ask what this episode answers (searched, never shown)

    @property
    def media_url(self) -> str | None:
        """The article/audio URL, when media is a link (else it is a WeChat media id or nothing)."""
        return self.media if self.media and self.media.startswith(("http://", "https://")) else None


@dataclass(frozen=True)
class Article:
    id: str
    album: str
    title: str
    summary: str
    body: str
    url: str | None
    keywords: tuple[str, ...]
    source: str
    episodes: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()  # curated ways members ask what this article answers (searched, never shown)


@dataclass(frozen=True)
class Album:
    id: str
    title: str
    description: str
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class Library:
    """Everything loaded from content/, plus the search index over it; never mutated after build."""

    episodes: tuple[Episode, ...]
    albums: tuple[Album, ...]
    by_id: dict[str, Episode | Article] = field(default_factory=dict)
    index: Any = None  # bot.library.search.SearchIndex
    questions: dict[str, Any] = field(default_factory=dict)  # id -> bot.library.questions.Question

    def episode(self, number: int) -> Episode | None:
        return self.episodes[number - 1] if 1 <= number <= len(self.episodes) else None

    def album(self, album_id: str) -> Album | None:
        return next((a for a in self.albums if a.id == album_id), None)


def load_episodes(root: Path, problems: list[Problem], ids: dict[str, int], asked: dict[str, str]) -> list[Episode]:
    """The serial, checked: ids and titles unique, numbers 1..N in order, summary length."""
    data = read_yaml(root / EPISODES, root, problems)
    check = Checker(f"content/{EPISODES}", problems)
    if data is None:
        return []
    if not isinstance(data, list):
        check.fail(None, "expected a list of episodes")
        return []
    titles: dict[str, int] = {}
    return [ep for n, item in enumerate(data, 1) if (ep := episode(item, n, check, ids, titles, asked))]


def episode(
    item: Any, expected: int, check: Checker, ids: dict[str, int], titles: dict[str, int], asked: dict[str, str]
) -> Episode | None:
    """One episode from its mapping, or None after recording its problems."""
    if not isinstance(item, dict):
        check.fail(None, f"episode {expected}: expected a mapping")
        return None
    before = len(check.problems)
    ep_id, title, summary = check.text(item, "id"), check.text(item, "title"), check.text(item, "summary")
    number, year = item.get("number"), item.get("year")
    if number != expected:
        check.fail(item, f"number {number!r} out of order: expected {expected}")
    if not isinstance(year, int):
        check.fail(item, f"year must be an integer, got {year!r}")
    if summary and not SUMMARY_LIMITS[0] <= len(summary) <= SUMMARY_LIMITS[1]:
        check.fail(item, f"summary has {len(summary)} characters, expected {SUMMARY_LIMITS[0]}-{SUMMARY_LIMITS[1]}")
    check.unique(item, ids, ep_id, "id")
    check.unique(item, titles, title, "title")
    media, source, keywords = item.get("media"), check.text(item, "source"), check.words(item, "keywords")
    asks = check.asks(item, asked)
    if len(check.problems) > before:
        return None
    return Episode(ep_id, expected, title, year, summary, keywords, str(media).strip() if media else None, source, asks)


def load_album(
    root: Path, album_id: str, problems: list[Problem], ids: dict[str, int], asked: dict[str, str]
) -> Album | None:
    """One album file, checked: its id matches the file, article ids unique across albums."""
    rel = Path("albums") / f"{album_id}.yaml"
    data = read_yaml(root / rel, root, problems)
    check = Checker(f"content/{rel}", problems)
    if data is None:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
        check.fail(data if isinstance(data, dict) else None, "expected a mapping with an 'articles' list")
        return None
    if data.get("id") != album_id:
        check.fail(data, f"album id {data.get('id')!r} does not match the file name '{album_id}'")
    articles = [a for item in data["articles"] if (a := article(item, album_id, check, ids, asked))]
    return Album(album_id, check.text(data, "title"), check.text(data, "description", False), tuple(articles))


def article(item: Any, album_id: str, check: Checker, ids: dict[str, int], asked: dict[str, str]) -> Article | None:
    """One album article, or None after recording its problems."""
    if not isinstance(item, dict):
        check.fail(None, "article: expected a mapping")
        return None
    before = len(check.problems)
    art_id, title, summary = check.text(item, "id"), check.text(item, "title"), check.text(item, "summary")
    body, url = check.text(item, "body", False), check.text(item, "url", False) or None
    if not body and not url:
        check.fail(item, "needs a body or a url")
    check.unique(item, ids, art_id, "id")
    source, keywords, episodes = (
        check.text(item, "source"),
        check.words(item, "keywords"),
        check.words(item, "episodes"),
    )
    asks = check.asks(item, asked)
    if len(check.problems) > before:
        return None
    return Article(art_id, album_id, title, summary, body, url, keywords, source, episodes, asks)


def dangling(library: Library, problems: list[Problem]) -> None:
    """Album articles that cite an episode id which does not exist."""
    for album in library.albums:
        for art in album.articles:
            for ref in art.episodes:
                if not isinstance(library.by_id.get(ref), Episode):
                    problems.append(
                        Problem(f"content/albums/{album.id}.yaml", 0, art.id, f"refers to unknown episode '{ref}'")
                    )


def load_library(root: Path = CONTENT, with_index: bool = True) -> Library:
    """Read and check everything (episodes, albums, quiz bank); raise ContentInvalid listing every problem."""
    from bot.library.questions import load_questions

    problems: list[Problem] = []
    ids: dict[str, int] = {}
    asked: dict[str, str] = {}  # every ask, normalised, and where it first appears: one question, one item
    episodes = load_episodes(root, problems, ids, asked)
    albums = [a for name in ALBUMS if (a := load_album(root, name, problems, ids, asked))]
    by_id: dict[str, Episode | Article] = {e.id: e for e in episodes}
    by_id.update({a.id: a for album in albums for a in album.articles})
    library = Library(tuple(episodes), tuple(albums), by_id)
    dangling(library, problems)
    questions = load_questions(root, problems, set(ids))  # an item with problems is reported once, not per quiz source
    if problems:
        raise ContentInvalid(problems)
    index = build_index(library) if with_index else None
    return Library(library.episodes, library.albums, by_id, index, questions)


def documents(library: Library) -> Iterable[Any]:
    """The search documents: every episode and album article."""
    from bot.library.search import Document

    for ep in library.episodes:
        body = " ".join([f"{ep.year}年 {ep.summary}", *ep.asks])
        yield Document(ep.id, f"新声第{ep.number}集 {ep.title}", body, ep.keywords, "episode")
    for album in library.albums:
        for art in album.articles:
            yield Document(art.id, art.title, " ".join([art.summary, art.body, *art.asks]), art.keywords, "article")


def build_index(library: Library) -> Any:
    """The search index over the library, with every keyword kept whole by the segmenter."""
    from bot.library.search import SearchIndex

    words = {w for doc in library.by_id.values() for w in doc.keywords}
    return SearchIndex.build(documents(library), extra_words=words)
