"""Redis keys of the emulator's world (all under emu:) and the WeChat rules the fake API enforces."""

from __future__ import annotations

PREFIX = "emu:"  # every emulator key starts with this
USERS = PREFIX + "users"  # hash openid -> JSON profile
LOG = PREFIX + "log:{}"  # list of JSON entries per openid, oldest first
SEQ = PREFIX + "seq"  # counter giving every log entry a global sequence number
WINDOW = PREFIX + "win:{}"  # hash per openid: msg_until, msg_left, evt_until, evt_left
REFUSED = PREFIX + "tpl-refused"  # set of "openid" (all templates) or "openid:template_id"
INJECT = PREFIX + "inject:{}"  # list per API path of errcodes to answer next
TOKEN = PREFIX + "token:{}"  # access token -> its expiry time (kept past expiry to answer 42001)
TOKEN_CURRENT = PREFIX + "token-current"  # the newest token from /token
STABLE_CURRENT = PREFIX + "stable-current"  # the current token from /stable_token
STABLE_FORCED = PREFIX + "stable-forced"  # exists for 30 s after a forced stable_token refresh
QUOTA = PREFIX + "quota:{}:{}"  # call counter per quota name and period number
MENU = PREFIX + "menu"  # JSON of the custom menu
TAGS = PREFIX + "tags"  # hash tag id -> JSON {id, name}
TAG_SEQ = PREFIX + "tag-seq"  # last tag id handed out
MSG_SEQ = PREFIX + "msg-seq"  # last template / mass msg_id handed out
MASS_JOB = PREFIX + "mass:{}"  # hash per mass msg_id: status and counts
CLIENT_MSG = PREFIX + "clientmsgid:{}"  # mass clientmsgid -> the msg_id it was used for
MASS_MONTH = PREFIX + "mass-month:{}"  # hash openid -> mass messages received in month YYYYMM
MASS_DAY = PREFIX + "mass-day:{}"  # mass sends of a subscription account on day number N
MEDIA = PREFIX + "media:{}"  # hash per temporary media id: type, content_type, created_at, data (raw bytes)
QR_CODES = PREFIX + "qr"  # hash ticket -> JSON of a parametric QR code (qrcode/create)
QR_ORDER = PREFIX + "qr-order"  # sorted set ticket -> creation sequence (newest last)
QR_SEQ = PREFIX + "qr-seq"  # counter ordering QR codes by creation
QR_EXPIRY = PREFIX + "qr-expiry"  # sorted set ticket -> expiry time of the temporary codes
QR_PERMANENT = PREFIX + "qr-permanent"  # hash "action:scene" -> ticket of each permanent code

LOG_CAP = 2000  # log entries kept per user
MSG_WINDOW = 48 * 3600  # seconds a user's message keeps the customer-service window open
MSG_BUDGET = 5  # customer-service messages allowed per user message (since mid-2023)
EVENT_WINDOW = 60  # seconds a click / subscribe / scan keeps its window open
EVENT_BUDGET = 3  # customer-service messages allowed per click / subscribe / scan
WINDOW_EVENTS = frozenset({"click", "subscribe", "scan", "scancode_push", "scancode_waitmsg"})  # open a window
TOKEN_TTL = 7200  # seconds an access token lives
TOKEN_GRACE = 300  # seconds the previous /token token stays valid after a new one is fetched
TOKEN_MEMORY = 86400  # seconds an expired token is remembered (42001 rather than 40001)
STABLE_FORCE_INTERVAL = 30  # seconds between forced stable_token refreshes
FIRST_TAG_ID = 100  # ids below are WeChat's reserved tags (0 blacklist, 1 star, 2 ...)
FIRST_MSG_ID = 1_000_000_000  # first template / mass msg_id
CLIENT_MSG_TTL = 86400  # seconds a mass clientmsgid is remembered
MASS_PER_MONTH = 4  # service account: mass messages one user receives a month
MASS_PER_DAY = 1  # subscription account: mass sends a day
DAY = 86400  # seconds in a quota day
MEDIA_TTL = 3 * DAY  # seconds WeChat keeps temporary media: uploads and what users send (then 40007)
QR_DEFAULT_EXPIRY = 60  # seconds a temporary QR code lives when expire_seconds is not given
QR_MAX_EXPIRY = 30 * DAY  # longest life of a temporary QR code (2,592,000 s)
QR_PERMANENT_LIMIT = 100_000  # permanent QR codes an account may create
QR_PERMANENT_IDS = (1, 100_000)  # scene_id range of a permanent integer code
QR_TEMPORARY_IDS = (1, 2**32 - 1)  # scene_id range of a temporary integer code (32-bit, non-zero)
QR_SCENE_STR = 64  # longest scene_str (characters)
QR_KEEP_EXPIRED = DAY  # seconds an expired temporary code stays listed (marked expired) before it is forgotten
MEDIA_LIMITS = {"image": 10 * 1024 * 1024, "voice": 2 * 1024 * 1024}  # bytes media/upload accepts per type
