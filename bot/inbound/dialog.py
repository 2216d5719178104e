"""Dialog state per user (named states like "quiz:answering" plus data), stored in Redis with a TTL."""

from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import redis

KEY = "dlg:{}"  # Redis key of a user's dialog
LOCK_KEY = "lock:user:{}"  # Redis key of a user's message lock


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


class DialogStorage(ABC):
    """Where dialogs live: get / set / clear, every entry expiring after `ttl` seconds."""

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl

    @abstractmethod
    def get(self, openid: str) -> Dialog: ...

    @abstractmethod
    def set(self, openid: str, dialog: Dialog) -> None: ...

    @abstractmethod
    def clear(self, openid: str) -> None: ...

    def update(self, openid: str, state: str, **data: Any) -> Dialog:
        """Load, enter `state` with `data`, save."""
        dialog = self.get(openid)
        dialog.set(state, **data)
        self.set(openid, dialog)
        return dialog


class RedisDialogStorage(DialogStorage):
    """Dialogs as JSON strings in Redis with a TTL."""

    def __init__(self, client: redis.Redis, ttl: int) -> None:
        super().__init__(ttl)
        self.redis = client

    def get(self, openid: str) -> Dialog:
        return Dialog.loads(self.redis.get(KEY.format(openid)))

    def set(self, openid: str, dialog: Dialog) -> None:
        raw = dialog.dumps()
        if raw:
            self.redis.set(KEY.format(openid), raw, ex=self.ttl)
        else:
            self.clear(openid)

    def clear(self, openid: str) -> None:
        self.redis.delete(KEY.format(openid))


class MemoryDialogStorage(DialogStorage):
    """Dialogs in this process only (terminal experiments, single-process tools)."""

    def __init__(self, ttl: int) -> None:
        super().__init__(ttl)
        self.items: dict[str, tuple[float, str]] = {}
        self.guard = threading.Lock()

    def get(self, openid: str) -> Dialog:
        with self.guard:
            expires, raw = self.items.get(openid, (0.0, ""))
        return Dialog.loads(raw if expires > time.monotonic() else None)

    def set(self, openid: str, dialog: Dialog) -> None:
        raw = dialog.dumps()
        with self.guard:
            if raw:
                self.items[openid] = (time.monotonic() + self.ttl, raw)
            else:
                self.items.pop(openid, None)

    def clear(self, openid: str) -> None:
        with self.guard:
            self.items.pop(openid, None)
