"""The chat page at /emulator in a real headless Chromium (Playwright), against the live server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.emulator import chat
from bot.emulator.client import SimClient
from bot.emulator.state import EmulatorState
from tests.browser_helpers import LAPTOP, PHONE, WAIT, expect
from tests.factories import PNG

NASTY = "<script>window.pwned = 1</script> ]]> <b>粗</b> &amp;"


@pytest.fixture
def page(browser: Any, live: str) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(live + "/emulator")
    yield pg
    context.close()
    assert errors == [], errors


def new_user(page: Any, nickname: str) -> str:
    """Create and follow a user from the page; its openid."""
    page.fill("#nickname", nickname)
    page.click("#create-user")
    expect(page.locator("#follow")).to_be_visible()
    page.click("#follow")
    expect(page.locator(".msg.account .bubble").last).to_contain_text("欢迎关注", timeout=WAIT)
    return page.evaluate("decodeURIComponent(location.hash.slice(1))")


def send(page: Any, text: str) -> None:
    if page.locator("#to-input").is_visible():
        page.click("#to-input")
    page.fill("#text", text)
    page.press("#text", "Enter")


def test_conversation_menu_and_out_of_band(page: Any, services: Any, live: str, browser: Any):
    openid = new_user(page, "小张")
    expect(page.locator(".user-list li.active .name")).to_have_text("小张")
    expect(page.locator(".sys").first).to_have_text("你关注了公众号")

    send(page, "帮助")
    expect(page.locator(".msg.user .bubble").last).to_have_text("帮助", timeout=WAIT)
    expect(page.locator(".msg.account .bubble").last).to_contain_text("常用指令", timeout=WAIT)
    expect(page.locator(".msg.account .bubble").last).to_contain_text("· 服务：我要反映、我的诉求、党员认证、帮助")

    page.click("#to-menu")
    page.click("#menu-buttons button:has-text('服务')")
    expect(page.locator("#sub-menu")).to_be_visible()
    page.click("#sub-menu button:has-text('帮助')")
    expect(page.locator("#sub-menu")).to_be_hidden()
    expect(page.locator(".sys").last).to_have_text("点击菜单「帮助」", timeout=WAIT)
    expect(page.locator(".msg.account .bubble:has-text('常用指令')")).to_have_count(2, timeout=WAIT)

    result = services.outbox.send_text(openid, "您的诉求已受理，请留意后续通知。")
    assert result.ok, f"fake API refused the customer-service message: {result}"
    last = page.locator(".msg.account").last
    expect(last.locator(".bubble")).to_have_text("您的诉求已受理，请留意后续通知。", timeout=WAIT)
    expect(last.locator(".label")).to_have_text("客服消息")
    kinds = page.locator(".messages > [data-seq]").evaluate_all("els => els.map(e => e.dataset.seq)")
    assert kinds == sorted(kinds, key=int)  # one conversation, in log order

    page.screenshot(path="/tmp/chat-laptop.png")
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2, locale="zh-CN")
    small = phone.new_page()
    small.goto(f"{live}/emulator#{openid}")
    expect(small.locator(".msg.account .label").last).to_have_text("客服消息", timeout=WAIT)
    expect(small.locator("#users-pane")).to_be_hidden()  # the phone shows the chat screen alone
    small.screenshot(path="/tmp/chat-phone.png")
    small.click("#back")
    expect(small.locator("#users-pane")).to_be_visible()
    phone.close()


def test_message_text_is_shown_literally(page: Any):
    new_user(page, "<img src=x onerror=alert(1)>")
    expect(page.locator(".user-list li.active .name")).to_have_text("<img src=x onerror=alert(1)>")
    send(page, NASTY)
    expect(page.locator(".msg.user .bubble").last).to_have_text(NASTY, timeout=WAIT)
    expect(page.locator(".msg.account .bubble").last).to_contain_text("「<script>window.pwned", timeout=WAIT)
    assert page.evaluate("window.pwned") is None
    assert page.locator(".messages script, .messages b, .messages img").count() == 0


def test_failed_webhook_shows_the_error_line(page: Any, services: Any, monkeypatch: pytest.MonkeyPatch):
    new_user(page, "小错")
    s = services.settings

    def dead_client() -> SimClient:  # nothing listens on port 9
        return SimClient(
            "http://127.0.0.1:9/wechat", s.token, s.aes_key, s.appid, observer=EmulatorState(services.redis)
        )

    monkeypatch.setattr(chat, "sim_client", dead_client)
    send(page, "有人吗")
    line = page.locator(".sys.error").last
    expect(line).to_contain_text("该公众号暂时无法提供服务，请稍后再试", timeout=WAIT)
    expect(line.locator("small")).to_contain_text("3 次尝试")
    expect(page.locator(".msg.user .bubble").last).to_have_text("有人吗")


def test_a_picture_is_sent_and_shown(page: Any, emu: EmulatorState):
    openid = new_user(page, "小照")
    if page.locator("#to-input").is_visible():
        page.click("#to-input")
    page.set_input_files("#picture", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG}])
    img = page.locator(".msg.user img.bubble-img").last
    expect(img).to_be_visible(timeout=WAIT)
    assert page.evaluate("(img) => img.naturalWidth", img.element_handle()) == 1
    [sent] = emu.messages(openid, kind="image")
    assert emu.media(sent["body"]["MediaId"]).data == PNG
    page.set_input_files("#picture", files=[{"name": "a.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(page.locator(".sys.error").last).to_contain_text("只能发送 JPG、PNG、GIF 或 BMP 图片", timeout=WAIT)


def test_unfollow_shows_the_follow_button(page: Any):
    new_user(page, "小走")
    page.click("#more")
    page.click("#unfollow")
    expect(page.locator("#follow")).to_be_visible(timeout=WAIT)
    expect(page.locator(".sys").last).to_have_text("你已不再关注公众号")
    expect(page.locator(".user-list li.active .tag")).to_have_text("未关注")


def test_news_is_a_card_and_only_http_links_are_links(page: Any, services: Any):
    openid = new_user(page, "小图")
    send(page, "你好")  # opens the 48 h window for customer-service messages
    expect(page.locator(".msg.account .bubble").last).to_contain_text("你好", timeout=WAIT)
    articles = [
        {"title": "百年党史一百问", "description": "每天一问。", "url": "https://example.com/a?x=1&y=<2>", "picurl": ""}
    ]
    assert services.outbox.send_custom(openid, {"msgtype": "news", "news": {"articles": articles}}).ok
    card = page.locator("a.card-news").last
    expect(card.locator(".card-title")).to_have_text("百年党史一百问", timeout=WAIT)
    expect(card.locator(".card-desc")).to_have_text("每天一问。")
    assert card.get_attribute("href") == "https://example.com/a?x=1&y=%3C2%3E"
    assert card.get_attribute("target") == "_blank"
    bad = [{"title": "坏链接", "description": "", "url": "javascript:alert(1)", "picurl": ""}]
    assert services.outbox.send_custom(openid, {"msgtype": "news", "news": {"articles": bad}}).ok
    expect(page.locator("div.card-news .card-title").last).to_have_text("坏链接", timeout=WAIT)
    assert page.locator("a[href^='javascript']").count() == 0
