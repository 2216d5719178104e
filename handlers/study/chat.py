"""Study materials in chat: 新声 episodes by number, next episode, catalogue, albums, and questions in free text."""

from __future__ import annotations

from bot.core.studying import record_study
from bot.inbound.context import Context
from bot.inbound.message import Article as NewsItem, Message, NewsReply, Reply, TextReply
from bot.inbound.router import Router, regex, state_is
from bot.library import answer
from bot.library.loader import Album, Article, Episode, Library
from bot.library.progress import heard, next_episode, record_view

router = Router("study")
PAGE = 10  # lines per page in catalogues and lists
RESULTS = 3  # search hits shown at a time
MAX_HITS = 30  # search hits kept for "更多"
NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
EPISODE_RE = (
    r"^(?:新声第?(?P<a>[0-9]+|[零〇一二两三四五六七八九十百]+)集?|第?(?P<b>[0-9]+|[零〇一二两三四五六七八九十百]+)集)$"
)
NO_AUDIO = "音频即将上线"  # said for an episode whose media editors have not filled in yet


def chinese_number(text: str) -> int | None:
    """37, 三十七, 一百, 十二 → int; None if it is not a number."""
    if text.isdigit():
        return int(text)
    total, current = 0, 0
    for ch in text:
        if ch in NUMERALS:
            current = NUMERALS[ch]
        elif ch in "十百":
            total += (current or 1) * (10 if ch == "十" else 100)
            current = 0
        else:
            return None
    return total + current


def library(ctx: Context) -> Library:
    return ctx.services.content.current()


def episode_reply(ep: Episode, ctx: Context, total: int) -> Reply:
    """An episode as a news card when it has a link, else as text saying the audio is coming."""
    record_view(ctx.db, ctx.openid, ep.number)
    record_study(ctx.db, ctx.openid, cache=ctx.services.redis)
    title = f"新声·第{ep.number}集｜{ep.title}"
    if ep.media_url:
        return NewsReply([NewsItem(title, f"{ep.year}年 · {ep.summary}", ep.media_url)])
    if ep.media:  # a WeChat media id: the voice follows as a customer-service message
        ctx.services.pool.submit(
            ctx.outbox.send_custom, ctx.openid, {"msgtype": "voice", "voice": {"media_id": ep.media}}
        )
    note = "" if ep.media else f"\n\n（{NO_AUDIO}）"
    more = "回复「下一集」继续" if ep.number < total else "这是最后一集"
    return TextReply(f"【{title}】{ep.year}年\n{ep.summary}{note}\n\n{more}，回复「新声目录」查看全部。")


@router.on(regex(EPISODE_RE))
def by_number(msg: Message, ctx: Context) -> Reply | str:
    lib = library(ctx)
    n = chinese_number(ctx.match.get("a") or ctx.match.get("b") or "")
    ep = lib.episode(n) if n else None
    if ep is None:
        return (
            f"「新声·党的百年百事」共{len(lib.episodes)}集，请回复 1 到 {len(lib.episodes)} 之间的集数，如「新声37」。"
        )
    if ctx.dialog.in_state("study"):
        ctx.dialog.clear()
    return episode_reply(ep, ctx, len(lib.episodes))


@router.text("新声", "继续", "下一集", "继续收听")
@router.click("STUDY_XINSHENG")
def next_one(msg: Message, ctx: Context) -> Reply | str:
    lib = library(ctx)
    if not lib.episodes:
        return "学习内容暂时无法提供，请稍后再试。"
    n = next_episode(ctx.db, ctx.openid, len(lib.episodes))
    if n is None:
        return f"您已听完「新声·党的百年百事」全部{len(lib.episodes)}集，了不起！回复「新声目录」可重温任意一集。"
    return episode_reply(lib.episodes[n - 1], ctx, len(lib.episodes))


