"""Operations as click commands on app.cli (also `python -m bot <command>`)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from bot.console.web import services

log = logging.getLogger(__name__)
CREDENTIALS = re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s]*@")  # the user:password@ part of a URL
PASSWORD_PARAM = re.compile(r"(?i)\b(password=)[^&\s]*")  # unix:///run/redis.sock?password=...


@click.command("migrate")
@with_appcontext
def migrate_cmd() -> None:
    """Bring the database schema up to date (Alembic upgrade head)."""
    from bot.core.migrations import upgrade

    s = services()
    upgrade(s.engine)
    click.echo(f"database ready: {s.engine.url.render_as_string(hide_password=True)}")


@click.command("sync-menu")
@with_appcontext
def sync_menu_cmd() -> None:
    """Push the custom menu in config.yaml to WeChat."""
    s = services()
    result = s.outbox.sync_menu(s.settings.menu)
    if not result.ok:
        raise click.ClickException(f"menu not pushed: {result.errcode} {result.errmsg} ({result.kind})")
    click.echo("menu pushed to " + s.settings.api_base_url)


@click.command("scheduler")
@with_appcontext
def scheduler_cmd() -> None:
    """Run the scheduler as its own process (production: exactly one of these)."""
    from bot.scheduler import run_forever

    click.echo("scheduler starting; Ctrl-C to stop")
    services().points.rebuild()  # leaderboards match the ledger whenever the scheduler (re)starts
    run_forever(services())


@click.command("serve")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
def serve_cmd(host: str) -> None:
    """Development: migrate, start the scheduler in-process, serve webhook, emulator and console."""
    from werkzeug.serving import run_simple

    from bot.core.migrations import upgrade
    from bot.inbound.accesslog import PathOnlyHandler
    from bot.scheduler import Scheduler

    s = services()
    upgrade(s.engine)
    library = s.content.current()
    click.echo(
        f"content: {len(library.episodes)} episodes, {len(library.albums)} albums, {len(library.questions)} questions"
    )
    s.points.rebuild()
    if s.settings.scheduler.enabled:
        Scheduler(s).start()
    port = s.settings.port
    click.echo(f"\n  webhook:    http://{host}:{port}{s.settings.webhook.path}")
    if s.settings.emulator_enabled:
        click.echo(f"  chat page:  http://{host}:{port}/emulator   <- open this to talk to the bot\n")
    run_simple(
        host,
        port,
        current_app._get_current_object(),
        threaded=True,
        use_reloader=False,
        request_handler=PathOnlyHandler,
    )  # access log: paths only, never a webhook's signature


@click.command("chat")
@with_appcontext
@click.option(
    "--url",
    default=None,
    help="address of a running instance, e.g. http://127.0.0.1:5000 (default: this config's PORT)",
)
@click.option("--user", default=None, help="openid to chat as (default: a new simulated user)")
def chat_cmd(url: str | None, user: str | None) -> None:
    """Chat with a running bot from the terminal, as a simulated WeChat user."""
    from bot.emulator.terminal import run_chat

    run_chat(services().settings, url, user)


@click.command("check-content")
@with_appcontext
def check_content_cmd() -> None:
    """Validate content/ (episodes, albums, quiz bank); list every problem with file, line and id."""
    from bot.library.loader import ContentInvalid, load_library

    try:
        library = load_library(services().content.root, with_index=False)
    except ContentInvalid as exc:
        click.echo(str(exc), err=True)
        raise click.ClickException(f"content has {len(exc.problems)} problem(s)") from None
    articles = sum(len(a.articles) for a in library.albums)
    click.echo(f"content ok: {len(library.episodes)} episodes, {articles} articles, {len(library.questions)} questions")


@click.command("reload-content")
@with_appcontext
def reload_content_cmd() -> None:
    """Check content/ and make every running process swap to it; a bad file changes nothing."""
    problems = services().content.reload()
    if problems:
        click.echo("\n".join(map(str, problems)), err=True)
        raise click.ClickException(f"not reloaded: {len(problems)} problem(s); the old content keeps serving")
    click.echo("content reloaded; running processes switch within a few seconds")


@click.command("rebuild-leaderboards")
@with_appcontext
def rebuild_leaderboards_cmd() -> None:
    """Recompute every leaderboard from the points ledger."""
    result = services().points.rebuild()
    click.echo(f"leaderboards rebuilt: {result['members']} members in {result['seconds']:.2f} s")


@click.command("show-config")
@with_appcontext
def show_config_cmd() -> None:
    """Print the effective non-secret settings (validation runs at start-up)."""
    s = services().settings
    shown = {
        "env": s.env,
        "api_base_url": s.api_base_url,
        "database_url": s.database_url,
        "redis_url": s.redis_url or "embedded",
        "metrics_token": "set" if s.metrics_token else "unset",
        "defaults_used": s.defaults_used,
        **s.raw,
    }
    click.echo(json.dumps(masked(shown), ensure_ascii=False, indent=2))


def masked(value: Any) -> Any:
    """`value` with the credentials of every URL in it replaced by *** (redis://:***@host:6379/0)."""
    if isinstance(value, dict):
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    if not isinstance(value, str):
        return value
    return PASSWORD_PARAM.sub(r"\1***", CREDENTIALS.sub(r"\1***@", value))


def init_app(app: Flask) -> None:
    for cmd in (
        migrate_cmd,
        sync_menu_cmd,
        scheduler_cmd,
        serve_cmd,
        chat_cmd,
        check_content_cmd,
        reload_content_cmd,
        rebuild_leaderboards_cmd,
        show_config_cmd,
    ):
        app.cli.add_command(cmd)
