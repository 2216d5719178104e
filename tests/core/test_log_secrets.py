"""No access token, secret, AES key, query string, full openid or full phone number in any log line or traceback."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from bot.core.database import utcnow
from bot.core.errors import WeChatAPIError
from bot.core.logs import scrub
from bot.emulator.client import new_openid
from bot.outbound.client import WxClient
from handlers.tickets.media import fetch_one
from handlers.tickets.models import TicketMedia
from tests.production_helpers import Captured, closed_port

PHONE = "13900138000"


def broken_client(services, base_url: str) -> WxClient:
    """A client sharing the app's token (in Redis) whose API calls fail at `base_url`."""
    s = services.settings
    return WxClient(s.appid, s.secret, base_url, services.redis, timeout=2.0)


@pytest.mark.parametrize("where", ["refused", "not_found"])
def test_a_failed_media_fetch_logs_no_token(live, services, where):
    token = services.wx.access_token  # issued by the emulator
    base = f"http://127.0.0.1:{closed_port()}/emulator/cgi-bin/" if where == "refused" else f"{live}/emulator/missing/"
    failing = dataclasses.replace(services, wx=broken_client(services, base))
    row = TicketMedia(ticket_id=1, media_id="MEDIA_ID_123", kind="image")
    with Captured() as logged:
        fetch_one(failing, row, utcnow())
    assert row.error == "network" and "not fetched" in logged.text
    assert token not in logged.text and "access_token" not in logged.text and "MEDIA_ID_123" not in logged.text
    assert "media/get" in logged.text  # the path stays: the operator can tell what failed


def test_the_api_error_itself_carries_no_query(live, services):
    token = services.wx.access_token
    failing = broken_client(services, f"{live}/emulator/missing/")
    with pytest.raises(WeChatAPIError) as info:
        failing.download_media("MEDIA_ID_123", 1024)
    assert token not in str(info.value) and "?" not in str(info.value) and "404" in str(info.value)


def test_a_traceback_holding_secrets_is_scrubbed(services):
    s = services.settings
    openid = new_openid()
    log = logging.getLogger("bot.test_log_secrets")
    with Captured() as logged:
        try:
            try:
                raise ValueError(
                    f"GET https://api.weixin.qq.com/cgi-bin/media/get?media_id=x&access_token=TOKEN123456 "
                    f"phone {PHONE} from {openid}"
                )
            except ValueError as inner:
                raise RuntimeError(f"secret={s.secret} key {s.aes_key} token {s.token} 手机 139.0013.8000") from inner
        except RuntimeError:
            log.exception("handler failed for %s (%s)", openid, "１３９００１３８０００")
    text = logged.text
    assert "Traceback" in text and "RuntimeError" in text and "ValueError" in text and "handler failed" in text
    for leak in (
        "TOKEN123456",
        "access_token=",
        PHONE,
        "139.0013.8000",
        "１３９００１３８０００",
        openid,
        s.secret,
        s.aes_key,
        "media_id=x",
    ):
        assert leak not in text, leak
    assert "139****8000" in text and openid[:4] in text


def test_the_request_log_keeps_the_path_but_not_the_query(services):
    with Captured() as logged:
        logging.getLogger("werkzeug").info(
            '127.0.0.1 - - "POST /wechat?signature=abc123&timestamp=1&nonce=987654&openid=%s HTTP/1.1" 200 -',
            new_openid(),
        )
    assert '"POST /wechat HTTP/1.1" 200' in logged.text and "abc123" not in logged.text and "987654" not in logged.text


@pytest.mark.parametrize(
    "text,hidden",
    [
        ('{"appid": "wx1", "secret": "S3CR3T-value"}', "S3CR3T-value"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("password=hunter2&user=x", "hunter2"),
        ("联系 +86 139 0013 8000", "139 0013 8000"),
    ],
)
def test_secret_fields_and_phones_are_hidden_wherever_written(text, hidden):
    assert hidden not in scrub(text)


def test_gunicorn_loggers_are_guarded_too():
    from bot.core.logs import Scrub, guard

    logger = logging.getLogger("gunicorn.error.test")
    handler = logging.StreamHandler()
    logger.addHandler(handler)
    try:
        guard(logger)
        assert any(isinstance(f, Scrub) for f in handler.filters)
    finally:
        logger.removeHandler(handler)
