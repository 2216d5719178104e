"""The CLI: import-organisations / import-roster FILE [--yes] print problems (exit 1) or counts; import-samples
loads content/samples/ once (the shipped samples import cleanly and are marked as samples)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.core.accounts import AuditEntry
from bot.core.organisations import Organisation, RosterMember
from handlers.orgs import importing
from handlers.orgs.sheets import ORG, ROSTER, read
from tests.handlers.orgs.import_helpers import TREE, counts, org_file, roster_file

SAMPLES = Path(__file__).resolve().parents[3] / "content" / "samples"


def test_check_then_apply(runner: Any, services: Any, tmp_path: Path) -> None:
    tree, roster = tmp_path / "tree.xlsx", tmp_path / "roster.csv"
    tree.write_bytes(org_file(fmt="xlsx"))
    roster.write_bytes(roster_file())
    checked = runner.invoke(args=["import-organisations", str(tree)])
    assert checked.exit_code == 0 and "新增 6" in checked.output and "仅检查" in checked.output
    with services.sessions() as db:
        assert counts(db) == (0, 0)
    assert runner.invoke(args=["import-organisations", str(tree), "--yes"]).exit_code == 0
    done = runner.invoke(args=["import-roster", str(roster), "--yes"])
    assert done.exit_code == 0 and "新增 3" in done.output and "已导入" in done.output
    again = runner.invoke(args=["import-roster", str(roster), "--yes"])
    assert "没有任何修改" in again.output
    assert "19900000001" not in done.output + again.output  # the roster never reaches the output
    with services.sessions() as db:
        assert counts(db) == (6, 3)
        actions = db.scalars(select(AuditEntry.action)).all()
        assert actions.count("orgs.import") == 3


def test_problems_exit_1_with_row_and_column(runner: Any, services: Any, tmp_path: Path) -> None:
    rows = [list(r) for r in TREE]
    rows[4][2] = "支部"
    bad = tmp_path / "tree.csv"
    bad.write_bytes(org_file(rows))
    result = runner.invoke(args=["import-organisations", str(bad), "--yes"])
    assert result.exit_code == 1
    assert "行 6\t列 类型\t未知的类型「支部」" in result.output and "1 个问题，未做任何修改" in result.output
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"not a workbook")
    assert runner.invoke(args=["import-organisations", str(junk)]).exit_code == 1
    with services.sessions() as db:
        assert counts(db) == (0, 0)


def test_busy_lock_refuses(runner: Any, services: Any, tmp_path: Path) -> None:
    tree = tmp_path / "tree.csv"
    tree.write_bytes(org_file())
    with importing.import_lock(services.redis):
        result = runner.invoke(args=["import-organisations", str(tree), "--yes"])
    assert result.exit_code == 1 and "另一个导入正在进行" in result.output
    with services.sessions() as db:
        assert counts(db) == (0, 0)


def test_samples_import_once_and_are_marked(runner: Any, services: Any) -> None:
    for name in ("organisations", "roster"):
        kind = ORG if name == "organisations" else ROSTER
        csv_sheet = read((SAMPLES / f"{name}.csv").read_bytes(), kind, "x.csv")
        xlsx_sheet = read((SAMPLES / f"{name}.xlsx").read_bytes(), kind, "x.xlsx")
        assert csv_sheet.rows == xlsx_sheet.rows
        get = csv_sheet.getter()
        assert all(get(values, "note").startswith("示例数据") for _row, values in csv_sheet.rows)
    first = runner.invoke(args=["import-samples"])
    assert first.exit_code == 0, first.output
    assert "skipped" in runner.invoke(args=["import-samples"]).output
    with services.sessions() as db:
        codes = set(db.scalars(select(Organisation.code)))
        assert {"jkq", "jiguan", "qiye", "jituan", "chengjian", "saic-vw", "gac-mitsubishi", "gac-fca", "sany"} <= codes
        root = db.scalar(select(Organisation).where(Organisation.code == "jkq"))
        assert root.name == "长沙经开区党工委" and root.parent_id is None
        names = db.scalars(select(RosterMember.name)).all()
        assert len(names) == 30 and all(n.startswith("示例党员") for n in names)
        assert all(p.startswith("199") for p in db.scalars(select(RosterMember.phone)))
