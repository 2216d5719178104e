"""`create-admin`: the first console account, from a script or with a hidden prompt."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.accounts import Account, AuditEntry
from tests.console.console_helpers import login


def script(password: str) -> dict[str, str]:
    """The environment a script gives create-admin its password in (no prompt)."""
    return {"CONSOLE_ADMIN_PASSWORD": password}


def accounts(services) -> list[Account]:
    with services.sessions() as db:
        return list(db.execute(select(Account).order_by(Account.id)).scalars())


def test_create_admin_with_the_password_from_the_environment(runner, client, services):
    result = runner.invoke(args=["create-admin", "--username", "root"], env=script("long enough 1"))
    assert result.exit_code == 0, result.output
    assert "已创建管理员「root」" in result.output
    [root] = accounts(services)
    assert root.roles == ["admin"] and root.active and not root.must_change_password
    assert root.password_hash.startswith("$argon2id$")
    assert login(client, "root", "long enough 1").status_code == 302
    with services.sessions() as db:
        entry = db.execute(select(AuditEntry)).scalars().first()
    assert (entry.actor, entry.action, entry.target, entry.ip) == ("cli", "admin.create", "root", None)


def test_create_admin_prompts_for_the_password_twice(runner, services):
    result = runner.invoke(args=["create-admin", "--username", "root"], input="prompted pass 1\nprompted pass 1\n")
    assert result.exit_code == 0, result.output
    assert "密码" in result.output and "prompted pass 1" not in result.output  # hidden input
    assert [a.username for a in accounts(services)] == ["root"]


def test_create_admin_refuses_weak_or_taken(runner, services):
    weak = runner.invoke(args=["create-admin", "--username", "root"], env=script("short"))
    assert weak.exit_code != 0 and "密码至少需要 12 个字符" in weak.output
    bad_name = runner.invoke(args=["create-admin", "--username", "a b"], env=script("long enough 1"))
    assert bad_name.exit_code != 0 and "用户名" in bad_name.output
    runner.invoke(args=["create-admin", "--username", "root"], env=script("long enough 1"))
    again = runner.invoke(args=["create-admin", "--username", "root"], env=script("long enough 2"))
    assert again.exit_code != 0 and "--reset" in again.output
    assert len(accounts(services)) == 1


def test_create_admin_reset_recovers_a_locked_out_admin(runner, client, make_account, services):
    make_account("root", "editor", active=False)
    result = runner.invoke(args=["create-admin", "--username", "root", "--reset"], env=script("recovered at dawn 7"))
    assert result.exit_code == 0, result.output
    [root] = accounts(services)
    assert root.active and "admin" in root.roles
    assert login(client, "root", "recovered at dawn 7").status_code == 302
