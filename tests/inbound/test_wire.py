"""bot.inbound.wire: signatures, AES round trip against wechatpy, the XML parser's refusals, CDATA safety."""

from __future__ import annotations

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.core.config import DEV_SECRETS
from bot.core.errors import RequestRefused
from bot.inbound.message import Article, Message, NewsReply, TextReply
from bot.inbound.wire import Crypto, cdata_safe, parse_xml, render, signature, to_message, verify
from tests.factories import BOMB, XXE

KEY, TOKEN, APPID = DEV_SECRETS["WECHAT_AES_KEY"], "devtoken", "wxdev0000000000001"


def test_signature_is_sha1_of_sorted_parts():
    assert signature("b", "a", "c") == signature("c", "b", "a")
    assert verify(signature(TOKEN, "1", "2"), TOKEN, "1", "2")
    assert not verify("0" * 40, TOKEN, "1", "2")
    assert not verify(None, TOKEN, "1", "2")
    assert not verify("非ascii", TOKEN, "1", "2")


def test_our_encryption_is_what_wechatpy_decrypts_and_back():
    ours, theirs = Crypto(TOKEN, KEY, APPID), WeChatCrypto(TOKEN, KEY, APPID)
    envelope = ours.envelope("<xml><Content><![CDATA[你好]]></Content></xml>", "nonce1", "1700000000")
    doc = parse_xml(envelope.encode())
    plain = theirs.decrypt_message(envelope, doc["MsgSignature"], "1700000000", "nonce1")
    assert "你好" in plain
    theirs_enc = theirs.encrypt_message("<xml><A>1</A></xml>", "n2", "1700000001")
    assert ours.decrypt(parse_xml(theirs_enc.encode())["Encrypt"]) == b"<xml><A>1</A></xml>"


def test_decrypt_refuses_other_appid_and_garbage():
    other = Crypto(TOKEN, KEY, "wxother000000000001")
    with pytest.raises(RequestRefused, match="another appid"):
        Crypto(TOKEN, KEY, APPID).decrypt(other.encrypt("<xml/>"))
    with pytest.raises(RequestRefused):
        Crypto(TOKEN, KEY, APPID).decrypt("not base64!!")


@pytest.mark.parametrize("body", [BOMB, XXE, b"<xml><a></xml>", b"", b"plain text", b"<other/>", b"<xml>x</xml>"])
def test_parse_refuses_dtd_entities_and_malformed(body):
    with pytest.raises(RequestRefused) as info:
        parse_xml(body)
    assert info.value.status == 400


def test_parse_nested_and_repeated():
    doc = parse_xml(b"<xml><A>1</A><B><item><C>x</C></item><item><C>y</C></item></B></xml>")
    assert doc == {"A": "1", "B": {"item": [{"C": "x"}, {"C": "y"}]}}


def test_cdata_safe_splits_terminator_and_drops_controls():
    assert cdata_safe("a]]>b\x00\x07c\n") == "a]]]]><![CDATA[>bc\n"


def test_render_text_with_terminator_parses_back():
    msg = to_message(
        {
            "FromUserName": "ouser",
            "ToUserName": "gh",
            "CreateTime": "1",
            "MsgType": "text",
            "Content": "x",
            "MsgId": "1",
        }
    )
    xml = render(TextReply("echo ]]><script>"), msg)
    assert parse_xml(xml.encode())["Content"] == "echo ]]><script>"


def test_render_news_has_one_article():
    msg = Message("text", "ouser", "gh", 1, {})
    xml = render(NewsReply([Article("标题", "描述", "http://x.invalid/")]), msg)
    doc = parse_xml(xml.encode())
    assert doc["ArticleCount"] == "1" and doc["Articles"]["item"]["Title"] == "标题"


def test_to_message_requires_sender_and_time():
    with pytest.raises(RequestRefused):
        to_message({"MsgType": "text"})
    msg = to_message({"FromUserName": "o1", "CreateTime": "5", "MsgType": "event", "Event": "CLICK", "EventKey": "K"})
    assert (msg.event, msg.event_key, msg.msg_id, msg.dedupe_key) == ("click", "K", None, "e:o1:5:click:K:")
