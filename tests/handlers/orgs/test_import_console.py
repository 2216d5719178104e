"""The console's import pages: templates, refusals (size, not a spreadsheet, formulas), preview writes nothing,
confirm applies in the background with progress, the lock, roles and scope, the audit (counts only)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.accounts import Account, AuditEntry
from handlers.orgs import importing
from handlers.orgs.sheets import ORG, ROSTER, read
from tests.console.console_helpers import csrf_token, login
from tests.handlers.orgs.import_helpers import TREE, counts, load_tree, org, org_file, roster_file

URL = "/console/orgs/import/"


def upload(client: Any, data: bytes, kind: str = ORG, name: str = "tree.csv") -> Any:
    token = csrf_token(client, URL)
    form = {"csrf_token": token, "kind": kind, "file": (io.BytesIO(data), name)}
    return client.post(URL, data=form, content_type="multipart/form-data")


def confirm_and_wait(client: Any, page: str, wait_for: Any) -> dict[str, Any]:
    token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    done = client.post(URL + "confirm", data={"csrf_token": csrf, "token": token})
    assert done.status_code == 302 and f"/progress/{token}" in done.headers["Location"]
    assert "import-progress" in client.get(done.headers["Location"]).get_data(as_text=True)
    state: dict[str, Any] = {}

    def finished() -> bool:
        state.update(client.get(f"{URL}progress/{token}.json").get_json())
        return bool(state.get("done"))

    wait_for(finished, timeout=20)
    return state


@pytest.mark.parametrize("kind", [ORG, ROSTER])
@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_templates_download_and_parse_back(editor: Any, kind: str, fmt: str) -> None:
    page = editor.get(URL).get_data(as_text=True)
    assert f"template-{kind}-{fmt}" in page
    reply = editor.get(f"{URL}template/{kind}.{fmt}")
    assert reply.status_code == 200 and "attachment" in reply.headers["Content-Disposition"]
    assert len(read(reply.data, kind, f"t.{fmt}").rows) == 1


def test_preview_writes_nothing_then_confirm_applies_with_progress(editor: Any, services: Any, wait_for: Any) -> None:
    reply = upload(editor, org_file(fmt="xlsx"), name="tree.xlsx")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200 and 'id="count-added"' in page and "测试甲公司第一党支部" in page
    with services.sessions() as db:
        assert counts(db) == (0, 0)
    state = confirm_and_wait(editor, page, wait_for)
    assert state["ok"] and state["counts"] == {"added": 6}
    with services.sessions() as db:
        assert counts(db) == (6, 0)
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action.like("orgs.import%"))).all()
        assert [(e.action, e.actor, e.details.get("added")) for e in entries] == [
            ("orgs.import_check", "wang", 6),
            ("orgs.import", "wang", 6),
        ]
    again = upload(editor, org_file()).get_data(as_text=True)
    assert "import-nothing" in again and "do-confirm" not in again  # re-import is a no-op


def test_roster_preview_masks_phones_and_the_audit_holds_no_personal_data(editor: Any, services: Any, wait_for: Any):
    with services.sessions() as db:
        load_tree(db)
    page = upload(editor, roster_file(), ROSTER, "roster.csv").get_data(as_text=True)
    assert "199****0001" in page and "19900000001" not in page and "测试党员一" not in page
    state = confirm_and_wait(editor, page, wait_for)
    assert state["ok"] and state["counts"] == {"added": 3}
    with services.sessions() as db:
        details = " ".join(str(e.details) for e in db.scalars(select(AuditEntry)).all())
        assert "1990000000" not in details and "测试党员" not in details


def test_problems_are_listed_by_row_and_column_and_nothing_changes(editor: Any, services: Any) -> None:
    rows = [list(r) for r in TREE]
    rows[3][3] = "NOPE"
    page = upload(editor, org_file(rows)).get_data(as_text=True)
    assert "import-problems" in page and "上级编码「NOPE」不在文件中" in page and "do-confirm" not in page
    with services.sessions() as db:
        assert counts(db) == (0, 0)


@pytest.mark.parametrize(
    ("data", "name", "status", "words"),
    [
        (b"x" * (50 * 1024 * 1024), "big.csv", 413, "超过 10 MB"),
        (bytes(range(256)) * 64, "junk.csv", 422, "不是表格"),
        (b"PK\x03\x04broken", "tree.xlsx", 422, "xlsx"),
        (None, "formula.xlsx", 422, "单元格含公式"),
        (None, "script.csv", 422, "脚本或 HTML"),
    ],
    ids=["50MB", "binary", "malformed-xlsx", "formula", "script"],
)
def test_refused_uploads_change_nothing(editor: Any, services: Any, data: Any, name: str, status: int, words: str):
    if data is None:
        rows = [list(r) for r in TREE]
        rows[2][1] = "=1+1" if "formula" in name else "<script>alert(1)</script>"
        data = org_file(rows, fmt="xlsx" if name.endswith("xlsx") else "csv")
    reply = upload(editor, data, name=name)
    assert reply.status_code == status and words in reply.get_data(as_text=True)
    with services.sessions() as db:
        assert counts(db) == (0, 0)


def test_a_second_import_is_refused_while_one_runs(editor: Any, services: Any) -> None:
    page = upload(editor, org_file()).get_data(as_text=True)
    holder = importing.acquire(services.redis)
    try:
        busy = upload(editor, org_file())
        assert busy.status_code == 409 and "另一个导入正在进行" in busy.get_data(as_text=True)
        token = page.split('name="token" type="hidden" value="')[1].split('"')[0]
        csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        refused = editor.post(URL + "confirm", data={"csrf_token": csrf, "token": token}, follow_redirects=True)
        assert "另一个导入正在进行" in refused.get_data(as_text=True)
    finally:
        importing.release(services.redis, holder)
    with services.sessions() as db:
        assert counts(db) == (0, 0)


def test_only_unscoped_editors_and_admins(app: Any, client: Any, make_account: Any, services: Any) -> None:
    make_account("li", "caseworker")
    login(client, "li")
    assert client.get(URL).status_code == 403
    with services.sessions() as db:
        load_tree(db)
        make_account("zhao", "editor")
        db.scalar(select(Account).where(Account.username == "zhao")).organisation_id = org(db, "A").id
        db.commit()
    scoped = app.test_client()
    assert login(scoped, "zhao").status_code == 302
    assert scoped.get("/console/").status_code == 200 and scoped.get(URL).status_code == 403


def test_confirm_checks_the_file_again(editor: Any, services: Any, wait_for: Any) -> None:
    page = upload(editor, roster_file(), ROSTER, "roster.csv").get_data(as_text=True)  # no tree yet: problems
    assert "import-problems" in page and "do-confirm" not in page
    with services.sessions() as db:
        load_tree(db)
    page = upload(editor, org_file()).get_data(as_text=True)
    assert "import-nothing" in page and "do-confirm" not in page  # the tree is already there
    with services.sessions() as db:
        from tests.org_helpers import add_org

        add_org(db, "EXTRA", "测试新增党支部", "党支部", org(db, "B"))
        db.commit()
    page = upload(editor, org_file()).get_data(as_text=True)
    assert 'id="count-deleted"' in page
    with services.sessions() as db:  # someone else removes it before the editor confirms
        db.delete(org(db, "EXTRA"))
        db.commit()
    state = confirm_and_wait(editor, page, wait_for)
    assert state["ok"] and state["counts"] == {}
