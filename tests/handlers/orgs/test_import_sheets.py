"""Reading uploads: xlsx and csv (UTF-8 with or without BOM, GBK), Chinese or English headers; refusals with a
clear message for a big file, a non-spreadsheet, a malformed xlsx, formulas, script and control characters."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import Workbook

from handlers.orgs.sheets import (
    ORG,
    ROSTER,
    SheetError,
    csv_bytes,
    read,
    template_csv,
    template_xlsx,
)
from tests.handlers.orgs.import_helpers import ORG_HEAD, ROSTER_HEAD, TREE, org_file, roster_file

ENGLISH = ["Code", "Name", "Kind", "Parent code", "District", "Enterprise", "Secretary", "Phone", "Guidance group"]


def refused(data: bytes, kind: str = ORG, name: str = "x.csv", max_bytes: int = 10 * 1024 * 1024) -> str:
    with pytest.raises(SheetError) as caught:
        read(data, kind, name, max_bytes)
    return "\n".join(map(str, caught.value.problems))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_reads_both_formats_with_chinese_or_english_headers(fmt: str) -> None:
    for head in (ORG_HEAD, ENGLISH):
        sheet = read(org_file(fmt=fmt, head=head), ORG, f"x.{fmt}")
        get = sheet.getter()
        assert len(sheet.rows) == len(TREE)
        number, values = sheet.rows[3]
        assert number == 5 and get(values, "code") == "A" and get(values, "phone") == "19900000100"
        assert sheet.header("parent") == head[3]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings(encoding: str) -> None:
    sheet = read(
        csv_bytes([ROSTER_HEAD, ["测试党员一", "男", "19900000001", "A1", "正式党员", "", ""]], encoding), ROSTER
    )
    assert sheet.getter()(sheet.rows[0][1], "name") == "测试党员一"


def test_xlsx_numbers_and_dates_read_as_people_see_them() -> None:
    from datetime import datetime

    book = Workbook()
    ws = book.active
    ws.append(ROSTER_HEAD)
    ws.append(["测试党员一", "男", 19900000001, "A1", "正式党员", datetime(2010, 7, 1), None])
    out = io.BytesIO()
    book.save(out)
    sheet = read(out.getvalue(), ROSTER, "r.xlsx")
    get = sheet.getter()
    assert get(sheet.rows[0][1], "phone") == "19900000001" and get(sheet.rows[0][1], "joined") == "2010-07-01"


def test_a_file_over_the_limit_is_refused_before_parsing() -> None:
    assert "超过 10 MB" in refused(b"a" * (50 * 1024 * 1024))


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "x.csv", "不是表格"),
        (bytes(range(256)) * 40, "x.csv", "不是表格"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "x.xls", "旧版 Excel"),
        (b"hello", "x.xlsx", "不是有效的 xlsx"),
        (b"", "x.csv", "空的"),
    ],
    ids=["png", "binary-junk", "old-xls", "not-xlsx-by-name", "empty"],
)
def test_not_a_spreadsheet(data: bytes, name: str, words: str) -> None:
    assert words in refused(data, name=name)


def test_a_zip_that_is_not_xlsx_and_a_malformed_xlsx() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    assert "不是 xlsx" in refused(out.getvalue(), name="x.xlsx")
    good = org_file(fmt="xlsx")
    assert "xlsx" in refused(good[: len(good) // 2], name="x.xlsx")
    broken = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, b"<worksheet><sheetData><row" if item.filename.endswith("sheet1.xml") else data)
    assert "已损坏" in refused(broken.getvalue(), name="x.xlsx")


def test_formulas_are_refused_by_row_and_column() -> None:
    rows = [list(r) for r in TREE]
    rows[3][1] = '=HYPERLINK("http://example.invalid","点我")'
    message = refused(org_file(rows, fmt="xlsx"), name="x.xlsx")
    assert "第5行「名称」：单元格含公式" in message
    for bad in ("=1+1", "+SUM(A1)", "-2+3*cmd|' /C calc'!A0", "@SUM(A1)"):
        rows = [list(r) for r in TREE]
        rows[2][5] = bad
        assert "第4行「所属企业」" in refused(org_file(rows))


def test_numbers_with_a_sign_are_data_not_formulas() -> None:
    rows = [list(r) for r in TREE]
    rows[3][7] = "+86 199-0000-0100"
    sheet = read(org_file(rows), ORG)
    assert sheet.getter()(sheet.rows[3][1], "phone") == "+86 199-0000-0100"


@pytest.mark.parametrize("bad", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "a\x07b", "javascript:x"])
def test_script_html_and_control_characters_are_refused(bad: str) -> None:
    rows = [list(r) for r in TREE]
    rows[4][6] = bad
    assert "第6行「书记」" in refused(org_file(rows))


def test_a_missing_required_column_is_named() -> None:
    data = csv_bytes([ORG_HEAD[:3], ["R", "测试园区党工委", "党工委"]])
    assert "缺少必需的列「上级编码」" in refused(data)


@pytest.mark.parametrize("kind", [ORG, ROSTER])
def test_templates_parse_back_and_their_example_row_is_marked(kind: str) -> None:
    for data, name in ((template_csv(kind), "t.csv"), (template_xlsx(kind), "t.xlsx")):
        sheet = read(data, kind, name)
        assert len(sheet.rows) == 1 and sheet.getter()(sheet.rows[0][1], "note") == "示例"
    assert template_csv(kind).startswith(b"\xef\xbb\xbf")


def test_roster_file_reads() -> None:
    assert len(read(roster_file(fmt="xlsx"), ROSTER, "r.xlsx").rows) == 3


def test_a_title_row_above_the_header_is_skipped() -> None:
    data = csv_bytes(
        [["测试园区党员花名册（示例数据）"], ROSTER_HEAD, ["测试党员一", "男", "19900000001", "A1", "正式党员", "", ""]]
    )
    sheet = read(data, ROSTER)
    assert sheet.rows[0][0] == 3 and sheet.header("phone") == "手机号"
