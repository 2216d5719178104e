"""Inbound: a user's choice from a numbered list, given as its number (1-based) or its name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def pick(text: str, options: Sequence[T], name: Callable[[T], str] = str) -> T | None:
    """The option numbered `text`, else the first whose `name` equals `text`; None when neither."""
    if text.isdigit() and 1 <= int(text) <= len(options):
        return options[int(text) - 1]
    return next((option for option in options if name(option) == text), None)
