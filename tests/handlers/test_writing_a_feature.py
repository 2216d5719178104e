"""A feature added as the README says (a package declaring FEATURE, one line in the registry) answers in chat."""

from __future__ import annotations

import pytest

from handlers import registry
from tests.handlers import hello_feature


@pytest.fixture
def with_hello(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry with the example feature as one more line, before study (requested before the app is built)."""
    features = [*registry.FEATURES[:-1], hello_feature.FEATURE, registry.FEATURES[-1]]
    monkeypatch.setattr(registry, "FEATURES", features)
    monkeypatch.setattr(registry, "ROUTERS", registry.routers())


def test_a_new_feature_answers_keeps_its_dialog_and_adds_its_help_line(with_hello, wx, user):
    assert wx.text(user, "你好").text.startswith("你好！这是您今天第1次打招呼")
    assert "第2次打招呼" in wx.text(user, "您好").text
    assert "「你好」打个招呼" in wx.text(user, "帮助").text


def test_without_the_line_in_the_registry_the_feature_is_absent(wx, user):
    assert "打招呼" not in wx.text(user, "你好").text
