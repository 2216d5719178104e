"""Study: 新声 episodes, albums, catalogue and search in chat; content pages in the console."""

from bot.core.feature import Feature, NavEntry

FEATURE = Feature(
    name="study",
    routers=("handlers.study.chat:router",),  # 新声 episodes, albums, catalogue, and search for any other text
    blueprints=("handlers.study.console:bp",),
    nav=(NavEntry("内容", "console.content.index", order=20),),
)
