"""The question bank: load and check content/quiz/*.yaml (part of the Library check-content validates)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.library.checks import LINE, Checker, Problem, read_yaml

THEMES = ("学史明理", "学史增信", "学史崇德", "学史力行", "百年百事")  # the themes of 专项答题
TYPES = ("single", "multiple", "judge")  # question types
JUDGE = ("正确", "错误")  # the answers of a true/false question
LETTERS = "ABCDE"  # option keys


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    stem: str
    options: tuple[tuple[str, str], ...]  # (letter, text); empty for judge
    answer: str  # "B", "ACD", "正确" / "错误"
    explanation: str
    source: str  # an episode or album article id
    theme: str
    difficulty: int

    def shown(self) -> str:
        """The question as the member reads it."""
        kind = {"single": "单选题", "multiple": "多选题（可选多个）", "judge": "判断题"}[self.type]
        lines = [f"【{kind}】{self.stem}", *(f"{k}. {v}" for k, v in self.options)]
        lines.append(
            "回复「对」或「错」"
            if self.type == "judge"
            else "回复选项字母作答，如「A」" + ("或「AC」" if self.type == "multiple" else "")
        )
        return "\n".join(lines)

    def answer_text(self) -> str:
        """The correct answer spelled out: "B. 1935年"."""
        if self.type == "judge":
            return self.answer
        opts = dict(self.options)
        return "；".join(f"{k}. {opts[k]}" for k in self.answer)


def stem_key(stem: str) -> str:
    """A stem for duplicate detection: NFKC, no spaces or punctuation, lower case."""
    text = unicodedata.normalize("NFKC", stem).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZ")


def load_questions(root: Path, problems: list[Problem], known_sources: set[str]) -> dict[str, Question]:
    """Every question file under content/quiz/, checked; ids and stems unique across files."""
    ids: dict[str, int] = {}
    stems: dict[str, str] = {}
    found: dict[str, Question] = {}
    for path in sorted((root / "quiz").glob("*.yaml")):
        data = read_yaml(path, root, problems)
        check = Checker(f"content/quiz/{path.name}", problems)
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
            check.fail(data if isinstance(data, dict) else None, "expected a mapping with a 'questions' list")
            continue
        theme = str(data.get("theme", ""))
        if theme not in THEMES:
            check.fail(data, f"theme {theme!r} is not one of {'、'.join(THEMES)}")
        for item in data["questions"]:
            q = question(item, theme, check, ids, stems, known_sources)
            if q is not None:
                found[q.id] = q
    return found


def question(
    item: Any, theme: str, check: Checker, ids: dict[str, int], stems: dict[str, str], sources: set[str]
) -> Question | None:
    """One question, or None after recording every problem it has."""
    if not isinstance(item, dict):
        check.fail(None, "question: expected a mapping")
        return None
    before = len(check.problems)
    qid, kind, stem = check.text(item, "id"), check.text(item, "type"), check.text(item, "stem")
    explanation, source = check.text(item, "explanation"), check.text(item, "source")
    check.unique(item, ids, qid, "id")
    key = stem_key(stem)
    if key and key in stems:
        check.fail(item, f"duplicate stem (same as {stems[key]})")
    stems.setdefault(key, qid)
    if kind not in TYPES:
        check.fail(item, f"type {kind!r} is not one of {', '.join(TYPES)}")
    options = check_options(item, kind, check)
    answer = check_answer(item, kind, options, check)
    if source and source not in sources:
        check.fail(item, f"source '{source}' is not an episode or album article in content/")
    difficulty = item.get("difficulty", 1)
    if difficulty not in (1, 2, 3):
        check.fail(item, f"difficulty must be 1, 2 or 3, got {difficulty!r}")
    if len(check.problems) > before:
        return None
    return Question(qid, kind, stem, options, answer, explanation, source, theme, difficulty)


def check_options(item: dict[str, Any], kind: str, check: Checker) -> tuple[tuple[str, str], ...]:
    """Options A.. for choice questions (3-5, distinct); none for judge questions."""
    raw = item.get("options")
    raw = {k: v for k, v in raw.items() if k != LINE} if isinstance(raw, dict) else raw
    if kind == "judge":
        if raw:
            check.fail(item, "a judge question has no options")
        return ()
    if not isinstance(raw, dict) or not 3 <= len(raw) <= 5:
        check.fail(item, "needs 3 to 5 options A-E")
        return ()
    opts = tuple((str(k).strip().upper(), str(v).strip()) for k, v in raw.items())
    if [k for k, _ in opts] != list(LETTERS[: len(opts)]):
        check.fail(item, "option keys must be A, B, C... in order")
    if len({v for _, v in opts}) != len(opts) or any(not v for _, v in opts):
        check.fail(item, "options must be distinct and not empty")
    return opts


def check_answer(item: dict[str, Any], kind: str, options: tuple[tuple[str, str], ...], check: Checker) -> str:
    """The answer, checked against the options and the type."""
    answer = str(item.get("answer", "")).strip().upper().replace(" ", "")
    if kind == "judge":
        if answer not in JUDGE:
            check.fail(item, f"a judge answer is 正确 or 错误, got {answer!r}")
        return answer
    keys = {k for k, _ in options}
    if not answer or any(ch not in keys for ch in answer):
        check.fail(item, f"answer {answer!r} is not among the options {''.join(sorted(keys))}")
    elif kind == "single" and len(answer) != 1:
        check.fail(item, "a single-choice answer is one letter")
    elif kind == "multiple" and (len(answer) < 2 or len(set(answer)) != len(answer)):
        check.fail(item, "a multiple-choice answer names at least two different letters")
    return "".join(sorted(answer))
