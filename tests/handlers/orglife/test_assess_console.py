"""The yearly assessment's console pages: roles and scope (scoped read-only), the ranking with reasons, the
committee's adjustment with a required reason (audited, the computed score still shown), the cache, the audited
export and the page in a browser."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.core.accounts import AuditEntry
from bot.core.organisations import Organisation
from handlers.orglife.assessment_models import AssessmentAdjustment
from tests.browser_helpers import LAPTOP, expect
from tests.console.screen_helpers import Screen
from tests.handlers.orglife.assess_helpers import ONE_KIND, URL, year_2025
from tests.handlers.orgs.fig_helpers import scoped_account, signed_in

CONFIG = {"kinds": ONE_KIND}


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'value="([^"]+)" name="csrf_token"', page
    )
    assert found
    return found.group(1)


@pytest.mark.config(orglife=CONFIG)
def test_the_ranking_per_district_with_reasons(app, services, make_account):
    year_2025(services)
    make_account("bianji", "editor")
    page = signed_in(app, "bianji").get(URL + "?year=2025").get_data(as_text=True)
    assert "年度考核" in page and "三会一课完成率 100%（权重 40）→ 40.0 分" in page
    assert page.index("测试甲公司第一党支部") < page.index("测试甲公司第二党支部") < page.index("测试乙公司党支部")
    assert "测试甲公司第一党小组" not in page
    one = signed_in(app, "bianji").get(URL + "?year=2025&district=第二片区").get_data(as_text=True)
    assert "测试乙公司党支部" in one and "测试甲公司" not in one


@pytest.mark.config(orglife=CONFIG)
def test_roles_and_scope_read_only(app, services, make_account):
    tree = year_2025(services)
    make_account("kefu", "caseworker")
    assert signed_in(app, "kefu").get(URL).status_code == 403
    with services.sessions() as db:
        scoped_account(services, "shuji", db.get(Organisation, tree["a2"]))
    client = signed_in(app, "shuji")
    mine = client.get(URL + "?year=2025").get_data(as_text=True)
    assert "测试甲公司第二党支部" in mine and "测试甲公司第一党支部" not in mine and "测试乙公司党支部" not in mine
    assert client.get(URL + f"org/{tree['a1']}?year=2025").status_code == 404  # outside the subtree
    card = client.get(URL + f"org/{tree['a2']}?year=2025").get_data(as_text=True)
    assert "7.1" in card and "adjust-form" not in card
    posted = client.post(
        URL + f"org/{tree['a2']}?year=2025", data={"csrf_token": csrf(card), "score": "90", "reason": "x"}
    )
    assert posted.status_code == 403
    with services.sessions() as db:
        assert db.scalars(select(AssessmentAdjustment)).first() is None


@pytest.mark.config(orglife=CONFIG)
def test_the_committee_adjusts_with_a_reason_audited_computed_kept(app, services, make_account):
    tree = year_2025(services)
    make_account("bianji", "editor")
    client = signed_in(app, "bianji")
    url = URL + f"org/{tree['b']}?year=2025"
    assert "0.0" in client.get(URL + "?year=2025").get_data(as_text=True)  # computed and cached
    card = client.get(url).get_data(as_text=True)
    token = csrf(card)
    empty = client.post(url, data={"csrf_token": token, "score": "90", "reason": " "})
    assert empty.status_code == 200 and "请填写调整理由" in empty.get_data(as_text=True)
    done = client.post(url, data={"csrf_token": token, "score": "92.5", "reason": "测试：获评先进基层党组织"})
    assert done.status_code == 302
    card = client.get(url).get_data(as_text=True)
    assert "92.5" in card and "测试：获评先进基层党组织" in card and 'id="computed-score"' in card
    ranking = client.get(URL + "?year=2025").get_data(as_text=True)  # the cache was dropped
    assert "92.5" in ranking and "（计算 0.0，已调整）" in ranking
    with services.sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "assessment.adjust")).one()
        row = db.scalars(select(AssessmentAdjustment)).one()
    assert entry.actor == "bianji" and entry.target == "T21 测试乙公司党支部"
    assert entry.details == {"year": 2025, "computed": 0.0, "score": 92.5, "reason": "测试：获评先进基层党组织"}
    assert (row.score, row.computed, row.by) == (92.5, 0.0, "bianji")


@pytest.mark.config(orglife=CONFIG)
def test_the_export_holds_the_ranking_and_is_audited(app, services):
    tree = year_2025(services)
    with services.sessions() as db:
        scoped_account(services, "zhidao", db.get(Organisation, tree["d1"]), "instructor")
    res = signed_in(app, "zhidao").get(URL + "export.xlsx?year=2025")
    assert res.status_code == 200 and res.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(res.data))["年度考核"].iter_rows(values_only=True))
    assert rows[0][:8] == (
        "片区",
        "名次",
        "组织编码",
        "组织名称",
        "组织类型",
        "三会一课完成率",
        "三会一课完成率权重",
        "三会一课完成率得分",
    )
    assert rows[1][:8] == ("第一片区", 1, "T111", "测试甲公司第一党支部", "党支部", 1, 40, 40)
    assert rows[1][-5:-1] == (70, None, None, 70)
    assert [r[2] for r in rows[1:]] == ["T111", "T1", "T11", "T112"]
    with services.sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "assessment.export")).one()
    assert entry.actor == "zhidao" and entry.details == {"year": 2025, "scope": "T1 测试第一片区党委", "rows": 4}


@pytest.mark.config(orglife=CONFIG)
def test_the_page_in_a_browser(browser, live, services, make_account):
    year_2025(services)
    make_account("bianji", "editor")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("bianji")
    page.click("nav.nav a:has-text('年度考核')")
    page.select_option("select[name=year]", "2025")
    page.select_option("select[name=district]", "第一片区")
    page.click("#assessment-filters button")
    expect(page.locator("#assessment-table tbody tr")).to_have_count(4)
    expect(page.locator("#assessment-table tbody tr").first).to_contain_text("70.0")
    page.click("#assessment-table a:has-text('测试甲公司第二党支部')")
    page.fill("#score", "60")
    page.fill("#reason", "测试：补充材料已核实")
    page.click("#adjust-form button")
    expect(page.locator("#final-score .stat-n")).to_have_text("60.0")
    expect(page.locator("#computed-score .stat-n")).to_have_text("7.1")
    expect(page.locator("#history")).to_contain_text("测试：补充材料已核实")
    screen.close()
