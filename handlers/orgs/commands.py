"""CLI of the orgs feature: import-organisations / import-roster FILE [--yes], and import-samples for `make run`.

Without --yes a command only checks and prints the plan's counts (or every problem by row and column, exit 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from bot.console.audit import write as audit_write
from bot.console.web import services
from bot.core.organisations import Organisation, OrganisationsConfig
from handlers.orgs import import_run, importing
from handlers.orgs.sheets import ORG, ROSTER, SheetError, read

SAMPLES = Path(__file__).resolve().parents[2] / "content" / "samples"


def max_bytes() -> int:
    section = services().settings.raw.get("organisations") or {}
    return int(section.get("import_max_mb") or 10) * 1024 * 1024


def run_file(path: Path, kind: str, yes: bool, actor: str = "cli") -> importing.Plan:
    """Read, check, print; apply with `yes` under the one-import lock. Problems → ClickException (exit 1)."""
    s = services()
    if path.stat().st_size > max_bytes():
        raise click.ClickException(f"{path.name}: 文件超过 {max_bytes() // (1024 * 1024)} MB 的上限")
    try:
        sheet = read(path.read_bytes(), kind, path.name, max_bytes())
    except SheetError as exc:
        fail(exc.problems)
    try:
        with importing.import_lock(s.redis), s.sessions() as db:
            report = importing.Progress(s.redis, "cli")
            plan = import_run.run(db, sheet, OrganisationsConfig.of(s.settings), write=yes, actor=actor, report=report)
            if plan.ok and yes:
                audit_write(db, "orgs.import", None, actor_name=actor, target=importing.KIND_NAMES[kind],
                            details=plan.summary(), ip="cli")  # fmt: skip
                import_run.settle(s, plan)
    except importing.Busy:
        raise click.ClickException(importing.BUSY) from None
    if not plan.ok:
        fail(plan.problems)
    counts = "，".join(
        f"{name} {plan.counts.get(key, 0)}" for key, name in importing.COUNT_NAMES.items() if key in plan.counts
    )
    click.echo(f"{path.name}: {plan.rows} 行；{counts or '没有任何修改'}")
    click.echo("已导入。" if yes else "仅检查，未写入（加 --yes 导入）。")
    return plan


def fail(problems: list[importing.Problem]) -> NoReturn:
    for p in problems:
        click.echo(f"行 {p.row or '-'}\t列 {p.column or '-'}\t{p.message}", err=True)
    raise click.ClickException(f"{len(problems)} 个问题，未做任何修改")


@click.command("import-organisations")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="apply the import (without it: check and print the plan only)")
def import_organisations_cmd(file: Path, yes: bool) -> None:
    """Check (and with --yes import) the organisation tree from an xlsx or csv file."""
    run_file(file, ORG, yes)


@click.command("import-roster")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="apply the import (without it: check and print the plan only)")
def import_roster_cmd(file: Path, yes: bool) -> None:
    """Check (and with --yes import) the roster (党员花名册) from an xlsx or csv file."""
    run_file(file, ROSTER, yes)


@click.command("import-samples")
@with_appcontext
def import_samples_cmd() -> None:
    """Import content/samples/ (the sample tree and its fictional members) when no organisation exists yet."""
    if services().settings.env == "production":
        raise click.ClickException("import-samples is for development: import the park's own files in production")
    with services().sessions() as db:
        if db.scalar(select(func.count(Organisation.id))):
            click.echo("organisations already imported: samples skipped")
            return
    run_file(SAMPLES / "organisations.csv", ORG, True, actor="samples")
    run_file(SAMPLES / "roster.csv", ROSTER, True, actor="samples")
