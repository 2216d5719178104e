"""Organisations and members: the tree and roster imports, 党员认证 in chat, QR codes, scoped console pages, figures."""

from bot.core.feature import Feature

FEATURE = Feature(
    name="orgs",
    config_checks=("handlers.orgs.config:check",),
)
