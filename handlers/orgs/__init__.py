"""Organisations and members: the tree and roster imports, 党员认证 in chat, QR codes, scoped console pages, figures."""

from bot.core.feature import Feature, NavEntry

VIEWERS = ("editor", "secretary", "instructor")  # (and admin) who see the tree and roster pages

FEATURE = Feature(
    name="orgs",
    blueprints=("handlers.orgs.console:bp",),  # the tree, one organisation, guidance groups, the roster
    nav=(
        NavEntry("组织", "console.orgs.tree", roles=VIEWERS, order=20),
        NavEntry("党员", "console.orgs.roster", roles=VIEWERS, order=22),
    ),
    audit_actions={
        "orgs.view": "查看组织负责人信息",
        "orgs.edit": "修改组织",
        "orgs.dissolve": "撤销组织",
        "orgs.restore": "恢复组织",
        "orgs.group": "修改指导小组",
        "orgs.group_assign": "划入指导小组",
        "orgs.group_remove": "移出指导小组",
        "roster.view": "查看党员花名册",
        "roster.edit": "修改党员信息",
        "roster.transfer": "党员组织关系转移",
        "roster.leave": "党员移出花名册",
        "roster.rejoin": "党员恢复在册",
        "roster.export": "导出党员花名册",
    },
    config_checks=("handlers.orgs.config:check",),
)
