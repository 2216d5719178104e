"""Organisations and members: the tree and roster imports, 党员认证 in chat, QR codes, scoped console pages, figures."""

from bot.core.feature import Feature, NavEntry

FEATURE = Feature(
    name="orgs",
    routers=("handlers.orgs.chat:router",),  # 党员认证 (a running confirmation owns the text), 我的认证, 确认认证
    blueprints=("handlers.orgs.confirm_console:bp",),
    nav=(NavEntry("党员认证", "console.org_confirmations.index", roles=("secretary", "instructor"), order=26),),
    config_checks=("handlers.orgs.config:check",),
    window_observers=("handlers.orgs.notify:on_message",),  # 党员认证 notices that waited for the 48 h window
    help_hooks=("handlers.orgs.chat:still_open",),  # the name or phone the dialog awaits, after 帮助
    scene_hooks=("handlers.orgs.chat:scene_hook",),  # an organisation's QR code (org:<code>) starts 党员认证
    audit_actions={
        "member.apply": "党员认证申请",
        "member.confirm": "确认党员认证",
        "member.reject": "拒绝党员认证",
        "member.unbind": "解除党员认证",
        "member.view_confirmations": "查看党员认证名单",
        "org.qr_create": "生成组织二维码",
    },
    help=((22, "「党员认证」用姓名和手机号认证党员身份，「我的认证」查看，「解除认证」解除"),),
)
