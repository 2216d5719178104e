"""The committee's 三会一课 page: roles and scope, figures month by month by organisation, guidance group and 片区,
the notices list, the cached grid, the audited Excel export and the page in a browser."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.core.accounts import AuditEntry
from bot.core.organisations import GuidanceGroup, Organisation
from tests.browser_helpers import LAPTOP, expect
from tests.console.screen_helpers import Screen
from tests.handlers.orglife.comp_helpers import cn, meeting, old_tree
from tests.handlers.orgs.fig_helpers import scoped_account, signed_in

ONE_KIND = {"kinds": [{"key": "zhiwei_hui", "name": "支部委员会", "period": "monthly", "applies_to": ["党支部"]}]}
URL = "/console/meetings/compliance/"


@pytest.fixture
def tree(services):
    """Last year (all twelve months over): a1 held every month, a2 January on time and February late, b nothing."""
    with services.sessions() as db:
        tree = old_tree(db)
        group = GuidanceGroup(name="测试第一指导小组")
        db.add(group)
        db.flush()
        db.get(Organisation, tree["a2"]).guidance_group_id = group.id
        db.commit()
        for month in range(1, 13):
            meeting(db, tree["a1"], "zhiwei_hui", cn(2025, month, 5))
        meeting(db, tree["a2"], "zhiwei_hui", cn(2025, 1, 5))
        meeting(db, tree["a2"], "zhiwei_hui", cn(2025, 2, 5), recorded=cn(2025, 3, 3))
    return tree


@pytest.mark.config(orglife=ONE_KIND)
def test_an_editor_sees_the_park_by_organisation_group_and_district(app, tree, make_account):
    make_account("bianji", "editor")
    client = signed_in(app, "bianji")
    page = client.get(URL + "?year=2025").get_data(as_text=True)
    assert "三会一课完成情况" in page and "2025年" in page
    assert "36" in page  # 3 branches × 12 months required
    assert "37.5%" in page  # (13 on time + 1 late / 2) / 36
    by_org = client.get(URL + "?year=2025&view=org").get_data(as_text=True)
    assert (
        by_org.index("测试乙公司党支部") < by_org.index("测试甲公司第二党支部") < by_org.index("测试甲公司第一党支部")
    )
    groups = client.get(URL + "?year=2025&view=group").get_data(as_text=True)
    assert "测试第一指导小组" in groups and "（未划入指导小组）" in groups
    districts = client.get(URL + "?year=2025&view=district").get_data(as_text=True)
    assert "第一片区" in districts and "第二片区" in districts
    assert "<svg" in page and "1月：按时 2，补录 0，未开展 1" in page


@pytest.mark.config(orglife=ONE_KIND)
def test_roles_and_scope(app, services, tree, make_account):
    for name, role in (("kefu", "caseworker"), ("tuisong", "pusher")):
        make_account(name, role)
        assert signed_in(app, name).get(URL).status_code == 403
    with services.sessions() as db:
        scoped_account(services, "shuji", db.get(Organisation, tree["a2"]))
        scoped_account(services, "zhidao", db.get(Organisation, tree["d2"]), "instructor")
    mine = signed_in(app, "shuji").get(URL + "?year=2025").get_data(as_text=True)
    assert "测试甲公司第二党支部" in mine and "测试甲公司第一党支部" not in mine and "测试乙公司党支部" not in mine
    theirs = signed_in(app, "zhidao").get(URL + "?year=2025").get_data(as_text=True)
    assert "测试乙公司党支部" in theirs and "测试甲公司" not in theirs


@pytest.mark.config(orglife=ONE_KIND)
def test_the_export_holds_the_grid_and_is_audited(app, services, tree):
    with services.sessions() as db:
        scoped_account(services, "zhidao", db.get(Organisation, tree["d1"]), "instructor")
    res = signed_in(app, "zhidao").get(URL + "export.xlsx?year=2025")
    assert res.status_code == 200 and res.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(res.data))
    rows = list(book["按组织"].iter_rows(values_only=True))
    assert rows[0][:8] == ("组织编码", "组织名称", "应开展", "按时", "补录", "未开展", "进行中", "完成率")
    assert rows[1][:8] == ("T112", "测试甲公司第二党支部", 12, 1, 1, 10, 0, 0.125)
    assert rows[1][8:11] == ("1/0/0", "0/1/0", "0/0/1")
    assert rows[2][:8] == ("T111", "测试甲公司第一党支部", 12, 12, 0, 0, 0, 1)
    assert [r[0] for r in book["按片区"].iter_rows(values_only=True)][1:] == ["第一片区"]
    assert list(book["按会议类型"].iter_rows(values_only=True))[1][:5] == ("支部委员会", 24, 13, 1, 10)
    with services.sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "meetings.compliance_export")).one()
    assert entry.actor == "zhidao" and entry.details == {"year": 2025, "scope": "T1 测试第一片区党委", "rows": 5}


@pytest.mark.config(orglife=ONE_KIND)
def test_the_page_in_a_browser(browser, live, tree, make_account):
    make_account("bianji", "editor")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("bianji")
    page.click("nav.nav a:has-text('三会一课')")
    page.select_option("select[name=year]", "2025")
    page.select_option("select[name=view]", "district")
    page.click("#compliance-filters button")
    expect(page.locator("#comp-on .stat-n")).to_have_text("13")
    expect(page.locator("#comp-miss .stat-n")).to_have_text("22")
    expect(page.locator("#comp-table tbody tr")).to_have_count(2)
    expect(page.locator("#comp-table tbody tr").first).to_contain_text("第二片区")
    expect(page.locator("#chart-months rect")).to_have_count(36)
    screen.close()


@pytest.mark.config(orglife=ONE_KIND)
def test_the_grid_is_cached_and_the_notices_in_scope_are_listed(app, services, tree):
    from handlers.orglife import reminders

    with services.sessions() as db:
        scoped_account(services, "shuji", db.get(Organisation, tree["a2"]))
    client = signed_in(app, "shuji")
    assert "12.5%" in client.get(URL + "?year=2025").get_data(as_text=True)  # (1 + 0.5) / 12
    with services.sessions() as db:
        meeting(db, tree["a2"], "zhiwei_hui", cn(2025, 3, 5))
    assert "12.5%" in client.get(URL + "?year=2025").get_data(as_text=True)  # kept for a minute
    for key in services.redis.scan_iter("orglife:compliance:*"):
        services.redis.delete(key)
    assert "20.8%" in client.get(URL + "?year=2025").get_data(as_text=True)  # (2 + 0.5) / 12
    assert reminders.run(services, cn(2026, 1, 2, 10)) >= 1  # December 2025 missed: the instructor step
    page = client.get(URL).get_data(as_text=True)
    assert "告知指导员" in page and "测试甲公司第二党支部2025年12月的「支部委员会」未开展" in page
    assert "测试乙公司党支部" not in page  # b's notices are outside the secretary's scope
