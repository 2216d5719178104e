"""Organisations and members: the tree and roster imports, 党员认证 in chat, QR codes, scoped console pages, figures."""

from bot.core.feature import Feature, NavEntry

FEATURE = Feature(
    name="orgs",
    blueprints=("handlers.orgs.imports_console:bp",),  # /console/orgs/import: upload → preview → confirm
    nav=(NavEntry("导入", "console.org_imports.index", roles=("editor",), order=21),),
    commands=(
        "handlers.orgs.commands:import_organisations_cmd",
        "handlers.orgs.commands:import_roster_cmd",
        "handlers.orgs.commands:import_samples_cmd",  # `make run`: the sample tree and roster when none exists
    ),
    audit_actions={"orgs.import_check": "导入预检（组织/花名册）", "orgs.import": "导入组织/花名册"},
    config_checks=("handlers.orgs.config:check",),
)
