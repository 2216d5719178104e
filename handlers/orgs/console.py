"""The console's organisation pages: the tree with its counts, one organisation (edit, move, 撤销).

Every route checks the role AND the account's scope (handlers/orgs/access.py); every change is audited. The roster
pages (handlers/orgs/console_roster.py) and the 指导小组 pages (handlers/orgs/groups_console.py) are routes of this
same blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.console import audit
from bot.console.forms import ActionForm
from bot.console.web import db, role_required, services
from bot.core.organisations import GuidanceGroup, Organisation, OrganisationsConfig, mask_name
from handlers.orgs import access, console_roster, groups_console, orgedit, roster_export, tree as org_tree
from handlers.orgs.forms import OrgForm, options, problems_to
from handlers.orgs.groups_console import groups

bp = Blueprint("orgs", __name__, url_prefix="/orgs", template_folder="templates")
VIEW = access.VIEW_ROLES
IMPORTS = "console.org_imports.index"  # the import page (another part of the feature); linked when present
DEPTHS = (1, 2, 3, 4, 6)  # levels the tree page may open at once

for rule, endpoint, view, methods in (*console_roster.ROUTES, *roster_export.ROUTES, *groups_console.ROUTES):
    bp.add_url_rule(rule, endpoint, view, methods=methods)


def trees() -> org_tree.TreeCache:
    """This app's cache of built trees (shared by its threads; each test's app has its own)."""
    return current_app.extensions.setdefault("orgs_trees", org_tree.TreeCache())  # type: ignore[no-any-return]


def config() -> OrganisationsConfig:
    return OrganisationsConfig.of(services().settings)


# ----- the tree ---------------------------------------------------------------------------------------------


def int_arg(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else default


@bp.get("/")
@role_required(*VIEW)
def tree() -> str:
    """The tree with counts, from the account's scope (or ?at=<organisation>), folded below ?depth levels."""
    depth = min(int_arg("depth", 2), DEPTHS[-1])
    dissolved = request.args.get("dissolved", "")
    dissolved = dissolved if dissolved in org_tree.DISSOLVED_FILTERS else ""
    q = request.args.get("q", "").strip()[:50]
    at_id = int_arg("at", 0)
    whole = trees().get(services().redis, db(), access.scope())
    top = whole.nodes.get(at_id) if at_id else None
    if at_id and top is None:
        abort(404)  # not an organisation inside the account's scope
    rows = whole.search(q, dissolved) if q else whole.rows(top, depth, dissolved)
    full = {row.node.id for row in rows if row.node.secretary} if access.runs_scope() else set()
    if full:
        audit.record("orgs.view", top.code if top else None, shown=len(full))
    return render_template(
        "console/orgs_tree.html",
        rows=rows,
        top=top,
        crumbs=whole.ancestors(top) if top else [],
        totals=whole.total(),
        depth=depth,
        depths=DEPTHS,
        dissolved=dissolved,
        q=q,
        limit=org_tree.ROW_LIMIT,
        search_limit=org_tree.SEARCH_LIMIT,
        secretary=lambda node: node.secretary if node.id in full else mask_name(node.secretary or ""),
        group_names={g.id: g.name for g in groups()},
        imports_url=url_for(IMPORTS) if IMPORTS in current_app.view_functions else None,
        can_edit=access.can_edit_orgs(),
    )


# ----- one organisation -------------------------------------------------------------------------------------


def org_form(org: Organisation, data: bool = True) -> OrgForm:
    form = OrgForm() if not data else OrgForm(data=orgedit.current_fields(db(), org).__dict__)
    form.district.choices = options(config().districts, "（无）")
    form.group_id.choices = options([(str(g.id), g.name) for g in groups()], "（无）")
    if data:
        form.group_id.data = str(org.guidance_group_id or "")
    return form


def show_org(org: Organisation, form: OrgForm) -> str:
    parent = db().get(Organisation, org.parent_id) if org.parent_id else None
    children = list(
        db().scalars(select(Organisation).where(Organisation.parent_id == org.id).order_by(Organisation.code))
    )
    full = access.runs(org) or access.can_edit_orgs()
    if full and (org.secretary or org.phone):
        audit.record("orgs.view", org.code, fields=["secretary", "phone"])
    return render_template(
        "console/orgs_org.html",
        org=org,
        parent=parent,
        children=children,
        form=form,
        action_form=ActionForm(),
        can_edit=access.can_edit_orgs(),
        at_scope_top=access.scope() is not None and access.scope().id == org.id,  # type: ignore[union-attr]
        full=full,
        secretary=org.secretary if full else mask_name(org.secretary or ""),
        group=db().get(GuidanceGroup, org.guidance_group_id) if org.guidance_group_id else None,
    )


@bp.get("/<int:org_id>")
@role_required(*VIEW)
def org(org_id: int) -> str:
    """One organisation: its details, sub-organisations and, for those who may, the edit form."""
    found = access.org_or_404(org_id)
    return show_org(found, org_form(found))


def wanted_fields(form: OrgForm) -> orgedit.OrgFields:
    group = form.group_id.data or ""
    return orgedit.OrgFields(
        name=form.name.data or "",
        kind=form.kind.data or "",
        parent_code=(form.parent_code.data or "").strip(),
        district=form.district.data or "",
        enterprise=form.enterprise.data or "",
        secretary=form.secretary.data or "",
        phone=form.phone.data or "",
        group_id=int(group) if group.isdigit() else None,
    )


@bp.post("/<int:org_id>")
@role_required(*access.EDIT_ROLES)
def edit(org_id: int) -> Any:
    """Save the edit form: everything checked first (a cycle, the scope, the 片区, the phone), then one commit."""
    found = access.org_or_404(org_id)
    if not access.can_edit_orgs():
        abort(403)
    form = org_form(found, data=False)
    if not form.validate_on_submit():
        return show_org(found, form)
    try:
        changed = orgedit.edit(db(), found, wanted_fields(form), config().districts, access.scope())
    except orgedit.EditRefused as exc:
        db().rollback()
        problems_to(form, exc.problems)
        return show_org(found, form)
    if changed:
        audit.record("orgs.edit", found.code, fields=changed)  # commits the edit with its entry
        org_tree.bump(services().redis)
        flash(f"已保存「{found.name}」。", "success")
    else:
        flash("没有修改。", "success")
    return redirect(url_for(".org", org_id=found.id))


@bp.post("/<int:org_id>/<any(dissolve, restore):action>")
@role_required(*access.EDIT_ROLES)
def dissolve(org_id: int, action: str) -> Response:
    """撤销 an organisation (it keeps its members and history) or restore it."""
    found = access.org_or_404(org_id)
    if not access.can_edit_orgs() or not ActionForm().validate_on_submit():
        abort(403 if not access.can_edit_orgs() else 400)
    try:
        if action == "dissolve":
            orgedit.dissolve(db(), found, access.scope())
        else:
            orgedit.restore(db(), found)
    except orgedit.EditRefused as exc:
        db().rollback()
        for message in exc.problems.values():
            flash(message, "error")
        return redirect(url_for(".org", org_id=found.id))
    audit.record(f"orgs.{action}", found.code)
    org_tree.bump(services().redis)
    flash(f"已{'撤销' if action == 'dissolve' else '恢复'}「{found.name}」。", "success")
    return redirect(url_for(".org", org_id=found.id))
