"""Pushes: chat opt-ins, scheduling, content, fan-out, and the console pages."""
