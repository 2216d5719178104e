"""`python -m bot chat`: chat with a running instance from the terminal, through its /emulator/chat/ endpoints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from bot.core.config import Settings

InputFn = Callable[[str], str]
PrintFn = Callable[[str], None]
PROMPT = "我> "
POLL_INTERVAL = 1.0  # seconds between looks for out-of-band messages
SEND_TIMEOUT = 30.0  # seconds; a send waits for WeChat's three webhook attempts (3 × 5 s)
HELP = """命令：
  直接输入文字      发送文本消息（以 / 开头的文字请写成 //…）
  /menu             列出菜单
  /click KEY        点击菜单按钮
  /codes            列出公众号生成的带参数二维码（最新的在前）
  /scan 场景或ticket 扫描二维码（未关注时扫码即关注）
  /follow           关注公众号
  /unfollow         不再关注
  /help             显示本说明
  /quit             退出"""


class ChatAPI:
    """The running instance's chat endpoints, for one simulated user."""

    def __init__(self, base: str, http: requests.Session | None = None) -> None:
        self.root = base.rstrip("/")
        self.base = self.root + "/emulator/chat"
        self.http = http or requests.Session()
        self.openid = ""

    def call(self, method: str, path: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """JSON of one call; an error answer raises ChatError with the server's message."""
        timeout = SEND_TIMEOUT if method == "POST" else 10.0
        res = self.http.request(method, self.base + path, json=data if method == "POST" else None, timeout=timeout)
        try:
            payload = res.json()
        except ValueError:
            payload = {}
        if res.status_code == 404 and not payload:
            raise ChatError(f"{self.root} 没有模拟器接口：该实例不是开发/测试模式，或不是本 bot")
        if res.status_code >= 400:
            raise ChatError(str(payload.get("error") or f"HTTP {res.status_code}"))
        return payload

    def user_path(self, suffix: str = "") -> str:
        return f"/users/{quote(self.openid, safe='')}{suffix}"


class ChatError(Exception):
    """The instance refused a request; the message is for the person at the terminal."""


class Feed:
    """New entries of the user's log, printed once each, from the main loop or the poll thread."""

    def __init__(self, api: ChatAPI, print_fn: PrintFn, menu: dict[str, Any]) -> None:
        self.api, self.print_fn, self.menu = api, print_fn, menu
        self.since = 0
        self.lock = threading.Lock()
        self.offline = False

    def skip_history(self) -> None:
        self.since = int(self.api.call("GET", self.api.user_path("/messages?since=0"))["last"])

    def drain(self) -> None:
        """Print what the account said since the last look (the user's own lines are not echoed)."""
        with self.lock:
            try:
                data = self.api.call("GET", self.api.user_path(f"/messages?since={self.since}"))
            except (requests.RequestException, ChatError) as exc:
                if not self.offline:
                    self.print_fn(f"（暂时无法获取新消息：{exc}）")
                self.offline = True
                return
            self.offline = False
            for item in data["messages"]:
                line = format_item(item)
                if line:
                    self.print_fn(line)
            self.since = max(self.since, int(data["last"]))


def format_item(item: dict[str, Any]) -> str:
    """One display item as terminal text; "" for the user's own messages."""
    side = item.get("side")
    if side == "user":
        return ""
    if side == "system":
        if item.get("format") == "error":
            detail = f"（{item['detail']}）" if item.get("detail") else ""
            return f"  ⚠ {item.get('text', '')}{detail}"
        return f"  · {item.get('text', '')}"
    label = f"[{item['label']}]" if item.get("label") else ""
    return indent(f"公众号{label}：", account_text(item))


def account_text(item: dict[str, Any]) -> str:
    fmt = item.get("format")
    if fmt == "news":
        parts = [f"【图文】{a['title']}\n{a['description']}\n{a['url']}".rstrip() for a in item.get("articles", [])]
        return "\n".join(parts)
    if fmt == "template":
        t = item["template"]
        rows = [t["first"], *(f"{f['name']}：{f['value']}" for f in t["fields"]), t["remark"], t["url"]]
        return "【模板消息】\n" + "\n".join(r for r in rows if r)
    return str(item.get("text", ""))


def indent(head: str, text: str) -> str:
    """`head` before the first line; later lines lined up under it."""
    pad = " " * 4
    lines = text.split("\n") or [""]
    return "\n".join([head + lines[0], *(pad + line if line else "" for line in lines[1:])])


def menu_listing(menu: dict[str, Any]) -> str:
    lines = []
    for button in menu.get("button", []):
        subs = button.get("sub_button") or []
        lines.append(f"{button['name']}" if subs else button_line(button, ""))
        lines.extend(button_line(sub, "  ") for sub in subs)
    return "\n".join(lines) or "（没有配置菜单）"


def button_line(button: dict[str, Any], pad: str) -> str:
    if button.get("type") == "click":
        return f"{pad}{button['name']}    /click {button['key']}"
    return f"{pad}{button['name']}    ({button.get('type')}{' ' + button['url'] if button.get('url') else ''})"


def codes_listing(codes: list[dict[str, Any]], now: float) -> str:
    """The account's QR codes, newest first: scene, kind and life, and the ticket /scan also takes."""
    lines = []
    for code in codes:
        if code["permanent"]:
            kind = "永久二维码"
        elif code["expired"]:
            kind = "临时二维码，已过期"
        else:
            kind = f"临时二维码，{time_left(float(code['expires_at']) - now)}后过期"
        lines.append(f"{code['scene']}    {kind}\n    ticket {code['ticket']}")
    return "\n".join(lines) or "（还没有二维码：公众号调用 qrcode/create 后会出现在这里）"


def time_left(seconds: float) -> str:
    left = max(0, int(seconds))
    for unit, name in ((86400, "天"), (3600, "小时"), (60, "分钟")):
        if left >= unit:
            return f"{left // unit} {name}"
    return f"{left} 秒"


def base_url(settings: Settings, url: str | None) -> str:
    """The instance's root URL; any URL of the instance (its webhook URL too) will do."""
    if not url:
        return f"http://127.0.0.1:{settings.port}"
    parts = urlsplit(url if "://" in url else "http://" + url)
    return f"{parts.scheme}://{parts.netloc}"


class Session:
    """One terminal conversation: commands typed, answers printed."""

    def __init__(self, api: ChatAPI, feed: Feed, print_fn: PrintFn) -> None:
        self.api, self.feed, self.print_fn = api, feed, print_fn

    def send(self, suffix: str, data: dict[str, Any] | None = None) -> None:
        try:
            self.api.call("POST", self.api.user_path(suffix), data or {})
        except ChatError as exc:
            self.print_fn(f"  ✗ {exc}")
        except requests.RequestException as exc:
            self.print_fn(f"  ✗ 无法连接到 {self.api.root}：{type(exc).__name__}")
        self.feed.drain()

    def list_codes(self) -> None:
        try:
            data = self.api.call("GET", "/qrcodes")
        except (ChatError, requests.RequestException) as exc:
            self.print_fn(f"  ✗ {exc}")
            return
        self.print_fn(codes_listing(data["codes"], float(data["now"])))

    def handle(self, line: str) -> bool:
        """Act on one typed line; False to stop."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("//") or not line.startswith("/"):
            self.send("/text", {"content": line[1:] if line.startswith("//") else line})
            return True
        command, _, arg = line.partition(" ")
        if command in ("/quit", "/exit", "/q"):
            return False
        if command == "/click" and arg.strip():
            self.send("/click", {"key": arg.strip()})
        elif command == "/scan" and arg.strip():
            self.send("/scan", {"code": arg.strip()})
        elif command == "/codes":
            self.list_codes()
        elif command in ("/follow", "/unfollow"):
            self.send(command)
        elif command == "/menu":
            self.print_fn(menu_listing(self.feed.menu))
        elif command == "/help":
            self.print_fn(HELP)
        else:
            self.print_fn(f"未知命令 {command}。输入 /help 查看命令。")
        return True


def connect(api: ChatAPI, user: str | None, print_fn: PrintFn) -> dict[str, Any]:
    """Check the instance answers, pick or create the user, follow if needed; the menu."""
    try:
        config = api.call("GET", "/config")
        found = api.call("GET", f"/users/{quote(user, safe='')}") if user else None
    except requests.ConnectionError:
        raise SystemExit(f"无法连接到 {api.root}：bot 没有运行？先在另一个终端运行 `python -m bot serve`。") from None
    except ChatError as exc:
        if not user or "没有这个模拟用户" not in str(exc):
            raise SystemExit(f"无法开始聊天：{exc}") from None
        found = None
    if found is None:
        profile = api.call("POST", "/users", {"nickname": "" if user else "终端用户", "openid": user})["user"]
        if user:
            print_fn(f"（新建了模拟用户 {user}）")
    else:
        profile = found["user"]
    api.openid = profile["openid"]
    print_fn(f"与「{config['account']}」聊天，身份：{profile['nickname']}（{api.openid}）。输入 /help 查看命令。")
    return {"menu": config.get("menu") or {}, "subscribed": bool(profile.get("subscribed"))}


def poll_loop(feed: Feed, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        feed.drain()


def run_chat(
    settings: Settings,
    url: str | None,
    user: str | None,
    *,
    input_fn: InputFn = input,
    print_fn: PrintFn = print,
    poll_interval: float = POLL_INTERVAL,
) -> None:
    """Chat as a simulated WeChat user with the instance at `url` until /quit or end of input."""
    api = ChatAPI(base_url(settings, url))
    info = connect(api, user, print_fn)
    feed = Feed(api, print_fn, info["menu"])
    feed.skip_history()
    session = Session(api, feed, print_fn)
    if not info["subscribed"]:
        session.send("/follow")
    stop = threading.Event()
    threading.Thread(target=poll_loop, args=(feed, stop, poll_interval), daemon=True, name="chat-poll").start()
    try:
        loop(session, input_fn)
    except KeyboardInterrupt:
        print_fn("")
    finally:
        stop.set()
    print_fn("再见。")


def loop(session: Session, input_fn: InputFn) -> None:
    """Read lines until /quit or end of input, showing new messages before each prompt."""
    while True:
        session.feed.drain()
        try:
            line = input_fn(PROMPT)
        except EOFError:
            return
        if not session.handle(line):
            return
