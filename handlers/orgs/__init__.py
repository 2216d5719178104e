"""Organisations and members: the tree and roster imports, 党员认证 in chat, QR codes, scoped console pages, figures."""

from bot.core.feature import Feature, NavEntry

VIEWERS = ("editor", "secretary", "instructor")  # (and admin) who see the tree and roster pages
ROSTER_PAGES = ("console.orgs.roster", "console.orgs.member")  # the 党员 link's pages (the rest of orgs is 组织)

FEATURE = Feature(
    name="orgs",
    routers=("handlers.orgs.chat:router",),  # 党员认证 (a running confirmation owns the text), 我的认证, 确认认证
    blueprints=(
        "handlers.orgs.console:bp",  # the tree, one organisation, guidance groups, the roster
        "handlers.orgs.imports_console:bp",  # /console/orgs/import: upload → preview → confirm (linked from the tree)
        "handlers.orgs.confirm_console:bp",  # pending and confirmed 党员认证, organisations' QR codes
        "handlers.orgs.figures_console:bp",  # 党建数据: 认证率, 参学率, average points
    ),
    nav=(
        NavEntry("组织", "console.orgs.tree", roles=VIEWERS, order=20),
        NavEntry("党员", "console.orgs.roster", roles=VIEWERS, order=22, pages=ROSTER_PAGES),
        NavEntry("党建数据", "console.org_figures.index", roles=VIEWERS, order=25),
        NavEntry("党员认证", "console.org_confirmations.index", roles=("secretary", "instructor"), order=26),
    ),
    commands=(
        "handlers.orgs.commands:import_organisations_cmd",
        "handlers.orgs.commands:import_roster_cmd",
        "handlers.orgs.commands:import_samples_cmd",  # `make run`: the sample tree and roster when none exists
    ),
    config_checks=("handlers.orgs.config:check",),
    help_hooks=("handlers.orgs.chat:still_open",),  # the name or phone the dialog awaits, after 帮助
    scene_hooks=("handlers.orgs.chat:scene_hook",),  # an organisation's QR code (org:<code>) starts 党员认证
    audit_actions={
        "orgs.view": "查看组织负责人信息",
        "orgs.edit": "修改组织",
        "orgs.dissolve": "撤销组织",
        "orgs.restore": "恢复组织",
        "orgs.group": "修改指导小组",
        "orgs.group_assign": "划入指导小组",
        "orgs.group_remove": "移出指导小组",
        "orgs.group_instructor": "关联指导小组的指导员账号",
        "roster.view": "查看党员花名册",
        "roster.edit": "修改党员信息",
        "roster.transfer": "党员组织关系转移",
        "roster.leave": "党员移出花名册",
        "roster.rejoin": "党员恢复在册",
        "roster.export": "导出党员花名册",
        "member.apply": "党员认证申请",
        "member.confirm": "确认党员认证",
        "member.reject": "拒绝党员认证",
        "member.unbind": "解除党员认证",
        "member.view_confirmations": "查看党员认证名单",
        "org.qr_create": "生成组织二维码",
        "orgs.figures_export": "导出党建数据",
        "orgs.import_check": "导入预检（组织/花名册）",
        "orgs.import": "导入组织/花名册",
    },
    help=((22, "「党员认证」用姓名和手机号认证党员身份，「我的认证」查看，「解除认证」解除"),),
)
