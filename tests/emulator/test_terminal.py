"""`python -m bot chat` (bot/emulator/terminal.py) against the live server, with typed lines fed from a list."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bot.emulator.state import EmulatorState
from bot.emulator.terminal import base_url, format_item, run_chat


def typed(lines: Iterable[Any]) -> Callable[[str], str]:
    """An input function giving `lines` in turn (a callable is run and its result typed), then end of input."""
    queue = list(lines)

    def read(prompt: str) -> str:
        if not queue:
            raise EOFError
        line = queue.pop(0)
        return line() if callable(line) else line

    return read


def chat(app: Any, live: str, lines: Iterable[Any], user: str | None = None) -> list[str]:
    out: list[str] = []
    run_chat(app.extensions["bot"].settings, live, user, input_fn=typed(lines), print_fn=out.append, poll_interval=60)
    return out


def test_new_user_follows_and_gets_help(app, live, services):
    out = chat(app, live, ["帮助", "/quit"])
    text = "\n".join(out)
    assert "身份：终端用户" in out[0]
    assert "欢迎关注" in text  # the welcome after following
    help_line = next(line for line in out if "常用指令" in line)
    assert help_line.startswith("公众号：您好！这里是园区微党建公众号")
    assert "\n    · 学习：新声·百年百事、学习专辑" in help_line  # later lines indented under the first
    assert out[-1] == "再见。"
    users = EmulatorState(services.redis).users()
    assert len(users) == 1 and users[0]["subscribed"]


def test_menu_click_and_out_of_band_messages(app, live, services, user):
    def account_sends() -> str:  # while the user "types", the account sends a customer-service message
        assert services.outbox.send_text(user, "您的诉求已受理 ]]> <script>").ok
        return ""

    out = chat(app, live, ["你好", "/menu", "/click HELP", account_sends, "/click NOPE", "/frob", "/quit"], user=user)
    text = "\n".join(out)
    assert "服务\n  我要反映    /click TICKET_NEW" in text
    assert any(line.startswith("公众号：您好！") for line in out)  # the HELP click's reply
    assert "公众号[客服消息]：您的诉求已受理 ]]> <script>" in out
    assert any("✗ 菜单里没有 click 按钮" in line for line in out)
    assert "未知命令 /frob。输入 /help 查看命令。" in out
    assert not any("欢迎关注" in line for line in out)  # already following: no second subscribe


def test_unfollow_then_follow(app, live, user):
    out = chat(app, live, ["/unfollow", "你好", "/follow", "//slash"], user=user)
    text = "\n".join(out)
    assert "· 你已不再关注公众号" in text
    assert "✗ 请先关注公众号" in text
    assert "欢迎关注" in text
    assert "「/slash」" in text  # "//" sends a text starting with "/" (searched; a miss quotes it)


def test_unknown_user_is_created(app, live, services):
    out = chat(app, live, ["/quit"], user="oNoSuchUser")
    assert out[0] == "（新建了模拟用户 oNoSuchUser）"
    assert [u["openid"] for u in EmulatorState(services.redis).users()] == ["oNoSuchUser"]


def test_instance_not_running(app, port):
    with pytest.raises(SystemExit) as exc:
        run_chat(app.extensions["bot"].settings, None, None, input_fn=typed([]), print_fn=print)
    assert "无法连接到" in str(exc.value) and "python -m bot serve" in str(exc.value)


def test_base_url(app):
    s = app.extensions["bot"].settings
    assert base_url(s, None) == f"http://127.0.0.1:{s.port}"
    assert base_url(s, "http://10.0.0.5:8000/wechat") == "http://10.0.0.5:8000"
    assert base_url(s, "localhost:5000") == "http://localhost:5000"


def test_format_items():
    news = {
        "side": "account",
        "format": "news",
        "label": "",
        "articles": [{"title": "标题", "description": "描述", "url": "https://x.test", "picurl": ""}],
    }
    assert format_item(news) == "公众号：【图文】标题\n    描述\n    https://x.test"
    error = {"side": "system", "format": "error", "text": "该公众号暂时无法提供服务，请稍后再试", "detail": "HTTP 500"}
    assert format_item(error) == "  ⚠ 该公众号暂时无法提供服务，请稍后再试（HTTP 500）"
    assert format_item({"side": "user", "format": "text", "text": "hi"}) == ""
