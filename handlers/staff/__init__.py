"""Staff in WeChat: binding a console account (绑定后台) and the alerts bound staff receive."""

from bot.core.feature import Feature

FEATURE = Feature(
    name="staff",
    routers=("handlers.staff.chat:router",),  # 绑定后台 <code> / 解绑后台: console staff receive ticket alerts
    blueprints=("handlers.staff.console:bp",),
    audit_actions={
        "account.wechat_code": "生成微信绑定码",
        "account.wechat_bind": "绑定微信提醒",
        "account.wechat_unbind": "解除微信提醒",
    },
)
