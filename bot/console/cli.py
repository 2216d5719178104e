"""`python -m bot create-admin`: the first console account (or a locked-out admin's new password)."""

from __future__ import annotations

import os
import re

import click
from flask.cli import with_appcontext

from bot.console import audit
from bot.console.accounts import AccountError, by_username, create_account, set_password
from bot.console.forms import USERNAME
from bot.console.security import password_problem
from bot.console.web import services

PASSWORD_ENV = "CONSOLE_ADMIN_PASSWORD"  # the password for scripts (no prompt when set)


def check_credentials(username: str, password: str) -> None:
    """The same rules as the accounts page; a refusal stops the command with the reason."""
    if not re.fullmatch(USERNAME, username):
        raise click.ClickException("用户名为 3–32 个字母、数字或 _ . -")
    problem = password_problem(password, username)
    if problem:
        raise click.ClickException(problem)


@click.command("create-admin")
@click.option("--username", required=True, help="the admin's login name")
@click.option("--reset", is_flag=True, help="if the account exists: new password, admin role, enabled again")
@with_appcontext
def create_admin_cmd(username: str, reset: bool) -> None:
    """Create a console admin account (roles: admin); the password is asked for twice, hidden.

    Scripts give it in the environment variable CONSOLE_ADMIN_PASSWORD instead (never on the command line,
    where the shell history and the process list would keep it)."""
    password = os.environ.get(PASSWORD_ENV) or click.prompt(
        "密码（至少 12 个字符）", hide_input=True, confirmation_prompt="再输一次"
    )
    check_credentials(username, password)
    with services().sessions() as session:
        existing = by_username(session, username)
        if existing is not None and not reset:
            raise click.ClickException(f"账号「{username}」已存在；加 --reset 重设其密码并授予管理员角色")
        if existing is not None:
            set_password(existing, password, must_change=False)
            existing.roles, existing.active = sorted(set(existing.roles or []) | {"admin"}), True
            audit.write(session, "admin.reset", None, actor_name="cli", target=username)
            click.echo(f"已重置管理员「{username}」")
            return
        try:
            create_account(session, username, password, ["admin"])
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        audit.write(session, "admin.create", None, actor_name="cli", target=username)
    click.echo(f"已创建管理员「{username}」，请在 /console/login 登录")
