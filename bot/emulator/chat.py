"""The emulator chat page at /emulator (being built)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("emulator_chat", __name__, url_prefix="/emulator")
