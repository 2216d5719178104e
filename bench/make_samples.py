"""Write content/samples/: the sample organisation tree and sample roster, as xlsx and csv (run after editing).

Run: python bench/make_samples.py

The tree holds only organisations the source reports name (content/README.md lists them), under the root
长沙经开区党工委, plus one placeholder 片区党委 per placeholder 片区 of config.yaml. The reports do not say where
each organisation sits or who runs it: the named ones hang directly under the 党工委 with no 片区, secretary or
phone, for editors to correct. The old content/organisations.yaml ids are kept as codes, so memberships carried
over from 绑定组织 still match. Every member is invented (示例党员N, 199 0000 phone numbers) and marked 示例数据.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.orgs.sheets import ORG_COLUMNS, ROSTER_COLUMNS, csv_bytes, xlsx_bytes  # noqa: E402

OUT = ROOT / "content" / "samples"
REPORT = "来源：《澎湃红色动力 崛起力量之都——长沙经开区“围绕发展抓党建、抓好党建促发展”纪实》"
NUMBERS = "一二三四五六七八九十"
# code, name, kind, parent code, enterprise (all named by the report)
NAMED = [
    ("jiguan", "机关党委", "党委", "jkq", ""),
    ("qiye", "企业党委", "党委", "jkq", ""),
    ("jituan", "集团公司党委", "党委", "jkq", ""),
    ("chengjian", "城建公司党委", "党委", "jkq", ""),
    ("saic-vw", "上汽大众长沙分公司党委", "党委", "jkq", "上汽大众长沙分公司"),
    ("gac-mitsubishi", "广汽三菱党委", "党委", "jkq", "广汽三菱"),
    ("gac-mitsubishi-purchasing", "广汽三菱采购部党支部", "党支部", "gac-mitsubishi", "广汽三菱"),
    ("gac-fca", "广汽菲克党委", "党委", "jkq", "广汽菲克"),
    ("sany", "三一集团党委", "党委", "jkq", "三一集团"),
    ("gac-dongyang", "长沙广汽东阳汽车零部件有限公司党支部", "党支部", "jkq", "长沙广汽东阳汽车零部件有限公司"),
    ("antolin", "长沙安道拓党支部", "党支部", "jkq", "长沙安道拓"),
]
MEMBER_ORGS = ["jiguan", "qiye", "saic-vw", "gac-mitsubishi-purchasing", "sany", "gac-dongyang"]
CATEGORIES = ["正式党员", "正式党员", "预备党员", "发展对象", "入党积极分子"]
POSTS = ["书记", "组织委员", "", "", ""]


def districts() -> list[str]:
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    return list(config["organisations"]["districts"])


def organisations() -> list[list[str]]:
    rows = [["jkq", "长沙经开区党工委", "党工委", "", "", "", "", "", "", "示例数据；" + REPORT]]
    for n, district in enumerate(districts(), start=1):
        note = "示例数据：片区名称为占位（来源报道未列出片区名称），请改为园区实际名称"
        rows.append([f"pq{n:02d}", f"{district}党委", "片区党委", "jkq", district, "", "", "", "", note])
    for code, name, kind, parent, enterprise in NAMED:
        note = "示例数据：上级、片区、书记待编辑补充；" + REPORT
        rows.append([code, name, kind, parent, "", enterprise, "", "", "", note])
    return rows


def roster() -> list[list[str]]:
    rows, n = [], 0
    for code in MEMBER_ORGS:
        for i in range(5):
            n += 1
            name = f"示例党员{number(n)}"
            joined = f"{1990 + n}-07-01" if CATEGORIES[i] in ("正式党员", "预备党员") else ""
            sex = "男" if n % 2 else "女"
            rows.append([name, sex, f"199000000{n:02d}", code, CATEGORIES[i], joined, POSTS[i], "示例数据（虚构人员）"])
    return rows


def number(n: int) -> str:
    """1 → 一, 12 → 十二, 30 → 三十."""
    tens, ones = divmod(n, 10)
    return (NUMBERS[tens - 1] if tens > 1 else "") + ("十" if tens else "") + (NUMBERS[ones - 1] if ones else "")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, head, rows in (
        ("organisations", ORG_COLUMNS, organisations()),
        ("roster", ROSTER_COLUMNS, roster()),
    ):
        table = [[zh for zh, _ in head.values()], *rows]
        (OUT / f"{name}.csv").write_bytes(csv_bytes(table))
        (OUT / f"{name}.xlsx").write_bytes(xlsx_bytes(table, "组织" if name == "organisations" else "花名册"))
        print(f"{OUT / name}.csv / .xlsx: {len(rows)} rows")


if __name__ == "__main__":
    main()
