"""党建数据: 认证率, 参学率 and average points on a small known world, by organisation subtree and by 片区, week vs
month; the page (roles, scope, drill-down, sorting), the Excel export (content, audit) and the page in a browser."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.core.accounts import Account, AuditEntry
from bot.core.organisations import Organisation
from handlers.orgs import figures, figures_cache
from handlers.orgs.figures import Period
from tests.browser_helpers import LAPTOP, PHONE, expect
from tests.console.screen_helpers import Screen
from tests.handlers.orgs.fig_helpers import NOV, WEEK48, account, known_world, scoped_account, signed_in
from tests.org_helpers import add_member, confirm

TODAY = date(2026, 12, 1)


@pytest.fixture
def world(services):
    with services.sessions() as db:
        orgs = known_world(db)
        return {key: org.id for key, org in orgs.items()}


def tree_for(services, period: str, root_key: int | None = None):
    with services.sessions() as db:
        root = db.get(Organisation, root_key) if root_key else None
        counts = figures.own_counts(db, Period.parse(period, TODAY))
        return figures.roll_up(db, counts, root, ["第一片区", "第二片区", "第三片区"])


def numbers(row) -> tuple[int, int, int, int]:
    return row.roster, row.confirmed, row.studied, row.points


def test_a_month_by_organisation_subtree_and_by_district(services, world):
    tree = tree_for(services, NOV)
    rows = tree.rows
    assert numbers(rows[world["g"]]) == (1, 1, 0, 0)
    assert numbers(rows[world["a1"]]) == (5, 4, 2, 35)  # with its 党小组; m4 pending, m7 gone
    assert numbers(rows[world["a2"]]) == (1, 1, 1, 7)  # m7 left the roster: none of theirs counts
    assert numbers(rows[world["a"]]) == numbers(rows[world["d1"]]) == (6, 5, 3, 42)
    assert numbers(rows[world["b"]]) == (3, 1, 0, 0)  # m8's study and points fall outside November
    assert numbers(rows[world["root"]]) == numbers(tree.total) == (9, 6, 3, 42)
    a1 = rows[world["a1"]]
    assert (a1.auth_rate, a1.study_rate, a1.avg_points) == (0.8, 0.4, 7.0)
    assert figures.percent(rows[world["root"]].auth_rate) == "66.7%"
    assert figures.average(rows[world["root"]].avg_points) == "4.7"
    assert numbers(tree.districts["第一片区"]) == (6, 5, 3, 42)
    assert numbers(tree.districts["第二片区"]) == (3, 1, 0, 0)
    assert tree.districts["第三片区"].roster == 0 and tree.districts["第三片区"].auth_rate is None
    assert tree.children[world["a"]] == [world["a1"], world["a2"]] and rows[world["a"]].children == 2


def test_a_week_counts_only_its_days(services, world):
    tree = tree_for(services, WEEK48)
    assert numbers(tree.rows[world["a1"]]) == (5, 4, 1, 5)  # m1 on the 24th; m3's 20 points are on the 30th
    assert numbers(tree.rows[world["a2"]]) == (1, 1, 1, 7)
    assert numbers(tree.total) == (9, 6, 2, 12)


def test_periods_parse_and_are_offered():
    assert Period.parse("2026-11", TODAY) == Period("month", date(2026, 11, 1), date(2026, 12, 1))
    assert Period.parse("2026-W48", TODAY) == Period("week", date(2026, 11, 23), date(2026, 11, 30))
    assert Period.parse("2026-W48", TODAY).label == "2026年第48周（11-23 至 11-29）"
    assert Period.parse("nonsense", TODAY) == Period.parse("", TODAY) == Period.month_of(TODAY)
    offered = figures.offered(TODAY)
    assert offered[0].key == "2026-12" and offered[11].key == "2026-01" and offered[12].key == "2026-W49"


def test_a_scoped_root_sees_its_subtree_only(services, world):
    tree = tree_for(services, NOV, world["a1"])
    assert set(tree.rows) == {world["a1"], world["g"]}
    assert tree.children[None] == [world["a1"]] and numbers(tree.total) == (5, 4, 2, 35)


def test_sorting_puts_undefined_rates_last(services, world):
    tree = tree_for(services, NOV)
    rows = [tree.rows[world[k]] for k in ("a1", "a2", "b")] + [figures.Row("x", "空组织", code="Z")]
    assert [r.code for r in figures.sort_rows(rows, "study")] == ["T112", "T111", "T21", "Z"]
    assert [r.code for r in figures.sort_rows(rows, "name")] == ["T111", "T112", "T21", "Z"]
    assert [r.code for r in figures.sort_rows(rows, "roster")][0] == "T111"
    districts = list(tree.districts.values())
    assert [r.label for r in figures.sort_rows(districts, "name")] == ["第一片区", "第二片区", "第三片区"]


def test_the_page_for_an_editor_drills_down_and_sorts(app, services, world, make_account):
    make_account("bianji", "editor")
    client = signed_in(app, "bianji")
    assert "党建数据" in client.get("/console/").get_data(as_text=True)
    page = client.get(f"/console/orgs/figures/?period={NOV}").get_data(as_text=True)
    assert "2026年11月" in page and "66.7%" in page and "33.3%" in page and "4.7" in page  # the park's headline
    assert "测试第一片区党委" in page and "测试第二片区党委" in page and 'id="chart-orgs"' in page
    assert page.index("第一片区</th>") < page.index("第二片区</th>")  # 片区 by 参学率, highest first
    chart = page[page.index('id="chart-districts"') :].split("</section>")[0]
    assert "第一片区" in chart and "第三片区" not in chart  # a 片区 without members gets no bar
    page = client.get(f"/console/orgs/figures/?period={NOV}&org={world['a']}&sort=name").get_data(as_text=True)
    assert page.index("测试甲公司第一党支部") < page.index("测试甲公司第二党支部")
    assert "83.3%" in page and 'id="fig-crumbs"' in page
    page = client.get(f"/console/orgs/figures/?period={NOV}&kind=党支部&sort=study").get_data(as_text=True)
    assert "全部党支部（3）" in page
    assert page.index("测试甲公司第二党支部") < page.index("测试甲公司第一党支部") < page.index("测试乙公司党支部")


def test_roles_that_do_not_see_the_page(app, services, world, make_account):
    for name, role in (("shenhe", "reviewer"), ("chuli", "caseworker")):
        make_account(name, role)
        client = signed_in(app, name)
        assert client.get("/console/orgs/figures/").status_code == 403
        assert "党建数据" not in client.get("/console/").get_data(as_text=True)


def test_a_secretary_sees_their_subtree_and_nothing_else(app, services, world):
    with services.sessions() as db:
        scoped_account(services, "shuji", db.get(Organisation, world["a1"]))
    client = signed_in(app, "shuji")
    home = client.get("/console/").get_data(as_text=True)
    assert "/console/orgs/figures/" in home  # on the scoped home and in the nav
    page = client.get(f"/console/orgs/figures/?period={NOV}").get_data(as_text=True)
    assert "测试甲公司第一党小组" in page and "80.0%" in page and "40.0%" in page
    assert "测试乙公司党支部" not in page and "第二片区" not in page and "测试园区党工委" not in page
    assert client.get(f"/console/orgs/figures/?org={world['b']}").status_code == 404
    assert client.get(f"/console/orgs/figures/?org={world['root']}").status_code == 404
    page = client.get(f"/console/orgs/figures/?period={NOV}&kind=党支部").get_data(as_text=True)
    assert "测试甲公司第一党支部" in page and "测试甲公司第二党支部" not in page


def test_the_export_holds_the_scope_and_is_audited(app, services, world):
    with services.sessions() as db:
        scoped_account(services, "zhidao", db.get(Organisation, world["d1"]), "instructor")
    client = signed_in(app, "zhidao")
    res = client.get(f"/console/orgs/figures/export.xlsx?period={NOV}")
    assert res.status_code == 200 and res.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(res.data))
    orgs = list(book["按组织"].iter_rows(values_only=True))
    assert orgs[0][:6] == ("组织编码", "组织名称", "类型", "上级组织编码", "片区", "党员数")
    assert [r[0] for r in orgs[1:]] == ["T1", "T11", "T111", "T1111", "T112"]  # depth first, in scope only
    assert orgs[3] == ("T111", "测试甲公司第一党支部", "党支部", "T11", "第一片区", 5, 4, 0.8, 2, 0.4, 35, 7)
    assert list(book["按片区"].iter_rows(values_only=True))[1] == ("第一片区", 6, 5, 0.8333, 3, 0.5, 42, 7)
    assert "参学率" in "".join(r[0] for r in book["说明"].iter_rows(values_only=True))
    with services.sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "orgs.figures_export")).one()
    assert entry.actor == "zhidao" and entry.details == {"period": NOV, "scope": "T1 测试第一片区党委", "rows": 6}


def test_the_counts_are_cached_for_a_minute(app, services, world, make_account):
    make_account("bianji", "editor")
    client = signed_in(app, "bianji")
    assert "66.7%" in client.get(f"/console/orgs/figures/?period={NOV}").get_data(as_text=True)
    with services.sessions() as db:
        confirm(db, "o-new", add_member(db, db.get(Organisation, world["b"]), "测试新人"))
    assert "66.7%" in client.get(f"/console/orgs/figures/?period={NOV}").get_data(as_text=True)  # a minute old
    figures_cache.forget(services.redis)
    assert "70.0%" in client.get(f"/console/orgs/figures/?period={NOV}").get_data(as_text=True)


def test_the_page_in_a_browser(browser, live, services, world, make_account, tmp_path):
    make_account("bianji", "editor")
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("bianji")
    page.click("nav.nav a:has-text('党建数据')")
    page.select_option("select[name=period]", NOV)
    page.click("#figure-filters button")
    expect(page.locator("#period-label")).to_have_text("2026年11月")
    expect(page.locator("#fig-auth .stat-n")).to_have_text("66.7%")
    page.click("#org-table a:has-text('测试第一片区党委')")
    page.click("#org-table a:has-text('测试甲公司党委')")
    expect(page.locator("#fig-crumbs")).to_contain_text("测试甲公司党委")
    page.click("#org-table thead a:has-text('组织')")
    expect(page.locator("#org-table tbody tr").first).to_contain_text("测试甲公司第一党支部")
    expect(page.locator("#chart-orgs li")).to_have_count(2)
    screen.shot(str(tmp_path / "figures-laptop.png"))  # nothing sticks out sideways
    screen.close()
    phone = Screen(browser, live, viewport=PHONE)
    page = phone.login("bianji")
    page.goto(live + f"/console/orgs/figures/?period={NOV}")
    expect(page.locator("#district-table")).to_contain_text("第一片区")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
    phone.close()


def test_the_cached_table_reads_back_as_computed(services, world):
    computed = tree_for(services, NOV)
    again = figures_cache.loads(json.loads(json.dumps(figures_cache.dumps(computed))))
    assert again.rows == computed.rows and again.children == computed.children
    assert again.districts == computed.districts and again.total == computed.total


def test_a_secretary_without_an_organisation_sees_nothing(app, services, world):
    scoped_account(services, "shuji", None, "secretary", "editor")
    with services.sessions() as db:
        db.get(Account, account(services, "shuji").id).roles = ["secretary"]  # as if the scope rule were bypassed
        db.commit()
    client = signed_in(app, "shuji")
    assert client.get("/console/orgs/figures/").status_code == 403
    assert client.get("/console/orgs/figures/export.xlsx").status_code == 403
