"""The console's 党建数据 page (/console/orgs/figures): 认证率, 参学率 and average points by organisation (drilling down
the tree, or every organisation of a kind) and by 片区, for a week or a month, with bar charts and an audited Excel
export. A scoped account (secretary, instructor) sees its own subtree only."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from flask import Blueprint, abort, render_template, request, send_file
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.paging import Page, page_number
from bot.console.scope import require_in_scope, scope_root_of
from bot.console.web import current, db, role_required, services
from bot.core.organisations import KINDS, Organisation, OrganisationsConfig
from handlers.orgs import figures, figures_cache, figures_export
from handlers.orgs.figures import Period, Row, Tree

bp = Blueprint("org_figures", __name__, url_prefix="/orgs/figures", template_folder="templates")
ROLES = ("editor", "secretary", "instructor")  # admin holds them all; scoped roles see their subtree
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL = 8 * 1024 * 1024  # an export up to this size stays in memory
PER_PAGE = 100  # organisations per page when listing every organisation of a kind
CHART_ROWS = 30  # bars drawn per chart (the table holds them all)
COLUMNS = (  # sort key → header
    ("name", "组织"),
    ("roster", "党员数"),
    ("confirmed", "已认证"),
    ("auth", "认证率"),
    ("studied", "参学人数"),
    ("study", "参学率"),
    ("points", "人均积分"),
)


@dataclass
class Bar:
    """A chart line: the label, 认证率 and 参学率 as lengths out of 100, and the text after the bars."""

    label: str
    lengths: list[float]
    text: str


def bars(rows: list[Row]) -> list[Bar]:
    """The chart of a table: its first CHART_ROWS rows that have members, in the table's order."""
    return [
        Bar(
            r.label,
            [100 * (r.auth_rate or 0), 100 * (r.study_rate or 0)],
            f"{figures.percent(r.auth_rate)} · {figures.percent(r.study_rate)} · {figures.average(r.avg_points)}分",
        )
        for r in [r for r in rows if r.roster][:CHART_ROWS]
    ]


def build(period: Period) -> tuple[Organisation | None, Tree]:
    """The account's scope and its organisations' figures for `period` (a secretary or instructor whose organisation
    is unset or gone sees nothing rather than the whole park)."""
    me, root = current(), scope_root_of()
    if root is None and me is not None and me.is_scoped_only:
        abort(403)
    districts = OrganisationsConfig.of(services().settings).districts if root is None else ()
    return root, figures_cache.tree(services().redis, db(), period, root, districts)


def node_of(root: Organisation | None, tree: Tree) -> Organisation | None:
    """The organisation whose children the table lists: ?org=, else the scope's root, else the park's only top."""
    raw = request.args.get("org", "")
    if raw.isdigit():
        return require_in_scope(db().get(Organisation, int(raw)))
    if root is not None:
        return root
    tops = tree.children.get(None, [])
    return db().get(Organisation, tops[0]) if len(tops) == 1 else None


def crumbs(root: Organisation | None, node: Organisation | None, tree: Tree) -> list[Row]:
    """The rows from the scope's top down to `node` (links back up the tree)."""
    if node is None:
        return []
    ids = [int(i) for i in node.path.strip("/").split("/")]
    return [tree.rows[i] for i in ids if i in tree.rows]


def listing(root: Organisation | None, tree: Tree, sort: str) -> tuple[Organisation | None, Row | None, Page, str]:
    """The organisations table: every organisation of ?kind= in scope (paged), or the node's children."""
    kind = request.args.get("kind", "")
    if kind in KINDS:
        rows = figures.sort_rows([r for r in tree.rows.values() if r.kind == kind], sort)
        number = min(page_number(), max(1, -(-len(rows) // PER_PAGE)))
        return (
            None,
            tree.total,
            Page(rows[(number - 1) * PER_PAGE : number * PER_PAGE], number, PER_PAGE, len(rows)),
            kind,
        )
    node = node_of(root, tree)
    ids = tree.children.get(node.id if node else None, [])
    rows = figures.sort_rows([tree.rows[i] for i in ids], sort)
    head = tree.rows.get(node.id) if node else tree.total
    return node, head, Page(rows, 1, max(1, len(rows)), len(rows)), ""


@bp.get("/")
@role_required(*ROLES)
def index() -> str:
    """The period picker, the scope's headline figures, the organisations and 片区 tables and their charts."""
    today = figures.today_in_china()
    period = Period.parse(request.args.get("period"), today)
    sort = request.args.get("sort", "study") if request.args.get("sort") in figures.SORTS else "study"
    root, tree = build(period)
    node, head, page, kind = listing(root, tree, sort)
    districts = figures.sort_rows([d for d in tree.districts.values() if root is None or d.roster], sort)
    return render_template(
        "console/orgs_figures.html",
        period=period,
        periods=figures.offered(today),
        sort=sort,
        columns=COLUMNS,
        root=root,
        node=node,
        head=head or Row("", "合计"),
        crumbs=crumbs(root, node, tree),
        page=page,
        kind=kind,
        kinds=KINDS,
        districts=districts,
        org_bars=bars(page.items),
        district_bars=bars(districts),
        percent=figures.percent,
        average=figures.average,
        ttl=figures_cache.TTL,
    )


@bp.get("/export.xlsx")
@role_required(*ROLES)
def export() -> Response:
    """Every organisation in the account's scope and every 片区, for the period, as an Excel workbook (audited)."""
    period = Period.parse(request.args.get("period"), figures.today_in_china())
    root, tree = build(period)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (send_file closes it with the response)
    rows = figures_export.write(out, period, tree, root)
    scope = f"{root.code} {root.name}" if root else "整个园区"
    audit.record("orgs.figures_export", None, period=period.key, scope=scope, rows=rows)
    out.seek(0)
    name = f"党建数据_{period.key}.xlsx"
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=name, max_age=0)
