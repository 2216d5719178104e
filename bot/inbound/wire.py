"""WeChat's wire format at the webhook: verify signatures, AES decrypt/encrypt, parse XML, render replies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
import time
from typing import Any
from xml.parsers import expat

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.core.errors import RequestRefused
from bot.inbound import fit
from bot.inbound.message import Article, MediaReply, Message, NewsReply, Reply, TextReply

BLOCK = 32  # WeChat's PKCS#7 block size (not AES's 16)
ROOT_TAG = "xml"  # every WeChat message is <xml>...</xml>
# Elements nested deeper than this below <xml> are refused. WeChat's deepest documented shapes are 4 below <xml>
# (SendPicsInfo/PicList/item/PicMd5Sum of the photo menu events, CopyrightCheckResult/ResultList/item/ArticleIdx
# of MASSSENDJOBFINISH); one spare level keeps a new WeChat field from losing events while absurd nesting is refused.
MAX_DEPTH = 5
MAX_INT_DIGITS = 20  # a numeric field (timestamp, CreateTime) longer than this is junk: int() is never asked
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters other than \t \n \r


def signature(*parts: str) -> str:
    """SHA1 of the sorted parts joined: WeChat's signature and msg_signature."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify(expected: str | None, *parts: str) -> bool:
    """Compare a signature in constant time."""
    if not expected:
        return False
    return hmac.compare_digest(signature(*parts).encode(), expected.encode("ascii", "replace"))


class Crypto:
    """AES-256-CBC as WeChat's safe mode uses it: random(16) + len(4) + xml + appid, PKCS#7 to 32."""

    def __init__(self, token: str, aes_key: str, appid: str) -> None:
        self.token = token
        self.key = base64.b64decode(aes_key + "=")
        self.appid = appid.encode()
        self.algorithm = algorithms.AES(self.key)
        self.mode = modes.CBC(self.key[:16])
        self.cipher = Cipher(self.algorithm, self.mode)  # built once: each call takes a fresh context from it

    def decrypt(self, encrypted: str) -> bytes:
        """The XML inside an Encrypt field; raises RequestRefused(400) if it is not ours."""
        try:
            data = base64.b64decode(encrypted, validate=True)
            dec = self.cipher.decryptor()
            plain = dec.update(data) + dec.finalize()
            pad = plain[-1]
            if not 1 <= pad <= BLOCK:
                raise ValueError("bad padding")
            plain = plain[16:-pad]
            (length,) = struct.unpack(">I", plain[:4])
            xml, appid = plain[4 : 4 + length], plain[4 + length :]
        except (ValueError, struct.error, IndexError):
            raise RequestRefused(400, "cannot decrypt Encrypt") from None
        if not hmac.compare_digest(appid, self.appid):
            raise RequestRefused(400, "Encrypt is for another appid")
        return xml

    def encrypt(self, xml: str | bytes) -> str:
        """Base64 of the encrypted XML."""
        body = xml.encode() if isinstance(xml, str) else xml
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + self.appid
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        enc = self.cipher.encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode()

    def envelope(self, xml: str, nonce: str, timestamp: str | None = None) -> str:
        """The encrypted reply document WeChat expects in safe mode."""
        timestamp = timestamp or str(int(time.time()))
        encrypted = self.encrypt(xml)
        sig = signature(self.token, timestamp, nonce, encrypted)
        return (
            f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce><![CDATA[{cdata_safe(nonce)}]]></Nonce></xml>"
        )


def _refuse_dtd(*_args: Any) -> None:
    raise RequestRefused(400, "DTDs and entities are not accepted")


