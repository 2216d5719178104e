"""The editor console at /console (always on): accounts and roles, audit log, followers and tags.

Server-rendered Flask + Jinja; init_app wires cookies, CSRF, the blueprint tree and `create-admin`.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, Flask

from bot.console.web import SESSION_IDLE, SESSION_MAX
from bot.core import accounts  # noqa: F401  (registers the console tables on Base.metadata)
from bot.core.feature import NavEntry


def init_app(app: Flask, pages: Sequence[Blueprint] = (), nav: Sequence[NavEntry] = ()) -> None:
    """Session cookie policy, CSRF protection, the /console views (the features' `pages` and `nav` links among them)
    and the create-admin command."""
    from bot.console import nav as console_nav
    from bot.console.blueprint import add_pages, bp, csrf
    from bot.console.cli import create_admin_cmd

    add_pages(list(pages))
    app.extensions["console_nav"] = console_nav.build(nav)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["BOT"].env == "production",
        PERMANENT_SESSION_LIFETIME=SESSION_IDLE,
        WTF_CSRF_CHECK_DEFAULT=False,  # only console views check it (the webhook and fake API have no forms)
        WTF_CSRF_TIME_LIMIT=int(SESSION_MAX.total_seconds()),
    )
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.cli.add_command(create_admin_cmd)
