"""Common chat: 帮助, 取消, follow events, and the fallback answer."""

from bot.core.feature import Feature

FEATURE = Feature(
    name="common",
    routers=("handlers.common.chat:router",),  # global commands (帮助, 取消) and follow/unfollow events: always first
    fallback="handlers.common.chat:fallback",  # unknown text, clicks and media: a helpful answer, always last
    help=((90, "「帮助」查看本说明，「取消」退出正在进行的操作"),),
)
