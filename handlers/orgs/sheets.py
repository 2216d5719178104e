"""Import step 1, Flask-free: an uploaded xlsx or csv becomes rows of strings keyed by field, or a clear refusal.

Refused whole (nothing is checked further, nothing written): a file over the size limit, a file that is not a
spreadsheet (wrong magic bytes, a zip that is not xlsx, binary junk, an old .xls), a malformed xlsx, a missing
column. Refused by cell (row and column named): a formula (an xlsx formula cell, or a csv cell starting with
= + - @ — a number such as +86 138 0013 8000 or -5 is data, not a formula), script or HTML, control characters.
openpyxl reads xlsx XML with the standard library's expat, which resolves no external entity (no XXE) and, from
expat 2.4.1, refuses entity-expansion bombs; defusedxml is not installed, so openpyxl does not use it.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from openpyxl import Workbook, load_workbook

MAX_BYTES = 10 * 1024 * 1024  # default upload limit (organisations.import_max_mb in config.yaml)
MAX_CELL = 500  # characters in one cell
MAX_CELL_PROBLEMS = 50  # cell problems listed before the reader stops looking
TITLE_ROWS = 5  # rows above the header (a title, a note) that are skipped

ORG, ROSTER = "organisations", "roster"
NOTE = "note"  # the 备注 column: free text; a row whose 备注 is exactly 示例 is the template's example (skipped)
EXAMPLE_MARK = "示例"

# field → (Chinese header, English header); the order is the templates' column order
ORG_COLUMNS: dict[str, tuple[str, str]] = {
    "code": ("编码", "code"),
    "name": ("名称", "name"),
    "kind": ("类型", "kind"),
    "parent": ("上级编码", "parent code"),
    "district": ("片区", "district"),
    "enterprise": ("所属企业", "enterprise"),
    "secretary": ("书记", "secretary"),
    "phone": ("联系电话", "phone"),
    "group": ("指导小组", "guidance group"),
    NOTE: ("备注", "note"),
}
ROSTER_COLUMNS: dict[str, tuple[str, str]] = {
    "name": ("姓名", "name"),
    "sex": ("性别", "sex"),
    "phone": ("手机号", "phone"),
    "org": ("所属组织编码", "organisation code"),
    "category": ("类别", "category"),
    "joined": ("入党日期", "joined on"),
    "post": ("职务", "post"),
    NOTE: ("备注", "note"),
}
COLUMNS = {ORG: ORG_COLUMNS, ROSTER: ROSTER_COLUMNS}
REQUIRED_COLUMNS = {ORG: ("code", "name", "kind", "parent"), ROSTER: ("name", "phone", "org", "category")}
EXAMPLES = {  # the templates' example row (its 备注 is 示例: the importer skips it)
    ORG: {
        "code": "zhibu01",
        "name": "示例公司党支部",
        "kind": "党支部",
        "parent": "qiye",
        "district": "第一片区",
        "enterprise": "示例公司",
        "secretary": "示例书记",
        "phone": "19900000000",
        "group": "第一指导小组",
    },
    ROSTER: {
        "name": "示例党员",
        "sex": "男",
        "phone": "19900000000",
        "org": "zhibu01",
        "category": "正式党员",
        "joined": "2010-07-01",
        "post": "组织委员",
    },
}

FORMULA_START = ("=", "+", "-", "@")
NUMBER_LIKE = re.compile(r"^[+-]?[\d][\d\s\-().]*$")  # +86 138 0013 8000, -5, 2020-07-01: data
SCRIPT = re.compile(
    r"<\s*/?\s*(script|iframe|img|svg|a|object|embed|style|link|meta|body|html)\b|javascript:|\bon\w+\s*=", re.I
)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
XLSX_MAGIC, OLE_MAGIC = b"PK\x03\x04", b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where the editor sees it in Excel (row 0: the whole file; column "": the whole row)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"第{self.row}行" if self.row else "文件"
        return f"{where}{'「' + self.column + '」' if self.column else ''}：{self.message}"


class SheetError(Exception):
    """The file is refused: every problem found (Chinese, by row and column where there is one)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = list(problems)


def refuse(message: str) -> SheetError:
    return SheetError([Problem(0, "", message)])


@dataclass
class Sheet:
    """The rows of one upload: `rows` are (Excel row number, values in `fields` order), blank rows dropped."""

    kind: str
    fields: tuple[str, ...]
    headers: dict[str, str]  # field → its header as written in the file
    rows: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)

    def header(self, name: str) -> str:
        return self.headers.get(name) or COLUMNS[self.kind][name][0]

    def getter(self) -> Any:
        """fn(values, field) → the cell's text ("" when the column is absent)."""
        index = {f: i for i, f in enumerate(self.fields)}

        def get(values: tuple[str, ...], name: str) -> str:
            i = index.get(name)
            return values[i] if i is not None else ""

        return get


