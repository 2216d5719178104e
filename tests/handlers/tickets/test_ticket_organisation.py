"""Tickets carry a confirmed member's organisation and 片区 from submission (unconfirmed ones carry nothing); the
ticket page shows them, the queue filters by organisation subtree and by 片区, and the Excel export has them."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select

from bot.core.members import Membership
from bot.core.organisations import Organisation
from handlers.tickets.models import Ticket
from tests.console.console_helpers import login
from tests.handlers.tickets.console_ticket_helpers import new_ticket, page, signed_in
from tests.org_helpers import add_member, confirm, small_tree

ANSWERS = ["我要反映", "3", "公司拖欠两个月工资", "某某电子厂", "跳过", "否", "确认"]


def submitted(services: Any, openid: str) -> Ticket:
    with services.sessions() as db:
        return db.scalars(select(Ticket).where(Ticket.openid == openid)).one()


def test_a_confirmed_members_ticket_carries_organisation_and_district(wx: Any, user: str, services: Any):
    with services.sessions() as db:
        tree = small_tree(db)
        confirm(db, user, add_member(db, tree["a1"], "测试甲"))
    for answer in ANSWERS:
        wx.text(user, answer)
    ticket = submitted(services, user)
    assert (ticket.organisation_id, ticket.district) == (tree["a1"].id, "第一片区")


def test_an_unconfirmed_members_ticket_carries_nothing(wx: Any, user: str, services: Any):
    with services.sessions() as db:
        small_tree(db)
        db.add(Membership(openid=user, organisation="T111", district="第一片区"))  # self-declared 绑定组织
        db.commit()
    for answer in ANSWERS:
        wx.text(user, answer)
    ticket = submitted(services, user)
    assert (ticket.organisation_id, ticket.district) == (None, None)


def test_a_member_off_the_roster_carries_nothing(wx: Any, user: str, services: Any):
    from bot.core.database import utcnow

    with services.sessions() as db:
        tree = small_tree(db)
        confirm(db, user, add_member(db, tree["b"], "测试乙", left_at=utcnow()))
    for answer in ANSWERS:
        wx.text(user, answer)
    assert submitted(services, user).organisation_id is None


def tickets_in_tree(services: Any) -> dict[str, Ticket]:
    with services.sessions() as db:
        tree = small_tree(db)
    return {
        "a1": new_ticket(services, description="甲一支部", organisation_id=tree["a1"].id, district="第一片区"),
        "g": new_ticket(services, description="甲一党小组", organisation_id=tree["g"].id, district="第一片区"),
        "a2": new_ticket(services, description="甲二支部", organisation_id=tree["a2"].id, district="第一片区"),
        "b": new_ticket(services, description="乙公司", organisation_id=tree["b"].id, district="第二片区"),
        "none": new_ticket(services, description="未认证"),
    }


def numbers(html: str, made: dict[str, Ticket]) -> set[str]:
    return {name for name, t in made.items() if f'data-number="{t.number}"' in html}


def test_the_queue_filters_by_organisation_subtree_and_district(app: Any, make_account: Any, services: Any):
    made = tickets_in_tree(services)
    staff = signed_in(app, make_account, "chen", "caseworker")
    queue = "/console/tickets/"
    assert numbers(page(staff, queue), made) == set(made)
    assert numbers(page(staff, queue + "?organisation=T111"), made) == {"a1", "g"}
    assert numbers(page(staff, queue + "?organisation=T11"), made) == {"a1", "g", "a2"}
    assert numbers(page(staff, queue + "?organisation=T0"), made) == {"a1", "g", "a2", "b"}
    assert numbers(page(staff, queue + "?organisation=NOPE"), made) == set()
    assert numbers(page(staff, queue + "?district=第二片区"), made) == {"b"}
    assert numbers(page(staff, queue + "?district=第一片区&organisation=T112"), made) == {"a2"}
    html = page(staff, queue)
    assert 'id="queue-organisation"' in html and "　　　测试甲公司第一党支部" in html  # the tree, indented


def test_the_ticket_page_shows_organisation_and_district(app: Any, make_account: Any, services: Any):
    made = tickets_in_tree(services)
    staff = signed_in(app, make_account, "chen", "caseworker")
    html = page(staff, f"/console/tickets/{made['g'].number}")
    assert "测试甲公司第一党小组（T1111）" in html and "第一片区" in html
    assert '<dd id="ticket-organisation">—</dd>' in page(staff, f"/console/tickets/{made['none'].number}")


def test_the_export_includes_organisation_and_district(services: Any, client: Any, make_account: Any):
    made = tickets_in_tree(services)
    make_account("root", "admin")
    login(client, "root")
    wb = load_workbook(io.BytesIO(client.get("/console/ticket-reports/export.xlsx").data), read_only=True)
    rows = list(wb["诉求明细"].iter_rows(values_only=True))
    body = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert body[made["b"].number]["党组织"] == "测试乙公司党支部（T21）"
    assert body[made["b"].number]["片区"] == "第二片区"
    assert body[made["none"].number]["党组织"] in ("", None)


def test_the_queue_with_the_organisation_filter_fits_a_phone(browser: Any, live: str, make_account: Any, services: Any):
    from tests.browser_helpers import PHONE, WAIT, expect
    from tests.console.screen_helpers import Screen
    from tests.org_helpers import add_org

    made = tickets_in_tree(services)
    with services.sessions() as db:
        a = db.scalar(select(Organisation).where(Organisation.code == "T11"))
        add_org(db, "T113", "测试甲公司研发中心、生产制造部及华东区域销售服务中心联合党支部（第二批）", "党支部", a)
        db.commit()
    make_account("chen", "caseworker")
    screen = Screen(browser, live, viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = screen.login("chen")
    page.goto(f"{live}/console/tickets/")
    page.select_option("#queue-organisation", "T111")
    page.click("#ticket-filters button[type=submit]")
    expect(page.locator("tr[data-number]")).to_have_count(2, timeout=WAIT)
    screen.shot("/tmp/console-tickets-organisation-phone.png")
    page.click(f"a:has-text('{made['g'].number}')")
    expect(page.locator("#ticket-organisation")).to_have_text("测试甲公司第一党小组（T1111）", timeout=WAIT)
    screen.shot("/tmp/console-ticket-organisation-phone.png")
    screen.close()
