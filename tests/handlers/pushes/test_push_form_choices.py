"""The push form offers its choices: tags, the organisation tree, 片区 and categories with their sizes, episodes and
articles by title (nothing typed as an id); a scoped account is offered its subtree only; in Chromium the editor
picks an organisation and sees its size before saving."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.core.accounts import ConsoleTag
from bot.core.database import utcnow
from handlers.pushes.models import Push
from handlers.quiz.points import TZ
from tests.browser_helpers import LAPTOP, WAIT, expect
from tests.console.screen_helpers import Screen
from tests.handlers.pushes.aud_helpers import follower, park, scoped
from tests.handlers.pushes.console_push_helpers import create, only_push


def options(page: str, select_id: str) -> list[str]:
    """The option labels of one select on the page (whitespace kept)."""
    block = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', page, re.S)
    assert block, select_id
    return [re.sub(r"<[^>]+>", "", o) for o in re.findall(r"<option[^>]*>(.*?)</option>", block.group(1), re.S)]


def test_the_form_lists_audiences_with_sizes(editor: Any, services: Any):
    park(services)
    with services.sessions() as db:
        db.add(ConsoleTag(id=101, name="青年党员"))
        follower(db, "o_tagged_1", tags=[101])
        follower(db, "o_tagged_2", tags=[7, 101])
        follower(db, "o_tagged_gone", subscribed=False, tags=[101])
        db.commit()
    page = editor.get("/console/pushes/new").get_data(as_text=True)
    assert options(page, "audience_tag")[1:] == ["青年党员 · 2 人"]
    orgs = options(page, "audience_org")
    assert orgs[0] == "（全园区）"
    assert orgs[1] == "测试园区党工委（T0）· 7 人"
    assert "　　测试甲公司党委（T11）· 5 人" in orgs  # indented under its 片区党委
    assert "　　　　测试甲公司第一党小组（T1111）· 1 人" in orgs
    assert orgs.index("　测试第一片区党委（T1）· 5 人") < orgs.index("　　测试甲公司党委（T11）· 5 人")
    districts = options(page, "audience_district")
    assert "第一片区 · 5 人" in districts and "第二片区 · 2 人" in districts and "第十片区 · 0 人" in districts
    assert options(page, "audience_category")[1:] == [
        "正式党员 · 4 人",
        "预备党员 · 1 人",
        "发展对象 · 1 人",
        "入党积极分子 · 1 人",
    ]
    assert 'name="audience_ref"' not in page and 'name="content_ref"' not in page  # nothing typed as an id


def test_the_form_lists_episodes_and_articles_by_title(editor: Any, services: Any):
    library = services.content.current()
    page = editor.get("/console/pushes/new").get_data(as_text=True)
    first = library.episodes[0]
    assert f"新声第1集《{first.title}》" in options(page, "episode")
    album = library.albums[0]
    assert f"{album.title} — {album.articles[0].title}" in options(page, "article")
    res = create(editor, content_kind="article", article=album.articles[0].id)
    assert res.status_code == 302 and only_push(services).content_ref == album.articles[0].id
    detail = editor.get(f"/console/pushes/{only_push(services).id}").get_data(as_text=True)
    assert f"《{album.articles[0].title}》" in detail


def test_an_episode_is_picked_and_shown_again_on_edit(editor: Any, services: Any):
    library = services.content.current()
    res = create(editor, content_kind="episode", episode="3", audience_kind="category", audience_category="预备党员")
    assert res.status_code == 302
    push = only_push(services)
    assert (push.content_ref, push.audience_ref) == ("3", "预备党员")
    page = editor.get(f"/console/pushes/{push.id}/edit").get_data(as_text=True)
    assert re.search(r'<option selected value="3">新声第3集', page) or re.search(r'<option value="3" selected', page)
    assert f"新声第3集《{library.episode(3).title}》" in editor.get(f"/console/pushes/{push.id}").get_data(as_text=True)


def test_a_scoped_account_is_offered_its_subtree_only(app: Any, make_account: Any, services: Any):
    p = park(services)
    sec = scoped(app, make_account, services, "zhao", p.orgs["a"])
    page = sec.get("/console/pushes/new").get_data(as_text=True)
    assert options(page, "audience_org") == [
        "（请选择）",
        "测试甲公司党委（T11）· 5 人",
        "　测试甲公司第一党支部（T111）· 4 人",
        "　　测试甲公司第一党小组（T1111）· 1 人",
        "　测试甲公司第二党支部（T112）· 1 人",
    ]
    kinds = options(page, "audience_kind")
    assert len(kinds) == 3 and not any("全部粉丝" in k or "标签" in k or "片区" in k for k in kinds)
    assert options(page, "audience_tag") == ["（请选择）"] and options(page, "audience_district") == ["（请选择）"]
    assert options(page, "audience_category")[1] == "正式党员 · 3 人"  # its subtree's
    assert "你只能向「测试甲公司党委」" in page


def test_pick_an_organisation_and_see_its_size(browser: Any, live: str, make_account: Any, services: Any):
    park(services)
    make_account("wang", "editor")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("wang")
    page.goto(f"{live}/console/pushes/new")
    page.fill("#title", "甲公司党委学习通知")
    page.fill("#body", "今晚八点学习。")
    page.select_option("#channel", "custom")
    expect(page.locator("#audience_org")).to_be_hidden()
    page.select_option("#audience_kind", "organisation")
    expect(page.locator("#audience_org")).to_be_visible()
    page.fill("#org-filter", "甲公司")
    expect(page.locator("#audience_org option:not([hidden])")).to_have_count(5)  # 请选择 + 4 of 甲公司
    page.select_option("#audience_org", "T11")
    expect(page.locator("#audience-size")).to_have_text("受众人数：5 人（仍关注 4 人）", timeout=WAIT)
    page.select_option("#audience_kind", "secretaries")
    expect(page.locator("#audience-size")).to_have_text(
        "受众人数：2 人（仍关注 2 人）", timeout=WAIT
    )  # 书记 of T111, 副书记 of T112
    page.select_option("#audience_kind", "organisation")
    page.select_option("#audience_org", "T111")
    expect(page.locator("#audience-size")).to_contain_text("4 人", timeout=WAIT)
    day = (utcnow().astimezone(TZ) + timedelta(days=1)).date()
    page.fill("#run_at", f"{day.isoformat()}T12:00")
    page.click("#save-push")
    expect(page.locator(".flash-success")).to_contain_text("已保存并排期", timeout=WAIT)
    expect(page.locator("#push-size")).to_contain_text("4", timeout=WAIT)
    screen.shot("/tmp/console-push-audience.png")
    with services.sessions() as db:
        push = db.scalars(select(Push)).one()
    assert (push.audience_kind, push.audience_ref) == ("organisation", "T111")
    screen.close()


def test_a_dissolved_organisation_is_not_offered_but_its_members_still_count(editor: Any, services: Any):
    """As in the audience (a subtree is a path prefix, dissolved organisations included)."""
    p = park(services)
    with services.sessions() as db:
        db.get(type(p.orgs["g"]), p.orgs["g"].id).dissolved_at = utcnow()
        db.commit()
    orgs = options(editor.get("/console/pushes/new").get_data(as_text=True), "audience_org")
    assert not any("T1111" in o for o in orgs) and "　　　测试甲公司第一党支部（T111）· 4 人" in orgs
    size = editor.get("/console/pushes/audience-size", query_string={"kind": "organisation", "ref": "T111"})
    assert size.get_json()["size"] == 4


def test_the_form_with_the_tree_fits_a_phone(browser: Any, live: str, make_account: Any, services: Any):
    from tests.browser_helpers import PHONE
    from tests.org_helpers import add_org

    p = park(services)
    with services.sessions() as db:
        add_org(
            db,
            "T1121",
            "测试甲公司第二党支部第一党小组（研发中心、生产制造部及华东区域销售服务中心联合）",
            "党小组",
            p.orgs["a2"],
        )
        db.commit()
    make_account("wang", "editor")
    screen = Screen(browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = screen.login("wang")
    page.goto(f"{live}/console/pushes/new")
    page.select_option("#audience_kind", "category")
    page.select_option("#audience_category", "正式党员")
    expect(page.locator("#audience-size")).to_have_text("受众人数：4 人（仍关注 3 人）", timeout=WAIT)
    page.select_option("#audience_org", "T1121")
    expect(page.locator("#audience-size")).to_have_text("受众人数：0 人（仍关注 0 人）", timeout=WAIT)
    screen.shot("/tmp/console-push-audience-phone.png")
    screen.close()
