"""Dialog state per user (named states like "quiz:answering" plus data), stored in Redis with a TTL."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import redis

from bot.core.keys import DIALOG_KEY


@dataclass
class Dialog:
    """A user's dialog: `state` names where they are (None: no dialog), `data` what it collected."""

    state: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def set(self, state: str, **data: Any) -> None:
        """Enter `state`, keeping data and adding `data`."""
        self.state = state
        self.data.update(data)

    def clear(self) -> None:
        """Leave the dialog."""
        self.state = None
        self.data = {}

    def in_state(self, prefix: str) -> bool:
        """True when the state is `prefix` or below it ("quiz" matches "quiz:answering")."""
        return self.state is not None and (self.state == prefix or self.state.startswith(prefix + ":"))

    def dumps(self) -> str:
        """JSON, or "" for an empty dialog (stored as a deletion)."""
        if self.state is None and not self.data:
            return ""
        return json.dumps({"s": self.state, "d": self.data}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | bytes | None) -> Dialog:
        """The dialog from its JSON; missing or unreadable data is an empty dialog."""
        if not raw:
            return cls()
        try:
            obj = json.loads(raw)
            return cls(obj.get("s"), dict(obj.get("d") or {}))
        except (ValueError, AttributeError, TypeError):
            return cls()


class DialogStore:
    """Dialogs as JSON strings in Redis with a TTL: read and written one at a time (tools, tests, the slow path).

    The pipeline's hot path loads and saves the same record (DIALOG_KEY, Dialog.dumps/loads, `ttl`) inside its
    one-round-trip scripts, together with the dedupe record and the user's lock, so no other backend could serve it.
    """

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl

    def get(self, openid: str) -> Dialog:
        return Dialog.loads(self.redis.get(DIALOG_KEY.format(openid)))

    def set(self, openid: str, dialog: Dialog) -> None:
        raw = dialog.dumps()
        if raw:
            self.redis.set(DIALOG_KEY.format(openid), raw, ex=self.ttl)
        else:
            self.clear(openid)

    def clear(self, openid: str) -> None:
        self.redis.delete(DIALOG_KEY.format(openid))

    def update(self, openid: str, state: str, **data: Any) -> Dialog:
        """Load, enter `state` with `data`, save."""
        dialog = self.get(openid)
        dialog.set(state, **data)
        self.set(openid, dialog)
        return dialog
