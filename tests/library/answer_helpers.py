"""Helpers for the question-answering tests: the real content and this process's answerer, its model loaded once."""

from __future__ import annotations

from functools import cache

from bot.library import answer
from bot.library.loader import Library, load_library


@cache
def content() -> Library:
    """content/ as the bot loads it, once per test session."""
    return load_library()


def ready_asker(library: Library) -> answer.Asker:
    """This process's asker (the one chat uses), waited for until the library's vectors are ready."""
    asker = answer.shared()
    assert asker.wait(library, timeout=120), f"dense model not ready: {asker.encoder.error}"
    return asker
