"""The committee's 三会一课 page (/console/meetings/compliance): a year's completion month by month by organisation,
guidance group and 片区, with inline SVG charts, the notices sent and an audited Excel export. Scoped accounts
(secretary, instructor) see their subtree only."""

from __future__ import annotations

import contextlib
import json
import tempfile

import redis
from flask import Blueprint, abort, render_template, request, send_file
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.paging import Page, page_number
from bot.console.scope import scope_root_of
from bot.console.web import current, db, role_required, services
from bot.core.clock import TZ
from bot.core.database import utcnow
from bot.core.organisations import Organisation
from handlers.orglife import compliance, compliance_export
from handlers.orglife.compliance import Cell, Row
from handlers.orglife.config import OrgLifeConfig
from handlers.orglife.reminders import STEP_LABELS, OrgLifeNotice

bp = Blueprint("compliance", __name__, url_prefix="/meetings/compliance", template_folder="templates")
ROLES = ("editor", "secretary", "instructor")  # admin holds them all; scoped roles see their subtree
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPOOL = 8 * 1024 * 1024
PER_PAGE = 100  # organisations per page
TTL = 60  # seconds a computed grid is reused from Redis
CACHE_KEY = "orglife:compliance:{}:{}"  # year, scope root id or "all"
VIEWS = {"org": "按组织", "group": "按指导小组", "district": "按片区"}


def encode_row(row: Row) -> list[object]:
    cells = [[c.on_time, c.late, c.missing, c.open] for c in row.months.values()]
    kinds = {k: [c.on_time, c.late, c.missing, c.open] for k, c in row.kinds.items()}
    return [row.key, row.label, cells, [row.year.on_time, row.year.late, row.year.missing, row.year.open], kinds]


def decode_row(raw: list) -> Row:
    key, label, cells, year, kinds = raw
    return Row(
        key, label, {m + 1: Cell(*c) for m, c in enumerate(cells)}, Cell(*year), {k: Cell(*c) for k, c in kinds.items()}
    )


PARTS = ("org", "group", "district", "total")


def compute(year: int, root: Organisation | None) -> dict[str, list[list]]:
    """The year's grid in scope as ordered, JSON-ready parts (org, group, district, total), as encode_row gives."""
    cfg = OrgLifeConfig.of(services().settings)
    grid = compliance.evaluate(db(), cfg, year, utcnow(), root, compliance.guidance_group_names(db()), detail=False)
    return {
        "org": grid.orgs.encoded(),
        "group": grid.groups.encoded(),
        "district": grid.districts.encoded(),
        "total": [encode_row(grid.total)],
    }


def rows_of(year: int, root: Organisation | None, part: str, start: int = 0, stop: int = -1) -> tuple[list[Row], int]:
    """Rows start..stop-1 (stop -1: all) of one part of the year's grid in scope and the part's length: from Redis
    lists when computed in the last TTL seconds (a page reads only its own rows), else computed and kept."""
    prefix, cache = CACHE_KEY.format(year, root.id if root else "all"), services().redis
    try:
        pipe = cache.pipeline()
        pipe.exists(f"{prefix}:ready")
        pipe.llen(f"{prefix}:{part}")
        pipe.lrange(f"{prefix}:{part}", start, stop - 1 if stop > 0 else -1)
        ready, length, found = pipe.execute()
    except redis.RedisError:
        ready = 0
    if ready:
        return [decode_row(json.loads(r)) for r in found], int(length)
    parts = compute(year, root)
    with contextlib.suppress(redis.RedisError):
        pipe = cache.pipeline()
        for name, rows in parts.items():
            pipe.delete(f"{prefix}:{name}")
            if rows:
                pipe.rpush(
                    f"{prefix}:{name}", *[json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows]
                )
                pipe.expire(f"{prefix}:{name}", TTL + 5)  # outlives the ready mark
        pipe.set(f"{prefix}:ready", 1, ex=TTL)
        pipe.execute()
    rows = parts[part]
    return [decode_row(r) for r in rows[start : stop if stop > 0 else None]], len(rows)


def scope() -> Organisation | None:
    """The account's scope root (None = the park); a scoped-only account without one sees nothing."""
    me, root = current(), scope_root_of()
    if root is None and me is not None and me.is_scoped_only:
        abort(403)
    return root


def year_arg() -> int:
    this_year = utcnow().astimezone(TZ).year
    raw = request.args.get("year", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= this_year + 1 else this_year


def notices(root: Organisation | None, limit: int = 30) -> list[tuple[OrgLifeNotice, str]]:
    """The latest reminders and escalations about organisations in scope, with each organisation's name."""
    query = (
        select(OrgLifeNotice, Organisation.name)
        .join(Organisation, Organisation.id == OrgLifeNotice.organisation_id)
        .order_by(OrgLifeNotice.created_at.desc(), OrgLifeNotice.id.desc())
        .limit(limit)
    )
    if root is not None:
        query = query.where(Organisation.path.startswith(root.path))
    return [(n, name) for n, name in db().execute(query).all()]


@bp.get("/")
@role_required(*ROLES)
def index() -> str:
    """Headline figures, the month-by-month chart, the grid of the chosen view (paged by organisation), notices."""
    year, root = year_arg(), scope()
    view = request.args.get("view", "org") if request.args.get("view") in VIEWS else "org"
    number = page_number()
    items, length = rows_of(year, root, view, (number - 1) * PER_PAGE, number * PER_PAGE)
    if not items and number > 1:  # past the end: the last page
        number = max(1, -(-length // PER_PAGE))
        items, length = rows_of(year, root, view, (number - 1) * PER_PAGE, number * PER_PAGE)
    page = Page(items, number, PER_PAGE, length)
    total = rows_of(year, root, "total")[0][0]
    cfg = OrgLifeConfig.of(services().settings)
    return render_template(
        "console/compliance.html",
        year=year,
        years=list(range(utcnow().astimezone(TZ).year, 2019, -1))[:6],
        root=root,
        view=view,
        views=VIEWS,
        page=page,
        total=total,
        peak=max([1] + [c.required for c in total.months.values()]),
        kinds=[(k.key, k.name) for k in cfg.kinds],
        notices=notices(root),
        step_labels=STEP_LABELS,
        percent=compliance.percent,
        ttl=TTL,
    )


@bp.get("/export.xlsx")
@role_required(*ROLES)
def export() -> Response:
    """The year's grid in scope by organisation, guidance group and 片区 as an Excel workbook (audited)."""
    year, root = year_arg(), scope()
    orgs, groups, districts = (rows_of(year, root, part)[0] for part in PARTS[:3])
    total = rows_of(year, root, "total")[0][0]
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (send_file closes it with the response)
    cfg = OrgLifeConfig.of(services().settings)
    rows = compliance_export.write(out, year, orgs, groups, districts, total, cfg)
    audit.record(
        "meetings.compliance_export",
        None,
        year=year,
        scope=f"{root.code} {root.name}" if root else "整个园区",
        rows=rows,
    )
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=f"三会一课完成情况_{year}.xlsx", max_age=0)
