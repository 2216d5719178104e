"""Temporary media in the fake API: media/upload and media/get behind the token gate, 3-day expiry (40007), size and
type checks, error injection, and the bot's client downloading through it."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from bot.core.errors import WeChatAPIError
from bot.emulator.keys import MEDIA, MEDIA_LIMITS, MEDIA_TTL
from tests.factories import AMR, PNG


def upload(live: str, token: str, kind: str, data: bytes | None, name: str = "a.png", mimetype: str = "") -> Any:
    files = {"media": (name, data, mimetype) if mimetype else (name, data)} if data is not None else None
    res = requests.post(
        f"{live}/emulator/cgi-bin/media/upload",
        params={"access_token": token, "type": kind},
        files=files,
        data=None if files else {"x": "1"},
        timeout=30,
    )
    assert res.status_code == 200, res.text
    return res.json()


def get(live: str, token: str, media_id: str) -> requests.Response:
    res = requests.get(
        f"{live}/emulator/cgi-bin/media/get", params={"access_token": token, "media_id": media_id}, timeout=30
    )
    assert res.status_code == 200
    return res


@pytest.fixture
def token(live: str, wxapi: Any) -> str:
    return wxapi.fresh_token()


def test_an_uploaded_image_comes_back_with_wechats_headers(live, token):
    answer = upload(live, token, "image", PNG, "photo.png")
    assert set(answer) == {"type", "media_id", "created_at"} and answer["type"] == "image"
    assert len(answer["media_id"]) == 64
    res = get(live, token, answer["media_id"])
    assert res.content == PNG
    assert res.headers["Content-Type"] == "image/png"
    assert res.headers["Content-disposition"] == f'attachment; filename="{answer["media_id"]}.png"'


def test_a_voice_upload_is_typed_by_its_content(live, token):
    answer = upload(live, token, "voice", AMR, "voice.bin")
    res = get(live, token, answer["media_id"])
    assert (res.content, res.headers["Content-Type"]) == (AMR, "audio/amr")
    assert res.headers["Content-disposition"].endswith('.amr"')


def test_an_unknown_or_expired_media_id_is_40007(live, token, emu):
    assert get(live, token, "no-such-media").json() == {"errcode": 40007, "errmsg": "invalid media_id"}
    media_id = emu.add_media("image", PNG, "image/png")
    assert get(live, token, media_id).content == PNG
    emu.expire_media(media_id)  # its 3 days are over
    assert get(live, token, media_id).json()["errcode"] == 40007
    assert get(live, token, "../" + "x" * 200).json()["errcode"] == 40007


def test_media_a_user_sends_is_kept_three_days(services, emu):
    media_id = emu.add_media("voice", AMR, "audio/amr")
    assert MEDIA_TTL - 60 < services.redis.ttl(MEDIA.format(media_id)) <= MEDIA_TTL == 3 * 86400
    media = emu.media(media_id)
    assert media is not None and (media.kind, media.content_type, media.data) == ("voice", "audio/amr", AMR)


def test_uploads_are_checked_like_wechats(live, token):
    assert upload(live, token, "video", PNG)["errcode"] == 40004
    assert upload(live, token, "image", b"not an image at all", "a.txt", "text/plain")["errcode"] == 40005
    assert upload(live, token, "voice", PNG)["errcode"] == 40005  # an image is not a voice message
    assert upload(live, token, "voice", b"#!AMR\n" + bytes(MEDIA_LIMITS["voice"]))["errcode"] == 40006
    assert upload(live, token, "image", None)["errcode"] == 41005
    assert upload(live, token, "image", b"")["errcode"] == 44001
    declared = upload(live, token, "image", b"\x00\x01 unknown", "a.jpg", "image/jpeg")  # trusted when unsniffable
    assert get(live, token, declared["media_id"]).headers["Content-Type"] == "image/jpeg"


def test_media_calls_pass_the_token_gate_and_injected_errors(live, token, emu):
    media_id = emu.add_media("image", PNG, "image/png")
    assert get(live, "", media_id).json()["errcode"] == 41001
    assert get(live, "not-a-token", media_id).json()["errcode"] == 40001
    assert upload(live, "not-a-token", "image", PNG)["errcode"] == 40001
    emu.inject("media/get", -1)
    assert get(live, token, media_id).json() == {"errcode": -1, "errmsg": "system error"}
    assert get(live, token, media_id).content == PNG  # once only
    control = {"path": "/cgi-bin/media/upload", "errcode": 45009}
    requests.post(f"{live}/emulator/control/inject", json=control, timeout=10)
    assert upload(live, token, "image", PNG)["errcode"] == 45009


def test_the_bots_client_downloads_media(live, services, emu):
    media_id = emu.add_media("image", PNG, "image/png")
    got = services.wx.download_media(media_id, 1024)
    assert (got.data, got.content_type) == (PNG, "image/png")
    with pytest.raises(WeChatAPIError) as expired:
        services.wx.download_media("gone", 1024)
    assert expired.value.errcode == 40007
    with pytest.raises(WeChatAPIError) as large:
        services.wx.download_media(media_id, 10)
    assert (large.value.errcode, large.value.kind) == (None, "too_large")


def test_the_bots_client_refreshes_a_refused_token_once(live, services, emu):
    media_id = emu.add_media("image", PNG, "image/png")
    old = services.wx.access_token
    emu.expire_token(old)
    services.wx._cached = None
    assert services.wx.download_media(media_id, 1024).data == PNG
    assert services.wx.access_token != old