def catalog_page(ctx: Context, page: int) -> str:
    lib = library(ctx)
    pages = max(1, -(-len(lib.episodes) // PAGE))
    page = min(max(page, 1), pages)
    done = heard(ctx.db, ctx.openid)
    lines = [
        f"{'✓' if e.number in done else '·'} {e.number}. {e.title}（{e.year}）"
        for e in lib.episodes[(page - 1) * PAGE : page * PAGE]
    ]
    ctx.dialog.set("study:catalog", page=page, pages=pages)
    return "\n".join(
        [
            f"【新声·党的百年百事】目录 第{page}/{pages}页",
            *lines,
            "",
            nav_hint(page, pages),
            "回复集数（如「新声37」）收听。",
        ]
    )


def nav_hint(page: int, pages: int) -> str:
    hints = (["「上一页」"] if page > 1 else []) + (["「下一页」"] if page < pages else [])
    return f"回复{'或'.join(hints)}翻页；" if hints else ""


@router.text("新声目录", "目录")
def catalog(msg: Message, ctx: Context) -> str:
    return catalog_page(ctx, 1)


@router.text("下一页", "上一页", state="study:catalog")
def catalog_turn(msg: Message, ctx: Context) -> str:
    step = 1 if ctx.norm_text == "下一页" else -1
    return catalog_page(ctx, int(ctx.dialog.data.get("page", 1)) + step)


# Albums ------------------------------------------------------------------------------------------
@router.text("学习专辑", "专辑", "学习资料")
@router.click("STUDY_ALBUMS")
def albums(msg: Message, ctx: Context) -> str:
    lib = library(ctx)
    if not lib.albums:
        return "学习专辑暂时无法提供，请稍后再试。"
    ctx.dialog.set("study:albums")
    lines = [f"{i}. {a.title}（{len(a.articles)}篇）" for i, a in enumerate(lib.albums, 1)]
    return "\n".join(["【学习专辑】", *lines, "", "回复序号打开专辑。"])


def album_page(ctx: Context, album: Album, page: int) -> str:
    pages = max(1, -(-len(album.articles) // PAGE))
    page = min(max(page, 1), pages)
    start = (page - 1) * PAGE
    lines = [f"{start + i}. {a.title}" for i, a in enumerate(album.articles[start : start + PAGE], 1)]
    ctx.dialog.set("study:album", album=album.id, page=page, pages=pages)
    head = f"【{album.title}】第{page}/{pages}页" + (
        f"\n{album.description}" if album.description and page == 1 else ""
    )
    return "\n".join([head, *lines, "", nav_hint(page, pages) + "回复序号阅读文章；回复「专辑」返回专辑列表。"])


@router.on(state_is("study:albums"), regex(r"^(?P<n>\d+)$"))
def open_album(msg: Message, ctx: Context) -> str:
    lib = library(ctx)
    n = int(ctx.match["n"])
    if not 1 <= n <= len(lib.albums):
        return f"请回复 1 到 {len(lib.albums)} 之间的序号。"
    return album_page(ctx, lib.albums[n - 1], 1)


@router.text("下一页", "上一页", state="study:album")
def album_turn(msg: Message, ctx: Context) -> str:
    album = library(ctx).album(ctx.dialog.data.get("album", ""))
    if album is None:
        return albums(msg, ctx)
    step = 1 if ctx.norm_text == "下一页" else -1
    return album_page(ctx, album, int(ctx.dialog.data.get("page", 1)) + step)


@router.on(state_is("study:album"), regex(r"^(?P<n>\d+)$"))
def open_article(msg: Message, ctx: Context) -> Reply | str:
    album = library(ctx).album(ctx.dialog.data.get("album", ""))
    n = int(ctx.match["n"])
    if album is None or not 1 <= n <= len(album.articles):
        return f"请回复 1 到 {len(album.articles) if album else 0} 之间的序号。"
    return article_reply(album.articles[n - 1], ctx)


def article_reply(art: Article, ctx: Context) -> Reply | str:
    """An article as a news card when it has a URL, else its text (a long one in pages: bot.inbound.paging)."""
    record_study(ctx.db, ctx.openid, cache=ctx.services.redis)
    if art.url:
        return NewsReply([NewsItem(art.title, art.summary, art.url)])
    return f"【{art.title}】\n{art.body}\n\n来源：{art.source}"


# Search ------------------------------------------------------------------------------------------
def searchable(msg: Message, ctx: Context) -> bool:
    """Free text when no other feature's dialog is running (study dialogs may be interrupted)."""
    return msg.type == "text" and bool(msg.text) and (ctx.dialog.state is None or ctx.dialog.in_state("study"))


def label(item: Episode | Article, lib: Library) -> str:
    if isinstance(item, Episode):
        return f"【新声第{item.number}集】{item.title}（{item.year}）"
    album = lib.album(item.album)
    return f"【{album.title if album else '学习专辑'}】{item.title}"


def numbered(lib: Library, ids: list[str], first: int) -> list[str]:
    """Result lines numbered from `first`, as 「1」「2」… open them."""
    return [f"{n}. {label(lib.by_id[x], lib)}" for n, x in enumerate(ids, first) if x in lib.by_id]


def remember(ctx: Context, ids: list[str], query: str, start: int) -> str:
    """Keep the results in the dialog (numbers and 「更多」 read them); the page's closing line."""
    ctx.dialog.set("study:results", ids=ids, start=start, query=query)
    more = "回复「更多」查看更多结果；" if start + RESULTS < len(ids) else ""
    return f"回复序号查看；{more}回复「取消」结束搜索。"


def results_page(ctx: Context, lib: Library, ids: list[str], query: str, start: int) -> str:
    lines = numbered(lib, ids[start : start + RESULTS], start + 1)
    return "\n".join([f"为您找到 {len(ids)} 条与「{query}」相关的内容：", *lines, "", remember(ctx, ids, query, start)])


@router.text("更多", state="study:results")
def more_results(msg: Message, ctx: Context) -> str:
    data = ctx.dialog.data
    start = int(data.get("start", 0)) + RESULTS
    if start >= len(data.get("ids", [])):
        return "没有更多结果了。回复序号查看，或换个关键词试试。"
    return results_page(ctx, library(ctx), list(data["ids"]), str(data.get("query", "")), start)


@router.on(state_is("study:results"), regex(r"^(?P<n>\d+)$"))
def open_result(msg: Message, ctx: Context) -> Reply | str:
    lib, ids = library(ctx), list(ctx.dialog.data.get("ids", []))
    n = int(ctx.match["n"])
    if not 1 <= n <= len(ids) or ids[n - 1] not in lib.by_id:
        return f"请回复 1 到 {len(ids)} 之间的序号。"
    item = lib.by_id[ids[n - 1]]
    return episode_reply(item, ctx, len(lib.episodes)) if isinstance(item, Episode) else article_reply(item, ctx)


def answer_page(ctx: Context, lib: Library, found: answer.Answer, query: str) -> str:
    """A confident answer: the quoted sentence(s) and their source, ready to open with 「1」, then the other
    top items numbered as in a results page."""
    others = numbered(lib, found.ids[1:RESULTS], 2)
    return "\n".join(
        [
            f"「{found.quote}」",
            f"——出自{label(lib.by_id[found.ids[0]], lib)}，回复「1」查看全文。",
            *(["", "其他相关内容：", *others] if others else []),
            "",
            remember(ctx, found.ids, query, 0),
        ]
    )


@router.on(searchable)
def search(msg: Message, ctx: Context) -> str:
    """Any other text is a question: a quoted answer when the content answers it with confidence, else the
    best items, else the menu."""
    lib = library(ctx)
    query = msg.text[:50]
    found = answer.shared().ask(lib, query, limit=MAX_HITS) if lib.index is not None else answer.Answer([])
    if not found.ids:
        if ctx.dialog.in_state("study"):
            ctx.dialog.clear()
        return (
            f"没有找到与「{query}」相关的学习内容。\n试试：\n· 点击菜单「学习」\n· 回复「新声目录」浏览全部100集"
            "\n· 回复「学习专辑」\n· 回复「帮助」查看全部功能"
        )
    if found.confident:  # a confident answer always has a quote, from this library's first item
        return answer_page(ctx, lib, found, query)
    return results_page(ctx, lib, found.ids, query, 0)
