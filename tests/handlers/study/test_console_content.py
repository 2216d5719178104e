"""Console content pages: browse and preview what members read, and the reload button."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from bot.library.loader import CONTENT
from bot.library.store import ContentStore
from tests.console.console_helpers import submit


def test_browse_and_preview(editor, services):
    page = editor.get("/console/content/").get_data(as_text=True)
    lib = services.content.current()
    assert lib.episode(17).title in page and lib.albums[0].title in page and f"共 {len(lib.questions)} 题" in page
    q = next(iter(lib.questions.values()))
    preview = editor.get(f"/console/content/item/{q.id}").get_data(as_text=True)
    assert "正确答案" in preview and "解析" in preview
    assert editor.get("/console/content/item/nope").status_code == 404


def test_reload_button_swaps_good_content_and_refuses_bad(editor, services, tmp_path: Path):
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    services.content.stop()
    services.content = ContentStore(services.redis, root=root, poll=0)
    path = root / "xinsheng" / "episodes.yaml"
    episodes = yaml.safe_load(path.read_text(encoding="utf-8"))
    episodes[0]["title"] = "按钮重载后的标题"
    path.write_text(yaml.safe_dump(episodes, allow_unicode=True, sort_keys=False), encoding="utf-8")
    done = submit(editor, "/console/content/", {}, action="/console/content/reload", follow_redirects=True)
    assert (
        "已重新加载" in done.get_data(as_text=True)
        and services.content.current().episode(1).title == "按钮重载后的标题"
    )
    episodes[1]["id"] = episodes[0]["id"]
    path.write_text(yaml.safe_dump(episodes, allow_unicode=True, sort_keys=False), encoding="utf-8")
    refused = submit(editor, "/console/content/", {}, action="/console/content/reload", follow_redirects=True).get_data(
        as_text=True
    )
    assert "未重新加载" in refused and "content/xinsheng/episodes.yaml:" in refused and "duplicate id" in refused
    assert services.content.current().episode(1).title == "按钮重载后的标题"


def test_reload_needs_the_editor_role(client, make_account):
    from tests.console.console_helpers import login

    make_account("li", "caseworker")
    login(client, "li")
    page = client.get("/console/content/").get_data(as_text=True)
    assert 'id="reload"' not in page
    assert client.post("/console/content/reload").status_code in (400, 403)
