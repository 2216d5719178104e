"""The simulated WeChat client: builds signed (and encrypted) XML, posts it like WeChat, decrypts replies."""

from __future__ import annotations

import itertools
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlencode

import requests

from bot.emulator.shapes import shape
from bot.emulator.state_qr import QrCode
from bot.inbound.wire import Crypto, cdata_safe, parse_xml, signature, verify

TIMEOUT = 5.0  # seconds WeChat waits for an answer
ATTEMPTS = 3  # WeChat tries a message three times in all
ACCOUNT = "gh_emulator00001"  # the official account's original id in the emulator
OPENID_CHARS = string.ascii_letters + string.digits + "-_"  # alphabet of openids
_msg_ids = itertools.count(int(time.time() * 1000) * 1000)  # MsgIds unique in this process
REPLY_LIMIT = 2047  # bytes of UTF-8 in a text reply's Content that WeChat shows; a longer one gets FAULT instead
FAULT = "该公众号提供的服务出现故障，请稍后再试"  # what WeChat shows the user for an oversized reply


def oversized(reply: dict[str, Any] | None) -> bool:
    """A text reply WeChat would not show: its Content is over REPLY_LIMIT bytes."""
    if not reply or str(reply.get("MsgType", "")) != "text":
        return False
    return len(str(reply.get("Content", "")).encode("utf-8")) > REPLY_LIMIT


def new_openid() -> str:
    """A random openid shaped like WeChat's (28 characters starting with "o")."""
    return "o" + "".join(secrets.choice(OPENID_CHARS) for _ in range(27))


def to_xml(fields: dict[str, Any]) -> str:
    """WeChat-style XML: strings in CDATA, numbers bare, nested dicts as elements."""
    return "<xml>" + "".join(_element(k, v) for k, v in fields.items()) + "</xml>"


def _element(name: str, value: Any) -> str:
    if isinstance(value, list):  # repeated elements, e.g. PicList's <item>s
        return "".join(_element(name, v) for v in value)
    if isinstance(value, dict):
        inner = "".join(_element(k, v) for k, v in value.items())
    elif isinstance(value, int):
        inner = str(value)
    else:
        inner = f"<![CDATA[{cdata_safe(str(value))}]]>"
    return f"<{name}>{inner}</{name}>"


class Observer(Protocol):
    """Told what the client delivered, as WeChat's own servers would know it (EmulatorState is one)."""

    def inbound(self, fields: dict[str, Any]) -> None: ...

    def passive(self, openid: str, reply: dict[str, Any]) -> None: ...


@runtime_checkable
class QrDirectory(Protocol):
    """Where a scan finds the code scanned and whether the user follows (EmulatorState is one)."""

    def find_qr(self, scene_or_ticket: str) -> QrCode | None: ...

    def user(self, openid: str) -> dict[str, Any] | None: ...


@dataclass
class Exchange:
    """What came back for one message: HTTP status, the decrypted reply fields, how many attempts."""

    status: int
    body: str
    reply: dict[str, Any] | None = None
    attempts: int = 1
    timings: list[float] = field(default_factory=list)
    notice: str = ""  # what WeChat showed the user instead of the reply (FAULT for an oversized text)

    @property
    def text(self) -> str:
        """What the user sees: the reply's text content ("" for none or non-text), or WeChat's notice instead."""
        return self.notice or str((self.reply or {}).get("Content", ""))

    @property
    def ok(self) -> bool:
        """WeChat would show the reply (or nothing) rather than a failure notice."""
        return self.status == 200 and not self.notice


