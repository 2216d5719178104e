"""Access logs of the development server (`python -m bot serve`): the path of each request, never its query
string (a webhook's timestamp, nonce and signature are enough to forge plaintext requests)."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.serving import WSGIRequestHandler

QUERY = re.compile(r"\?[^\s\"'()]*")  # a query string inside a logged request line or error message


def strip_query(value: Any) -> Any:
    """A logged value with any query string removed (non-strings unchanged)."""
    return QUERY.sub("", value) if isinstance(value, str) else value


class PathOnlyHandler(WSGIRequestHandler):
    """werkzeug's request handler, logging request lines and errors without their query strings."""

    def log(self, type: str, message: str, *args: Any) -> None:
        super().log(type, strip_query(message), *(strip_query(a) for a in args))
