"""Core: every Redis key family of the platform, spelled once (features keep theirs as constants in their package)."""

from __future__ import annotations

# Inbound: the webhook and the pipeline's one-round-trip scripts ---------------------------------------------------
NONCE_KEY = "wh:n:{}:{}"  # (timestamp, nonce) → hash of the body first seen with them; checked in the pipeline's BEGIN
DEDUPE_KEY = "dd:{}"  # a handled message (Message.dedupe_key): "pending", "deferred" or "done:<reply xml>"
LOCK_KEY = "lock:user:{}"  # openid → token of the process handling that user's message
DIALOG_KEY = "dlg:{}"  # openid → the user's dialog as JSON (bot.inbound.dialog), with the dialog TTL
SEEN_KEY = "seen:{}"  # openid: set when last_interaction was written recently (throttles the write)
WXJOB_KEY = "wxjob:{}:{}"  # (event in lower case, MsgID) → fields of a MASSSENDJOBFINISH / TEMPLATESENDJOBFINISH report

# Outbound: the WeChat API client ----------------------------------------------------------------------------------
TOKEN_PREFIX = "wx:"  # + wechatpy's session key: the shared access token
TOKEN_LOCK = "wx:token:lock"  # lock held while one process refreshes the access token

# Library ------------------------------------------------------------------------------------------------------------
CONTENT_VERSION_KEY = "content:version"  # counter; every process reloads the content when it changes

# Scheduler ----------------------------------------------------------------------------------------------------------
LEASE_KEY = "sched:lease"  # held by the one active scheduler process
HEARTBEAT_KEY = "sched:heartbeat"  # last time the active scheduler ticked
RUN_KEY = "sched:run:{}:{}"  # (job id, run time as a Unix timestamp): the fire-once claim of one run (bot.core.claims)

# Console sign-in throttling -----------------------------------------------------------------------------------------
LOGIN_FAIL_KEY = "console:login-fail:{}:{}"  # counter of failures (username, address)
LOGIN_FAIL_ADDRESS_KEY = "console:login-fail-ip:{}"  # counter of failures from one address, any username
LOGIN_FAIL_ALL_KEY = "console:login-fail-all"  # counter of every failure

# Not here: the emulator's world lives under emu: (bot.emulator.keys); the ordered pool's queues are in-process.
