"""The floor: a minimal Flask + wechatpy safe-mode echo webhook (gunicorn bench/floor_app:app)."""

from __future__ import annotations

import os

from flask import Flask, Response, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply

TOKEN = os.environ.get("WECHAT_TOKEN", "devtoken")
AES_KEY = os.environ.get("WECHAT_AES_KEY", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
APPID = os.environ.get("WECHAT_APPID", "wxdev0000000000001")
PATH = os.environ.get("BENCH_PATH", "/wechat")

app = Flask(__name__)
crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)


@app.post(PATH)
def wechat() -> Response:
    """Check msg_signature, decrypt, parse, echo the text back encrypted."""
    args = request.args
    try:
        xml = crypto.decrypt_message(request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"])
    except (KeyError, InvalidSignatureException, InvalidAppIdException):
        return Response("bad signature", status=403, mimetype="text/plain")
    msg = parse_message(xml)
    reply = TextReply(content=getattr(msg, "content", "") or "success", message=msg)
    return Response(
        crypto.encrypt_message(reply.render(), args["nonce"], args["timestamp"]), mimetype="application/xml"
    )
