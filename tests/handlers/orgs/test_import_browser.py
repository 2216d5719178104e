"""In headless Chromium: an editor uploads the organisation tree, reads the preview, confirms, watches the progress
page reach the result; then a file with a problem shows it by row and column. No CSP or script errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser_helpers import LAPTOP, PHONE, WAIT, expect
from tests.console.screen_helpers import Screen
from tests.handlers.orgs.import_helpers import TREE, counts, org_file


def test_upload_preview_confirm(browser: Any, live: str, make_account: Any, services: Any, tmp_path: Path) -> None:
    make_account("wang", "editor")
    tree = tmp_path / "tree.xlsx"
    tree.write_bytes(org_file(fmt="xlsx"))
    screen = Screen(browser, live, viewport=LAPTOP)
    page = screen.login("wang")
    page.click("nav.nav a:has-text('组织')")
    page.click("#imports-link")  # the tree page leads to the import
    expect(page.locator("h1")).to_have_text("导入组织和花名册")
    page.select_option("#kind", "organisations")
    page.set_input_files("#file", str(tree))
    page.click("#do-check")
    expect(page.locator("#count-added")).to_contain_text("6", timeout=WAIT)
    expect(page.locator("#list-added")).to_contain_text("测试甲公司第一党支部")
    with services.sessions() as db:
        assert counts(db) == (0, 0)  # the preview wrote nothing
    screen.shot(str(tmp_path / "preview.png"))
    page.click("#do-confirm")
    expect(page.locator("#import-status")).to_have_text("导入完成。", timeout=WAIT)
    expect(page.locator("#import-result")).to_contain_text("新增：6")
    expect(page.locator("#import-percent")).to_have_text("100%")
    with services.sessions() as db:
        assert counts(db) == (6, 0)
    screen.close()


def test_problems_by_row_and_column_on_a_phone(browser: Any, live: str, make_account: Any, tmp_path: Path) -> None:
    make_account("wang", "editor")
    rows = [list(r) for r in TREE]
    rows[3][3] = "NOPE"
    bad = tmp_path / "tree.csv"
    bad.write_bytes(org_file(rows))
    screen = Screen(browser, live, viewport=PHONE)
    page = screen.login("wang")
    page.goto(live + "/console/orgs/import/")
    page.set_input_files("#file", str(bad))
    page.click("#do-check")
    problem = page.locator("#import-problems tr.problem")
    expect(problem).to_have_count(1, timeout=WAIT)
    expect(problem).to_contain_text("5")
    expect(problem).to_contain_text("上级编码「NOPE」不在文件中")
    expect(page.locator("#do-confirm")).to_have_count(0)
    screen.shot(str(tmp_path / "problems.png"))
    screen.close()
