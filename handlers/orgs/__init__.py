"""Organisations and members: the tree and roster imports, 党员认证 in chat, QR codes, scoped console pages, figures."""

from bot.core.feature import Feature, NavEntry

FEATURE = Feature(
    name="orgs",
    blueprints=("handlers.orgs.figures_console:bp",),  # 党建数据: 认证率, 参学率, average points
    nav=(NavEntry("党建数据", "console.org_figures.index", roles=("editor", "secretary", "instructor"), order=25),),
    audit_actions={"orgs.figures_export": "导出党建数据"},
    config_checks=("handlers.orgs.config:check",),
)
