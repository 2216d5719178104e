"""The README's "Writing a feature" example, kept here so a test proves it works as written."""

from __future__ import annotations

from bot.core.feature import Feature
from bot.inbound.router import Router

router = Router("hello")


@router.text("你好", "您好")
def hello(msg, ctx):
    count = int(ctx.dialog.data.get("greeted", 0)) + 1
    ctx.dialog.set("hello:greeted", greeted=count)  # a named dialog state, saved after the handler
    return f"你好！这是您今天第{count}次打招呼。回复「帮助」查看能做什么。"


FEATURE = Feature(
    name="hello",
    routers=("tests.handlers.hello_feature:router",),  # in handlers/hello/__init__.py: "handlers.hello.chat:router"
    help=((90, "「你好」打个招呼"),),
)
