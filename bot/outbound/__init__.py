"""Outbound: the WeChat API client, the outbox (error policy) and per-user ordering of sends."""