def parse_xml(body: bytes) -> dict[str, Any]:
    """The fields of a WeChat XML document; DTDs, entities and malformed XML raise RequestRefused(400)."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd  # type: ignore[assignment]
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[dict[str, Any]] = [{}]
    text: list[str] = []

    def start(name: str, _attrs: dict[str, str]) -> None:
        if len(stack) > MAX_DEPTH + 1:  # stack[0] is the document, stack[1] is <xml>
            raise RequestRefused(400, "XML nested too deep")
        stack.append({})
        text.clear()

    def end(name: str) -> None:
        node = stack.pop()
        value: Any = node if node else "".join(text)
        parent = stack[-1]
        if name in parent:  # repeated elements (e.g. PicList items) become a list
            prev = parent[name]
            parent[name] = prev + [value] if isinstance(prev, list) else [prev, value]
        else:
            parent[name] = value
        text.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise RequestRefused(400, f"malformed XML ({expat.ErrorString(exc.code)})") from None
    doc = stack[0].get(ROOT_TAG)
    if not isinstance(doc, dict):
        raise RequestRefused(400, "expected an <xml> document with fields")
    return doc


def as_int(value: Any) -> int | None:
    """A non-negative integer written in ASCII digits (at most MAX_INT_DIGITS), else None: "²" and a
    5,000-digit string are refused here, not by int()."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > MAX_INT_DIGITS:
        return None
    return int(value)


def to_message(fields: dict[str, Any]) -> Message:
    """A Message from parsed fields; a missing sender or time is malformed."""
    openid, created = fields.get("FromUserName"), as_int(fields.get("CreateTime"))
    if not isinstance(openid, str) or not openid or created is None:
        raise RequestRefused(400, "FromUserName and CreateTime are required")
    kind = _str(fields, "MsgType").lower()
    event = _str(fields, "Event").lower() if kind == "event" else ""
    return Message(
        type=kind,
        openid=openid,
        account=_str(fields, "ToUserName"),
        create_time=created,
        raw=fields,
        msg_id=(_str(fields, "MsgId") or _str(fields, "MsgID") or None) if kind != "event" else None,
        content=_str(fields, "Content") if kind == "text" else "",
        event=event,
        event_key=_str(fields, "EventKey") if kind == "event" else "",
    )


def _str(fields: dict[str, Any], name: str) -> str:
    """A text field; "" when absent or when it came nested (WeChat never nests these)."""
    value = fields.get(name)
    return value if isinstance(value, str) else ""


def cdata_safe(value: str) -> str:
    """Text safe inside CDATA: "]]>" is split across two sections, control characters dropped."""
    return CONTROLS.sub("", value.replace("]]>", "]]]]><![CDATA[>"))


def _c(value: str) -> str:
    return f"<![CDATA[{cdata_safe(value)}]]>"


def render(reply: Reply, msg: Message) -> str:
    """The passive reply XML for `msg` (sender and recipient swapped)."""
    head = (
        f"<xml><ToUserName>{_c(msg.openid)}</ToUserName><FromUserName>{_c(msg.account)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
    )
    return head + _body(reply) + "</xml>"


def _body(reply: Reply) -> str:
    if isinstance(reply, TextReply):
        content = fit.clip(reply.content, where="passive")  # the safety net: WeChat shows a failure notice instead
        return f"<MsgType><![CDATA[text]]></MsgType><Content>{_c(content)}</Content>"
    if isinstance(reply, NewsReply):
        return (
            "<MsgType><![CDATA[news]]></MsgType><ArticleCount>1</ArticleCount><Articles>"
            + _article(reply.articles[0])
            + "</Articles>"
        )
    if isinstance(reply, MediaReply):
        tag = reply.msgtype.capitalize()
        extra = (
            f"<Title>{_c(reply.title)}</Title><Description>{_c(reply.description)}</Description>"
            if reply.msgtype == "video"
            else ""
        )
        return f"<MsgType>{_c(reply.msgtype)}</MsgType><{tag}><MediaId>{_c(reply.media_id)}</MediaId>{extra}</{tag}>"
    raise TypeError(f"cannot render {type(reply).__name__}")


def _article(a: Article) -> str:
    return (
        f"<item><Title>{_c(a.title)}</Title><Description>{_c(a.description)}</Description>"
        f"<PicUrl>{_c(a.picurl)}</PicUrl><Url>{_c(a.url)}</Url></item>"
    )
