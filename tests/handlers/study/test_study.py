"""Study in chat through the emulator: episode notations, next episode across restarts, catalogue,
albums, search (with traditional characters), content reload and a broken file refused."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import yaml

from bot.inbound.router import Router
from bot.library.loader import CONTENT, Episode
from bot.library.store import ContentStore
from tests.helpers import make_app


@pytest.fixture
def lib(services):
    return services.content.current()


def find(lib, keyword: str) -> Episode:
    return next(e for e in lib.episodes if keyword in e.keywords or keyword in e.title)


@pytest.mark.parametrize(
    "notation", ["新声 37", "新声37", "第37集", "新声第三十七集", "37集", "新声 ３７", "新声第37集"]
)
def test_every_episode_notation(wx, user, lib, notation):
    text = wx.text(user, notation).text
    assert "第37集" in text and lib.episode(37).title in text


def test_an_episode_without_media_says_so_and_sends_no_link(wx, user, lib):
    ex = wx.text(user, "新声1")
    assert ex.reply["MsgType"] == "text" and "音频即将上线" in ex.text and "http" not in ex.text


def test_out_of_range_number_explains(wx, user, lib):
    assert f"共{len(lib.episodes)}集" in wx.text(user, "新声 101").text


def test_next_episode_survives_restart_and_redis_flush(app, wx, user, lib, redis_url, database_url, tmp_path, port):
    assert "第1集" in wx.text(user, "新声").text
    assert "第2集" in wx.text(user, "下一集").text
    assert "第37集" in wx.text(user, "新声37").text
    app.extensions["bot"].redis.flushdb()
    restarted = make_app(redis_url, database_url, tmp_path, port)  # a new process on the same stores
    assert restarted.extensions["bot"].content.current().episode(38)
    assert "第38集" in wx.text(user, "继续").text
    assert "第39集" in wx.text(user, "新声").text
    restarted.extensions["bot"].content.stop()


def test_catalogue_pages(wx, user, lib):
    first = wx.text(user, "新声目录").text
    assert "第1/10页" in first and lib.episode(1).title in first and lib.episode(11).title not in first
    second = wx.text(user, "下一页").text
    assert "第2/10页" in second and lib.episode(11).title in second
    assert "第1/10页" in wx.text(user, "上一页").text


def test_albums_list_page_and_article(wx, user, lib):
    listing = wx.click(user, "STUDY_ALBUMS").text
    for album in lib.albums:
        assert album.title in listing
    album = lib.albums[0]
    page = wx.text(user, "1").text
    assert album.title in page and album.articles[0].title in page
    if len(album.articles) > 10:
        assert album.articles[10].title in wx.text(user, "下一页").text
    article = wx.text(user, "2").text
    assert album.articles[1].title in article


def test_search_finds_the_zunyi_meeting_also_in_traditional_characters(wx, user, lib):
    zunyi = find(lib, "遵义会议")
    for query in ("遵义会议", "遵義會議", "遵义　会议"):
        text = wx.text(user, query).text
        first_line = text.splitlines()[1]
        assert zunyi.title in first_line, (query, text)
        wx.text(user, "取消")


def test_search_more_and_open_a_result(wx, user, lib):
    text = wx.text(user, "长征").text
    assert "1." in text and "回复序号查看" in text
    if "更多" in text:
        assert "4." in wx.text(user, "更多").text
    opened = wx.text(user, "1").text
    assert "长征" in opened


def test_a_miss_suggests_the_menu(wx, user):
    text = wx.text(user, "量子计算机芯片制程").text
    assert "没有找到" in text and "菜单" in text


def test_search_never_swallows_another_features_dialog(app, wx, user, services):
    demo = Router("demo")

    @demo.state("quiz")
    def answering(msg, ctx):
        return "答题中：请回答A/B/C/D"

    services.dispatcher.routers.insert(1, demo)
    services.dialogs.update(user, "quiz:answering")
    assert wx.text(user, "遵义会议").text == "答题中：请回答A/B/C/D"
    services.dispatcher.routers.remove(demo)
    services.dialogs.update(user, "tickets:describe")  # a dialog whose feature is not loaded here
    assert "没能理解" in wx.text(user, "遵义会议").text


@pytest.fixture
def content_copy(tmp_path: Path, services) -> Path:
    """A private copy of content/ that the app serves, so tests can edit it."""
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    services.content.stop()
    services.content = ContentStore(services.redis, root=root, poll=0.2)
    services.content.current()
    return root


def edit_episodes(root: Path, change) -> None:
    path = root / "xinsheng" / "episodes.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_reload_while_serving(wx, user, services, content_copy, runner):
    errors: list[str] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            reply = wx.text(user, "新声2").reply or {}
            shown = reply.get("Content") or str(reply.get("Articles"))  # text before, a news card after
            if "第2集" not in shown:
                errors.append(shown)

    worker = threading.Thread(target=keep_asking)
    worker.start()
    edit_episodes(content_copy, lambda eps: eps[1].update(title="改过的第二集标题", media="https://example.invalid/2"))
    assert services.content.reload() == []
    stop.set()
    worker.join()
    assert errors == []
    ex = wx.text(user, "新声2")
    assert ex.reply["MsgType"] == "news" and "改过的第二集标题" in ex.reply["Articles"]["item"]["Title"]


def test_a_broken_file_is_refused_with_file_line_and_id_and_old_content_keeps_serving(wx, user, services, content_copy):
    old_title = services.content.current().episode(3).title
    edit_episodes(content_copy, lambda eps: eps[3].update(id=eps[2]["id"]))
    problems = services.content.reload()
    assert problems and problems[0].file == "content/xinsheng/episodes.yaml"
    assert problems[0].line > 1 and problems[0].item == "xs003" and "duplicate id" in problems[0].message
    assert old_title in wx.text(user, "新声3").text


def test_check_content_command(runner, services, content_copy):
    good = runner.invoke(args=["check-content"])
    assert good.exit_code == 0 and "content ok" in good.output
    edit_episodes(content_copy, lambda eps: eps[5].pop("summary"))
    bad = runner.invoke(args=["check-content"])
    assert bad.exit_code != 0
    assert "content/xinsheng/episodes.yaml:" in bad.output and "xs006" in bad.output and "summary" in bad.output


def test_check_content_checks_the_curated_questions(runner, services, content_copy):
    def bad_asks(eps):
        eps[1]["asks"] = "不是列表"
        eps[2]["asks"] = ["问", "二大通过的党章是第几部"]
        eps[3]["asks"] = ["包产到户最早是哪里搞的"]  # xs063, further down, asks it too

    edit_episodes(content_copy, bad_asks)
    out = runner.invoke(args=["check-content"]).output
    assert "content/xinsheng/episodes.yaml:" in out
    assert "xs002: 'asks' must be a list" in out
    assert "xs003: ask '问' has 1 characters" in out
    assert "xs063: duplicate ask '包产到户最早是哪里搞的' (first at content/xinsheng/episodes.yaml:" in out
    assert out.split("xs063: duplicate ask")[1].split("\n")[0].endswith("xs004)")
    assert "is not an episode or album article" not in out  # quiz questions citing those items are not blamed


def test_other_processes_pick_up_a_reload(services, content_copy):
    other = ContentStore(services.redis, root=content_copy, poll=0.1)
    other.current()
    edit_episodes(content_copy, lambda eps: eps[0].update(title="新的第一集"))
    services.content.reload()
    import time

    deadline = time.monotonic() + 3
    while other.current().episode(1).title != "新的第一集" and time.monotonic() < deadline:
        time.sleep(0.05)
    other.stop()
    assert other.current().episode(1).title == "新的第一集"
