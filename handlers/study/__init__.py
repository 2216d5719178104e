"""Study: 新声 episodes, albums, catalogue and search in chat; content pages in the console."""

from bot.core.feature import Feature, NavEntry

FEATURE = Feature(
    name="study",
    routers=("handlers.study.chat:router",),  # 新声 episodes, albums, catalogue, and search for any other text
    blueprints=("handlers.study.console:bp",),
    setup=("bot.library.answer:start",),  # the question answerer's model loads in the background
    nav=(NavEntry("内容", "console.content.index", order=20),),
    help=(
        (10, "「新声」继续收听，「新声37」听第37集，「新声目录」看全部"),
        (40, "直接输入关键词或问题（如「遵义会议」「包产到户是谁先干的」）搜索学习内容"),
    ),
)