def read(data: bytes, kind: str, filename: str = "", max_bytes: int = MAX_BYTES) -> Sheet:
    """Parse an upload of `kind` (ORG or ROSTER); SheetError says why it is refused."""
    if len(data) > max_bytes:
        raise too_big(max_bytes)
    if not data.strip():
        raise refuse("文件是空的")
    if data.startswith(XLSX_MAGIC):
        return from_rows(xlsx_rows(data), kind)
    if data.startswith(OLE_MAGIC):
        raise refuse("这是旧版 Excel（.xls）文件，请在 Excel 中另存为 .xlsx 或 CSV 后再上传")
    if filename.lower().endswith(".xlsx"):
        raise refuse("文件不是有效的 xlsx 表格（文件内容与扩展名不符）")
    return from_rows(csv_rows(data), kind)


def too_big(max_bytes: int) -> SheetError:
    return refuse(f"文件超过 {max_bytes // (1024 * 1024)} MB 的上限，请拆分后再上传")


def decode(data: bytes) -> str:
    """CSV text: UTF-8 with or without BOM, else GBK (GB18030) as Excel saves it on Chinese Windows."""
    head = data[:8192]
    if b"\x00" in head:
        raise refuse("文件不是表格（含二进制内容），请上传 xlsx 或 CSV 文件")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError:
            raise refuse("文件不是有效的 UTF-8 CSV，请重新导出") from None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise refuse("文件不是表格（无法识别的编码或二进制内容），请上传 xlsx 或 CSV（UTF-8 或 GBK）文件")


def csv_rows(data: bytes) -> Iterator[tuple[int, list[Any], set[int]]]:
    """(row number, cells, indexes of formula cells) of a csv file."""
    text = decode(data)
    if len(CONTROL.findall(text[:4096])) > 3:  # binary junk that happened to decode
        raise refuse("文件不是表格（含控制字符），请上传 xlsx 或 CSV 文件")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        for number, cells in enumerate(reader, start=1):
            yield number, cells, set()
    except csv.Error:
        raise refuse("CSV 格式有误（引号不成对或行格式错误），请用 Excel 重新导出") from None


def xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any], set[int]]]:
    """(row number, cell values, indexes of formula cells) of the first sheet of an xlsx file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile:
        raise refuse("文件不是有效的 xlsx 表格（压缩包已损坏）") from None
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise refuse("文件是压缩包但不是 xlsx 表格，请上传 xlsx 或 CSV 文件")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 — openpyxl raises anything on a broken workbook; it is the user's file
        raise refuse(f"xlsx 文件已损坏，无法读取（{exc.__class__.__name__}），请用 Excel 重新保存") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise refuse("xlsx 文件没有工作表")
        for number, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            # data_only=False: a formula cell's value is its formula text ("=…"); an array formula is an object
            formulas = {i for i, v in enumerate(row) if (isinstance(v, str) and v.startswith("=")) or not plain(v)}
            yield number, list(row), formulas
    except SheetError:
        raise
    except Exception as exc:  # noqa: BLE001 — a malformed sheet's XML fails inside openpyxl's reader
        raise refuse(f"xlsx 文件已损坏，无法读取（{exc.__class__.__name__}），请用 Excel 重新保存") from None
    finally:
        book.close()


def plain(value: Any) -> bool:
    """A value a cell holds as data (not a formula object)."""
    return value is None or isinstance(value, (str, int, float, date, time, timedelta))


def text_of(value: Any) -> str:
    """A cell's value as the text an editor sees (13800138000.0 → 13800138000, a date → 2020-07-01)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def cell_problem(text: str, formula: bool) -> str | None:
    """Why a cell is refused, or None."""
    if formula or text.startswith("="):
        return "单元格含公式，请改为纯文本或数值后再导入"
    if text.startswith(FORMULA_START) and not NUMBER_LIKE.match(text):
        return "单元格以 = + - @ 开头，可能被表格软件当作公式执行，请删去开头的符号"
    if CONTROL.search(text):
        return "单元格含控制字符，请删除后再导入"
    if SCRIPT.search(text):
        return "单元格含脚本或 HTML 标签，请删除后再导入"
    if len(text) > MAX_CELL:
        return f"单元格超过 {MAX_CELL} 个字符"
    return None


