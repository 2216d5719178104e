"""The ticket dashboard and its Excel export: known figures, filters, masked phones, who may see what, escaping."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.console.accounts import create_account
from bot.core.accounts import AuditEntry
from handlers.tickets import stats as ticket_stats
from tests.console.console_helpers import PASSWORD, login
from tests.handlers.tickets import ticket_known as known

PAGE = "/console/ticket-reports/"
EXPORT = "/console/ticket-reports/export.xlsx"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def tickets(services: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The known set, seen at known.NOW; t2 anonymous, t1 with text a spreadsheet or a browser might run."""
    monkeypatch.setattr(ticket_stats, "utcnow", lambda: known.NOW)
    return known.build(
        services,
        t1={
            "description": f'=HYPERLINK("http://evil.example","点我") 电话{known.PHONE}',
            "place": "<b>某厂</b> 139-1234-5678",
        },
        t2={"anonymous": True},
        t9={"district": "<script>alert(1)</script>"},
    )


def caseworker(services: Any, client: Any, name: str = "li", department: str | None = None) -> Any:
    with services.sessions() as db:
        account = create_account(db, name, PASSWORD, ["caseworker"])
        account.department = department
        db.commit()
    assert login(client, name).status_code == 302
    return client


def text(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def workbook(response: Any) -> Any:
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    return load_workbook(io.BytesIO(response.data), read_only=True)


def parts(data: bytes) -> Iterator[str]:
    """Every XML part of an .xlsx, as text."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            yield z.read(name).decode("utf-8")


def test_the_page_shows_the_known_figures(services, client, tickets):
    page = text(caseworker(services, client).get(PAGE))
    assert "已收集 9 件，已解决 3 件" in page
    rates = {
        k: re.search(rf'id="rate-{k}"><span class="stat-n">([^<]+)<', page).group(1)
        for k in ("response", "solve", "satisfaction")
    }
    assert rates == {"response": "66.7%", "solve": "42.9%", "satisfaction": "66.7%"}
    assert "按时答复 6 / 应答复 9" in page and "已解决 3 / 已受理 7" in page
    for title in ("按月份", "按类别", "按承办部门", "按片区", "每月收集与解决", "每月三率"):
        assert title in page
    assert "人力资源和社会保障局" in page and "未交办部门" in page  # department names from config
    assert (
        'aria-label="2026-10：已收集 4 件，已解决 2 件"' in page
        and 'aria-label="2026-11：响应率 50.0%，解决率 25.0%，满意率 —"' in page
    )


def test_a_month_range_narrows_the_page(services, client, tickets):
    caseworker(services, client)
    assert "已收集 5 件，已解决 1 件" in text(client.get(PAGE, query_string={"from": "2026-11", "to": "2026-11"}))
    assert "已收集 4 件，已解决 2 件" in text(client.get(PAGE, query_string={"to": "2026-10"}))
    page = text(client.get(PAGE, query_string={"from": "2027-01"}))
    assert "已收集 0 件，已解决 0 件" in page and "每月三率" not in page
    assert "已收集 9 件" in text(client.get(PAGE, query_string={"from": "not-a-month"}))


def test_admins_see_the_page_and_others_get_403(app, client, make_account, tickets):
    assert client.get(PAGE).status_code == 302  # signed out: to the login page
    make_account("wang", "editor")
    login(client, "wang")
    assert client.get(PAGE).status_code == 403 and client.get(EXPORT).status_code == 403
    assert "诉求统计" not in text(client.get("/console/"))
    make_account("root", "admin")
    admin = app.test_client()
    login(admin, "root")
    assert "已收集 9 件" in text(admin.get(PAGE)) and "诉求统计" in text(admin.get("/console/"))


def test_user_text_is_escaped(services, client, tickets):
    caseworker(services, client)
    page = text(client.get(PAGE, query_string={"category": "<i>x</i>"}))
    assert "<script>alert(1)</script>" not in text(client.get(PAGE))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text(client.get(PAGE))
    assert "<i>x</i>" not in page and "&lt;i&gt;x&lt;/i&gt;" in page


def test_the_export_masks_phones_and_leaves_out_openids(services, client, make_account, tickets):
    make_account("root", "admin")
    login(client, "root")
    response = client.get(EXPORT)
    wb = workbook(response)
    rows = list(wb["诉求明细"].iter_rows(values_only=True))
    header, body = rows[0], {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert len(body) == 10 and "openid" not in " ".join(header)
    first, anonymous = body["JK2610100001"], body["JK2610100002"]
    assert (
        first["联系电话"] == "139****5678" and first["状态"] == "已回访" and first["承办部门"] == "人力资源和社会保障局"
    )
    assert first["诉求内容"].startswith("=HYPERLINK(") and first["诉求内容"].endswith("电话139****5678")
    assert first["按时响应"] == "是" and first["已解决"] == "是" and first["评价"] == "满意"
    assert anonymous["联系电话"] in ("", None) and anonymous["匿名"] == "是"
    xml = "\n".join(parts(response.data))
    assert first["企业或地点"] == "<b>某厂</b> 139****5678"
    assert known.PHONE not in xml and "1234-5678" not in xml  # no phone number in full, however written
    assert "o_t1" not in xml and "<f>" not in xml  # no openid, no formula
    stats = list(wb["统计"].iter_rows(values_only=True))
    assert stats[1][:6] == ("全部", 10, 9, 2, 4, 3) and stats[1][6:] == pytest.approx((6 / 9, 3 / 7, 2 / 3))


def test_the_export_follows_the_filter_and_is_audited(services, client, tickets):
    caseworker(services, client, "li", department="zhengwu")
    wb = workbook(client.get(EXPORT, query_string={"from": "2026-11", "category": "政务审批"}))
    numbers = [r[0] for r in wb["诉求明细"].iter_rows(min_row=2, values_only=True)]
    assert numbers == ["JK2611050003", "JK2611050004"]
    with services.sessions() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "ticket.export")).one()
    assert entry.actor == "li" and entry.details == {"filters": {"from": "2026-11", "category": "政务审批"}, "rows": 2}


def test_a_department_handler_exports_only_the_tickets_they_may_see(services, client, tickets):
    caseworker(services, client, "zhou", department="renshe")
    wb = workbook(client.get(EXPORT))
    numbers = {r[0] for r in wb["诉求明细"].iter_rows(min_row=2, values_only=True)}
    # renshe's t1, t2, t6 and the unassigned queue (t3, t5, t7, t9, t10); not jianshe's t4 nor zhengwu's t8
    assert numbers == {
        "JK2610100001",
        "JK2610100002",
        "JK2610100003",
        "JK2610100005",
        "JK2611050001",
        "JK2611050002",
        "JK2611050004",
        "JK2611210001",
    }


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed at /usr/bin/chromium")
def test_the_page_fits_a_phone(services, live, tickets):
    from playwright.sync_api import sync_playwright

    with services.sessions() as db:
        create_account(db, "li", PASSWORD, ["caseworker"])
        db.commit()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(
            locale="zh-CN",
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
        page, errors = context.new_page(), []
        page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
        page.goto(live + "/console/login")
        page.fill("#username", "li")
        page.fill("#password", PASSWORD)
        page.click("button:has-text('登录')")
        page.wait_for_url(live + "/console/")
        page.goto(live + PAGE)
        assert page.locator("#headline").inner_text() == "已收集 9 件，已解决 3 件"
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
        assert page.locator("#chart-counts svg").first.bounding_box()["width"] > 100  # the bars have room
        page.screenshot(path="/tmp/console-ticket-reports-phone.png", full_page=True)
        browser.close()
    assert errors == []  # no CSP refusal