class SimClient:
    """Posts messages to a webhook as WeChat does: signed, encrypted in safe mode, 5 s timeout, 3 attempts."""

    def __init__(
        self,
        url: str,
        token: str,
        aes_key: str | None = None,
        appid: str = "",
        mode: str = "safe",
        account: str = ACCOUNT,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        http: requests.Session | None = None,
        observer: Observer | None = None,
    ) -> None:
        if mode not in ("plain", "compatible", "safe"):
            raise ValueError("mode is plain, compatible or safe")
        if mode != "plain" and not aes_key:
            raise ValueError("compatible and safe modes need the AES key")
        self.url, self.token, self.mode, self.account = url, token, mode, account
        self.timeout, self.attempts = timeout, attempts
        self.crypto = Crypto(token, aes_key, appid) if aes_key else None
        self.http = http or requests.Session()
        self.observer = observer

    def build(self, openid: str, msg_type: str, **fields: Any) -> dict[str, Any]:
        """The fields of a message from `openid`; a MsgId is added to non-events."""
        base: dict[str, Any] = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": int(time.time()),
            "MsgType": msg_type,
        }
        base.update(fields)
        if msg_type != "event":
            base.setdefault("MsgId", next(_msg_ids))
        return base

    def query_and_body(self, fields: dict[str, Any], timestamp: str | None = None) -> tuple[dict[str, str], str]:
        """Query parameters and body of one message (a fresh nonce for each message; its retries resend them)."""
        ts, nonce = timestamp or str(int(time.time())), str(secrets.randbelow(10**10))
        query = {
            "signature": signature(self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": str(fields.get("FromUserName", "")),
        }
        xml = to_xml(fields)
        if self.mode == "plain":
            return query, xml
        assert self.crypto is not None
        encrypted = self.crypto.encrypt(xml)
        query.update(encrypt_type="aes", msg_signature=signature(self.token, ts, nonce, encrypted))
        outer = {"ToUserName": self.account, "Encrypt": encrypted}
        if self.mode == "compatible":
            outer = {**fields, "Encrypt": encrypted}
        return query, to_xml(outer)

    def post(self, fields: dict[str, Any]) -> Exchange:
        """Send one message with WeChat's timeout and retries; decrypt what comes back."""
        timings: list[float] = []
        if self.observer is not None:
            self.observer.inbound(fields)
        query, body = self.query_and_body(fields)  # WeChat's retries resend the identical request
        for attempt in range(1, self.attempts + 1):
            t0 = time.monotonic()
            try:
                res = self.http.post(
                    f"{self.url}?{urlencode(query)}",
                    data=body.encode(),
                    headers={"Content-Type": "text/xml"},
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError):
                timings.append(time.monotonic() - t0)
                continue
            timings.append(time.monotonic() - t0)
            reply = self.open_reply(res.text, res.status_code)
            notice = FAULT if oversized(reply) else ""  # WeChat drops it and shows its notice
            if reply is not None and self.observer is not None and not notice:
                self.observer.passive(str(fields["FromUserName"]), reply)
            return Exchange(res.status_code, res.text, reply, attempt, timings, notice)
        return Exchange(0, "", None, self.attempts, timings)

    def open_reply(self, body: str, status: int) -> dict[str, Any] | None:
        """The reply's fields; None for "success" or an empty body."""
        if status != 200 or body.strip() in ("", "success"):
            return None
        doc = parse_xml(body.encode())
        if "Encrypt" not in doc:
            return doc
        assert self.crypto is not None
        ts, nonce, enc = str(doc.get("TimeStamp", "")), str(doc.get("Nonce", "")), str(doc["Encrypt"])
        if not verify(str(doc.get("MsgSignature", "")), self.token, ts, nonce, enc):
            raise ValueError("reply MsgSignature does not verify")
        return parse_xml(self.crypto.decrypt(enc))

    # Convenience builders for what a person does in WeChat.
    def text(self, openid: str, content: str) -> Exchange:
        return self.post(self.build(openid, "text", Content=content))

    def event(self, openid: str, event: str, key: str = "", **extra: Any) -> Exchange:
        fields = self.build(openid, "event", Event=event, **extra)
        if key:
            fields["EventKey"] = key
        return self.post(fields)

    def shape(self, openid: str, name: str, **override: Any) -> Exchange:
        """Post one documented message or event (bot.emulator.shapes.SHAPES) shaped as WeChat sends it."""
        msg_type, fields = shape(name, **override)
        return self.post(self.build(openid, msg_type, **fields))

    def click(self, openid: str, key: str) -> Exchange:
        return self.event(openid, "CLICK", key)

    def subscribe(self, openid: str, scene: str | None = None) -> Exchange:
        return self.event(openid, "subscribe", f"qrscene_{scene}" if scene else "")

    def scan(
        self,
        openid: str,
        code: QrCode | str,
        follower: bool | None = None,
        codes: QrDirectory | None = None,
    ) -> Exchange | None:
        """The user scans a parametric QR code (a QrCode, or a ticket or scene looked up in `codes` or the observer).

        A follower sends SCAN with EventKey = the scene, a new follower subscribe with EventKey qrscene_<scene>; both
        carry the Ticket. `follower` None asks the directory whether the user follows. An unknown or expired code
        sends nothing (WeChat tells the user the code has expired): None.
        """
        directory = codes if codes is not None else self.observer
        known = directory if isinstance(directory, QrDirectory) else None
        if not isinstance(code, QrCode):
            if known is None:
                raise ValueError("scanning by ticket or scene needs the emulator's state (codes= or the observer)")
            code = known.find_qr(code)
        if code is None or code.expired():
            return None
        if follower is None:
            user = known.user(openid) if known is not None else None
            follower = bool(user and user.get("subscribed"))
        return self.post(self.scan_fields(openid, code, follower))

    def scan_fields(self, openid: str, code: QrCode, follower: bool) -> dict[str, Any]:
        """What WeChat posts for a scan: SCAN with EventKey = scene, or subscribe with qrscene_<scene>; and Ticket."""
        if follower:
            return self.build(openid, "event", Event="SCAN", EventKey=code.scene, Ticket=code.ticket)
        return self.build(openid, "event", Event="subscribe", EventKey=f"qrscene_{code.scene}", Ticket=code.ticket)

    def unsubscribe(self, openid: str) -> Exchange:
        return self.event(openid, "unsubscribe")

    def verify_url(self, echostr: str = "emulator-echo") -> bool:
        """The GET URL check WeChat makes when the URL is configured."""
        ts, nonce = str(int(time.time())), "12345"
        query = {"signature": signature(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": echostr}
        res = self.http.get(self.url, params=query, timeout=self.timeout)
        return res.status_code == 200 and res.text == echostr
