"""Console content pages: browse and preview episodes, album articles and quiz questions; reload content/."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from bot.console.audit import ACTIONS, record
from bot.console.forms import ActionForm
from bot.console.web import login_required, role_required, services
from bot.library.loader import Episode
from bot.library.questions import THEMES

bp = Blueprint("content", __name__, url_prefix="/content", template_folder="templates")
SHOWN_PROBLEMS = 20  # problems listed on the page after a refused reload
ACTIONS.setdefault("content.reload", "重新加载内容")


@bp.get("/")
@login_required
def index() -> str:
    """The serial, the albums and the quiz bank at a glance."""
    lib = services().content.current()
    themes = {t: sum(1 for q in lib.questions.values() if q.theme == t) for t in THEMES}
    return render_template("console/content.html", lib=lib, themes=themes, action_form=ActionForm())


@bp.get("/item/<item_id>")
@login_required
def item(item_id: str) -> str:
    """Preview one episode, article or question as members see it."""
    lib = services().content.current()
    found: Any = lib.by_id.get(item_id) or lib.questions.get(item_id)
    if found is None:
        abort(404)
    kind = "episode" if isinstance(found, Episode) else "question" if item_id in lib.questions else "article"
    source = lib.by_id.get(found.source) if kind == "question" else None
    return render_template("console/content_item.html", item=found, kind=kind, source=source)


@bp.post("/reload")
@role_required("editor")
def reload() -> Response:
    """Check content/ and swap every process to it; a bad file changes nothing."""
    if not ActionForm().validate_on_submit():
        abort(400)
    problems = services().content.reload()
    record("content.reload", target="content/", ok=not problems, problems=[str(p) for p in problems[:SHOWN_PROBLEMS]])
    if problems:
        flash(f"内容有 {len(problems)} 处问题，未重新加载，仍在使用原内容：", "error")
        for p in problems[:SHOWN_PROBLEMS]:
            flash(str(p), "error")
    else:
        lib = services().content.current()
        flash(
            f"已重新加载：{len(lib.episodes)} 集、{sum(len(a.articles) for a in lib.albums)} 篇文章、"
            f"{len(lib.questions)} 道题。各进程将在几秒内切换。",
            "success",
        )
    return redirect(url_for("console.content.index"))
