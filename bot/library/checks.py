"""Reading content YAML with line numbers, and naming each problem by file, line and id (the loaders share it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LINE = "__line__"  # key the loader adds to every mapping: its line in the file
ASKS_MAX = 8  # curated questions (`asks`) per item
ASK_LENGTH = (4, 40)  # characters in one ask


@dataclass(frozen=True)
class Problem:
    """One fault in a content file, named by file, line and id."""

    file: str
    line: int
    item: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.item or '-'}: {self.message}"


class LineLoader(yaml.SafeLoader):
    """A YAML loader that records each mapping's line number under LINE."""


def _mapping_with_line(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    data = loader.construct_mapping(node, deep=True)
    data[LINE] = node.start_mark.line + 1
    return data


LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def read_yaml(path: Path, root: Path, problems: list[Problem]) -> Any:
    """Parse a file with line numbers; a missing or broken file is a problem, not an exception."""
    name = str(path.relative_to(root.parent)) if path.is_relative_to(root.parent) else str(path)
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=LineLoader)
    except FileNotFoundError:
        problems.append(Problem(name, 0, "", "file not found"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problems.append(
            Problem(name, mark.line + 1 if mark else 0, "", f"invalid YAML: {getattr(exc, 'problem', exc)}")
        )
    return None


class Checker:
    """Collects problems for one file while items are read from it."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file, self.problems = file, problems

    def fail(self, item: dict[str, Any] | None, message: str) -> None:
        item = item or {}
        self.problems.append(Problem(self.file, int(item.get(LINE, 0)), str(item.get("id", "")), message))

    def text(self, item: dict[str, Any], key: str, required: bool = True) -> str:
        """A string field; missing or empty required fields are problems."""
        value = item.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(item, f"missing required field '{key}'")
            return ""
        if not isinstance(value, (str, int)):
            self.fail(item, f"'{key}' must be text")
            return ""
        return str(value).strip()

    def words(self, item: dict[str, Any], key: str) -> tuple[str, ...]:
        value = item.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.fail(item, f"'{key}' must be a list of words")
            return ()
        return tuple(str(v).strip() for v in value if str(v).strip())

    def asks(self, item: dict[str, Any], seen: dict[str, str]) -> tuple[str, ...]:
        """`asks`, the curated ways members ask what an item answers: optional; a list of at most ASKS_MAX
        texts of ASK_LENGTH characters, none twice in the whole content (ignoring spaces and punctuation)."""
        value = item.get("asks")
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(item, "'asks' must be a list of questions (non-empty text)")
            return ()
        if len(value) > ASKS_MAX:
            self.fail(item, f"'asks' has {len(value)} questions, at most {ASKS_MAX}")
        asks = tuple(v.strip() for v in value)
        for ask in asks:
            if not ASK_LENGTH[0] <= len(ask) <= ASK_LENGTH[1]:
                self.fail(item, f"ask '{ask}' has {len(ask)} characters, expected {ASK_LENGTH[0]}-{ASK_LENGTH[1]}")
            plain = "".join(c for c in ask.casefold() if c.isalnum())
            where = f"{self.file}:{item.get(LINE, 0)} {item.get('id', '')}"
            if plain in seen:
                self.fail(item, f"duplicate ask '{ask}' (first at {seen[plain]})")
            else:
                seen[plain] = where
        return asks

    def unique(self, item: dict[str, Any], seen: dict[str, int], value: str, what: str) -> None:
        if value in seen:
            self.fail(item, f"duplicate {what} '{value}' (first at line {seen[value]})")
        else:
            seen[value] = int(item.get(LINE, 0))
