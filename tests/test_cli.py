"""Operator commands: sync-menu pushes config.yaml's menu; show-config hides secrets."""

from __future__ import annotations


def test_sync_menu_pushes_the_configured_menu(runner, live, services):
    result = runner.invoke(args=["sync-menu"])
    assert result.exit_code == 0, result.output
    pushed = services.wx.menu.get()
    names = [b["name"] for b in pushed["menu"]["button"]]
    assert names == [b["name"] for b in services.settings.section("menu")["button"]]


def test_sync_menu_reports_a_refusal(runner, live, services):
    from bot.emulator.state import EmulatorState

    EmulatorState(services.redis).inject("menu/create", 48001)
    result = runner.invoke(args=["sync-menu"])
    assert result.exit_code != 0 and "48001" in result.output


def test_show_config_hides_secrets(runner, services):
    result = runner.invoke(args=["show-config"])
    assert result.exit_code == 0
    assert services.settings.secret not in result.output and services.settings.secret_key not in result.output


def test_rebuild_leaderboards_command(runner, services):
    from bot.core.database import utcnow
    from handlers.quiz.models import PointsEntry
    from handlers.quiz.points import day_of

    with services.sessions() as db:
        db.add(PointsEntry(openid="oCli", activity="daily", points=4, reason="t", award_key="k1", day=day_of(utcnow())))
        db.commit()
    result = runner.invoke(args=["rebuild-leaderboards"])
    assert result.exit_code == 0 and "1 members" in result.output
    assert services.redis.zscore("lb:all", "oCli") == 4
