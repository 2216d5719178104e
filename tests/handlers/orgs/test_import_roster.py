"""The roster import: each check names row and column, apply, idempotence, transfers keep the id and write
history (bindings follow), members absent from the file leave the roster, one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.core.members import Membership
from bot.core.organisations import RosterMember, RosterTransfer
from handlers.orgs import roster_import
from handlers.orgs.sheets import ROSTER
from tests.handlers.orgs.import_helpers import (
    ROSTER_ROWS,
    TREE,
    counts,
    load_roster,
    load_tree,
    org,
    org_file,
    problems,
    roster_file,
    run,
)
from tests.org_helpers import confirm


def with_rows(*changes: tuple[int, int, str]) -> list[list[str]]:
    rows = [list(r) for r in ROSTER_ROWS]
    for i, col, value in changes:
        rows[i][col] = value
    return rows


@pytest.mark.parametrize(
    ("rows", "row", "column", "words"),
    [
        (with_rows((1, 2, "19900000001")), 3, "手机号", "手机号重复（与第2行相同）"),
        (with_rows((0, 2, "1990000000")), 2, "手机号", "不是有效的 11 位手机号"),
        (with_rows((0, 3, "NOPE")), 2, "所属组织编码", "不存在"),
        (with_rows((0, 3, "GONE")), 2, "所属组织编码", "已撤销"),
        (with_rows((2, 4, "党员")), 4, "类别", "未知的类别"),
        (with_rows((2, 6, "主任")), 4, "职务", "未知的职务"),
        (with_rows((2, 1, "未知")), 4, "性别", "性别应为"),
        (with_rows((1, 5, "2023-02-30")), 3, "入党日期", "日期无效"),
        (with_rows((1, 5, "2099-01-01")), 3, "入党日期", "日期无效"),
        (with_rows((0, 0, "")), 2, "姓名", "必填项为空"),
    ],
    ids=[
        "duplicate-phone",
        "bad-phone",
        "unknown-org",
        "dissolved-org",
        "unknown-category",
        "unknown-post",
        "unknown-sex",
        "bad-date",
        "future-date",
        "missing-cell",
    ],  # fmt: skip
)
def test_each_check_names_row_and_column(services: Any, rows: Any, row: int, column: str, words: str) -> None:
    with services.sessions() as db:
        load_tree(db)
        tree = [*TREE, ["GONE", "测试已撤销党支部", "党支部", "B", "", "", "", "", ""]]
        assert run(db, org_file(tree)).ok
        from tests.org_helpers import add_member

        add_member(db, org(db, "GONE"))  # a member keeps GONE: dropping it from the file dissolves it
        assert run(db, org_file()).counts == {"dissolved": 1}
        before = counts(db)
        plan = run(db, roster_file(rows), ROSTER)
        assert not plan.ok
        assert any(r == row and c == column and words in m for r, c, m in problems(plan)), problems(plan)
        assert counts(db) == before


def test_phones_as_people_write_them_and_dates_from_excel(services: Any) -> None:
    rows = with_rows((0, 2, "+86 199-0000-0001"), (1, 5, "2023年5月4日"))
    with services.sessions() as db:
        load_tree(db)
        plan = run(db, roster_file(rows, fmt="xlsx"), ROSTER, name="r.xlsx")
        assert plan.ok, problems(plan)
        phones = db.scalars(select(RosterMember.phone).order_by(RosterMember.phone)).all()
        assert phones == ["19900000001", "19900000002", "19900000003"]


def test_preview_writes_nothing_apply_then_reimport_is_a_no_op(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        preview = run(db, roster_file(), ROSTER, write=False)
        assert preview.ok and preview.counts == {"added": 3}
        assert preview.preview["added"][0].key == "199****0001"  # masked in the preview
        assert counts(db) == (6, 0)
        load_roster(db)
        assert counts(db) == (6, 3)
        again = run(db, roster_file(fmt="xlsx"), ROSTER, name="r.xlsx")
        assert again.ok and again.counts == {}


def test_transfer_keeps_the_id_writes_history_and_moves_the_binding(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        load_roster(db)
        member = db.scalar(select(RosterMember).where(RosterMember.phone == "19900000001"))
        confirm(db, "o-test-member-1", member)
        member_id = member.id
        plan = run(db, roster_file(with_rows((0, 3, "B"), (0, 4, "预备党员"))), ROSTER)
        assert plan.ok and plan.counts == {"changed": 1, "transferred": 1}
        db.expire_all()
        moved = db.get(RosterMember, member_id)
        assert moved.organisation_id == org(db, "B").id and moved.category == "预备党员"
        history = db.scalars(select(RosterTransfer)).all()
        assert [(h.member_id, h.from_organisation_id, h.to_organisation_id, h.actor) for h in history] == [
            (member_id, org(db, "A1").id, org(db, "B").id, "test")
        ]
        binding = db.get(Membership, "o-test-member-1")
        assert (binding.member_id, binding.organisation, binding.district) == (member_id, "B", "第二片区")


def test_members_absent_from_the_file_leave_the_roster_only_in_organisations_the_file_names(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        load_roster(db)
        plan = run(db, roster_file(ROSTER_ROWS[1:2]), ROSTER)  # only A1's second member: B is not in the file
        assert plan.ok and plan.counts == {"removed": 1}
        left = db.scalar(select(RosterMember).where(RosterMember.phone == "19900000001"))
        assert left is not None and left.left_at is not None
        kept = db.scalar(select(RosterMember).where(RosterMember.phone == "19900000003"))
        assert kept.left_at is None
        back = run(db, roster_file(), ROSTER)
        assert back.counts == {"changed": 1}


def test_a_failure_mid_apply_leaves_nothing(services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with services.sessions() as db:
        load_tree(db)

    def broken(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(roster_import, "follow_transfers", broken)  # after the inserts
    with services.sessions() as db, pytest.raises(RuntimeError):
        run(db, roster_file(), ROSTER)
    with services.sessions() as db:
        assert counts(db) == (6, 0)


def test_a_column_left_out_keeps_its_values(services: Any) -> None:
    from handlers.orgs.sheets import csv_bytes

    with services.sessions() as db:
        load_tree(db)
        load_roster(db)
        head = ["姓名", "手机号", "所属组织编码", "类别"]  # no 性别, 入党日期, 职务
        rows = [[r[0], r[2], r[3], r[4]] for r in ROSTER_ROWS]
        plan = run(db, csv_bytes([head, *rows]), ROSTER)
        assert plan.ok and plan.counts == {}


def test_progress_is_kept_in_redis_and_logs_hold_counts_only(services: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from handlers.orgs import import_run, importing
    from handlers.orgs.sheets import read
    from tests.handlers.orgs.import_helpers import CFG

    caplog.set_level(logging.DEBUG)
    with services.sessions() as db:
        load_tree(db)
        report = importing.Progress(services.redis, "t1")
        plan = import_run.run(db, read(roster_file(), ROSTER), CFG, write=True, actor="test", report=report)
        assert plan.ok
    state = importing.progress(services.redis)
    assert state == {"token": "t1", "stage": "apply", "rows": 3, "total": 3, "percent": 100.0}
    assert "added" in caplog.text
    for row in ROSTER_ROWS:
        assert row[0] not in caplog.text and row[2] not in caplog.text
