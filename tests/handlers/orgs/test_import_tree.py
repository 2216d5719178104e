"""The organisation tree import: each check names row and column, preview writes nothing, apply, idempotence,
dissolved vs deleted, paths of moved subtrees, one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.core.members import Membership
from bot.core.organisations import GuidanceGroup, Organisation
from handlers.orgs import tree_import
from tests.handlers.orgs.import_helpers import TREE, counts, load_roster, load_tree, org, org_file, problems, run
from tests.org_helpers import add_member


def with_rows(*changes: tuple[int, int, str]) -> list[list[str]]:
    rows = [list(r) for r in TREE]
    for i, col, value in changes:
        rows[i][col] = value
    return rows


@pytest.mark.parametrize(
    ("rows", "row", "column", "words"),
    [
        (with_rows((3, 3, "NOPE")), 5, "上级编码", "不在文件中"),
        (with_rows((1, 3, "A1")), 3, "上级编码", "循环"),
        (with_rows((4, 0, "A")), 6, "编码", "编码重复（与第5行相同）"),
        (with_rows((5, 2, "支部")), 7, "类型", "未知的类型"),
        (with_rows((1, 4, "第十一片区")), 3, "片区", "未知的片区"),
        (with_rows((3, 7, "1234")), 5, "联系电话", "手机号"),
        (with_rows((3, 1, "")), 5, "名称", "必填项为空"),
        (with_rows((5, 3, "")), 7, "上级编码", "必填项为空"),
        (with_rows((2, 4, "")), 4, "片区", "片区党委必须填写片区"),
    ],
    ids=[
        "unknown-parent",
        "cycle",
        "duplicate-code",
        "unknown-kind",
        "unknown-district",
        "bad-phone",
        "missing-cell",
        "missing-parent",
        "district-committee-without-district",
    ],  # fmt: skip
)
def test_each_check_names_row_and_column(services: Any, rows: Any, row: int, column: str, words: str) -> None:
    with services.sessions() as db:
        plan = run(db, org_file(rows))
        assert not plan.ok
        assert any(r == row and c == column and words in m for r, c, m in problems(plan)), problems(plan)
        assert counts(db) == (0, 0)


def test_preview_writes_nothing_then_apply_and_reimport_is_a_no_op(services: Any) -> None:
    with services.sessions() as db:
        preview = run(db, org_file(), write=False)
        assert preview.ok and preview.counts == {"added": 6}
        assert counts(db) == (0, 0)
        load_tree(db)
        assert counts(db) == (6, 0)
        a1, root = org(db, "A1"), org(db, "R")
        assert a1.path == f"/{root.id}/{org(db, 'D1').id}/{org(db, 'A').id}/{a1.id}/"
        assert a1.district == "第一片区" and root.district is None  # inherited from the 片区党委
        assert org(db, "A").phone == "19900000100"
        groups = db.scalars(select(GuidanceGroup.name).order_by(GuidanceGroup.name)).all()
        assert groups == ["第一指导小组", "第二指导小组"]
        again = run(db, org_file(fmt="xlsx"), name="x.xlsx")
        assert again.ok and again.counts == {}


def test_change_moves_a_subtree_and_refreshes_bindings(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        db.add(Membership(openid="o-test-1", organisation="A1", district="第一片区"))
        db.commit()
        plan = run(db, org_file(with_rows((3, 3, "D2"), (3, 1, "测试甲公司党委（新）"))))
        assert plan.ok and plan.counts == {"changed": 2}
        item = plan.preview["changed"][0]
        assert (
            item.key == "A"
            and ("上级编码", "D1", "D2") in item.changes
            and ("片区", "第一片区", "第二片区") in item.changes
        )
        a1 = org(db, "A1")
        assert a1.path.startswith(org(db, "D2").path) and a1.district == "第二片区"
        assert db.get(Membership, "o-test-1").district == "第二片区"


def test_absent_organisations_dissolved_when_they_have_members_else_deleted(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        add_member(db, org(db, "B"), "测试党员")
        plan = run(db, org_file(TREE[:3] + [TREE[3]]))  # drop A1 (no history) and B (a member)
        assert plan.ok and plan.counts == {"dissolved": 1, "deleted": 1}
        assert [i.key for i in plan.preview["dissolved"]] == ["B"]
        assert org(db, "B").dissolved_at is not None
        assert db.scalar(select(Organisation).where(Organisation.code == "A1")) is None
        restored = run(db, org_file())
        assert restored.counts == {"added": 1, "changed": 1} and org(db, "B").dissolved_at is None


def test_a_dissolved_child_keeps_its_absent_parent(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        add_member(db, org(db, "A1"), "测试党员")
        plan = run(db, org_file(TREE[:3] + [TREE[5]]))  # drop A and A1
        assert plan.counts == {"dissolved": 2}


def test_a_failure_mid_apply_leaves_nothing(services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with services.sessions() as db:
        load_tree(db)

    def broken(*_args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(tree_import, "refresh_districts", broken)  # the last step of apply fails
    with services.sessions() as db, pytest.raises(RuntimeError):
        run(db, org_file(with_rows((3, 3, "D2"), (1, 1, "改名"))))
    with services.sessions() as db:
        assert org(db, "D1").name == "测试第一片区党委" and org(db, "A").parent_id == org(db, "D1").id


def test_roster_organisation_must_exist_and_not_be_dissolved(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        load_roster(db)
        assert counts(db) == (6, 3)


def test_a_template_imports_nothing_and_never_empties_the_tree(services: Any) -> None:
    from handlers.orgs.sheets import ORG, ROSTER, template_csv

    with services.sessions() as db:
        load_tree(db)
        for kind in (ORG, ROSTER):
            plan = run(db, template_csv(kind), kind)
            assert [m for _r, _c, m in problems(plan)] == [
                "文件中没有" + ("组织" if kind == ORG else "党员") + "（示例行不导入）"
            ]
        assert counts(db) == (6, 0)


def test_optional_columns_left_out_keep_their_values(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        head = ["编码", "名称", "类型", "上级编码", "片区"]
        plan = run(db, org_file([r[:5] for r in TREE], head=head))
        assert plan.ok and plan.counts == {}
        assert org(db, "A").phone == "19900000100"


def test_the_preview_masks_the_secretary_and_phone(services: Any) -> None:
    with services.sessions() as db:
        load_tree(db)
        plan = run(db, org_file(with_rows((3, 6, "测试新书记"), (3, 7, "19900000199"))), write=False)
        assert plan.preview["changed"][0].changes == [
            ("书记", "测**记", "测***记"),
            ("联系电话", "199****0100", "199****0199"),
        ]