def header_key(text: str) -> str:
    return re.sub(r"[\s_\-*（）()]+", " ", text).strip().lower()


def header_map(kind: str) -> dict[str, str]:
    """Normalised header text (Chinese or English) → field."""
    found: dict[str, str] = {}
    for name, (zh, en) in COLUMNS[kind].items():
        found[header_key(zh)] = name
        found[header_key(en)] = name
        found[header_key(name)] = name
    return found


def from_rows(rows: Iterable[tuple[int, list[Any], set[int]]], kind: str) -> Sheet:
    """The header is the first non-blank row naming two known columns (a title row above it, such as
    「某园区党员花名册」, is skipped, up to TITLE_ROWS rows); the rest become a Sheet (cell problems refuse it)."""
    known = header_map(kind)
    sheet: Sheet | None = None
    seen = 0
    positions: list[tuple[int, str]] = []
    problems: list[Problem] = []
    intern: dict[str, str] = {}
    for number, cells, formulas in rows:
        texts = [text_of(c) for c in cells]
        if sheet is None:
            if not any(texts):
                continue
            seen += 1
            if sum(header_key(t) in known for t in texts) < 2 and seen < TITLE_ROWS:
                if any(cell_problem(t, i in formulas) for i, t in enumerate(texts)):  # a title is checked too
                    raise refuse(f"第{number}行不是列名，且含公式、脚本或控制字符")
                continue
            sheet, positions = header(number, texts, kind, known)
            continue
        if not any(texts[i] for i, _ in positions if i < len(texts)):
            continue
        values = []
        for i, name in positions:
            text = texts[i] if i < len(texts) else ""
            bad = cell_problem(text, i in formulas)
            if bad and len(problems) < MAX_CELL_PROBLEMS:
                problems.append(Problem(number, sheet.header(name), bad))
            values.append(intern.setdefault(text, text) if len(text) <= 16 else text)
        for i in formulas:  # a formula in a column we do not read is refused too
            if all(i != p for p, _ in positions) and len(problems) < MAX_CELL_PROBLEMS:
                problems.append(Problem(number, f"第{i + 1}列", "单元格含公式，请改为纯文本或数值后再导入"))
        sheet.rows.append((number, tuple(values)))
    if sheet is None:
        raise refuse(
            "表格是空的：第一行应是列名（如 " + "、".join(h[0] for h in list(COLUMNS[kind].values())[:4]) + "）"
        )
    if problems:
        raise SheetError(problems)
    return sheet


def header(number: int, texts: list[str], kind: str, known: dict[str, str]) -> tuple[Sheet, list[tuple[int, str]]]:
    positions: list[tuple[int, str]] = []
    headers: dict[str, str] = {}
    problems = []
    for i, text in enumerate(texts):
        name = known.get(header_key(text))
        if not text:
            continue
        if name is None:
            bad = cell_problem(text, False)
            if bad:
                problems.append(Problem(number, f"第{i + 1}列", bad))
            continue  # an unknown column is ignored
        if name in headers:
            problems.append(Problem(number, text, f"列「{text}」出现了两次"))
            continue
        headers[name] = text
        positions.append((i, name))
    for name in REQUIRED_COLUMNS[kind]:
        if name not in headers:
            zh, en = COLUMNS[kind][name]
            problems.append(Problem(number, zh, f"缺少必需的列「{zh}」（或英文 {en}）"))
    if problems:
        raise SheetError(problems)
    sheet = Sheet(kind=kind, fields=tuple(n for _, n in positions), headers=headers)
    return sheet, positions


def template_rows(kind: str) -> list[list[str]]:
    """The template: the Chinese headers and one example row marked 示例."""
    columns = COLUMNS[kind]
    example = {**EXAMPLES[kind], NOTE: EXAMPLE_MARK}
    return [[zh for zh, _ in columns.values()], [example.get(name, "") for name in columns]]


def template_csv(kind: str) -> bytes:
    """The template as UTF-8 CSV with a BOM (Excel opens it with the right encoding)."""
    out = io.StringIO()
    csv.writer(out).writerows(template_rows(kind))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    return xlsx_bytes(template_rows(kind), "组织" if kind == ORG else "花名册")


def xlsx_bytes(rows: Iterable[Sequence[Any]], title: str = "Sheet1") -> bytes:
    """Rows written as an xlsx file (write-only: bounded memory); every cell stored as text."""
    book = Workbook(write_only=True)
    ws = book.create_sheet(title)
    for row in rows:
        ws.append(["" if v is None else str(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: Iterable[Sequence[Any]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)
