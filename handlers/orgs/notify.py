"""党员认证's messages out of band: the secretaries told of an application, the member told of the result.

Customer-service messages inside the 48-hour window; outside it a message waits in Redis (a week, the last
WAITING_MAX) and goes out when the person next writes (Feature.window_observers). Sent in the background, in order
per person, so a chat turn never waits for WeChat. The console's 党员认证 page and 「我的认证」 show the same.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.core.database import utcnow
from bot.core.logs import mask
from bot.core.organisations import Organisation
from handlers.orgs.binding import nearest_secretaries

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
QUEUE = "orgs:notice:{}"  # ordered-pool key of one person's 党员认证 messages
WAITING_KEY = "orgs:waiting:{}"  # Redis list: messages that waited for the person's 48 h window
WAITING_TTL = 7 * 86400  # seconds a waiting message is kept
WAITING_MAX = 20  # waiting messages kept per person (the latest)
RESENT = "【补发】"  # the head of a message that waited


def send(services: Services, openid: str, text: str) -> bool:
    """One customer-service message, if the window is open (else it waits for the next message); True when sent."""
    if services.followers.in_window(openid, utcnow()) and services.outbox.send_text(openid, text).ok:
        return True
    key = WAITING_KEY.format(openid)
    pipe = services.redis.pipeline()
    pipe.rpush(key, text)
    pipe.ltrim(key, -WAITING_MAX, -1)
    pipe.expire(key, WAITING_TTL)
    pipe.execute()
    log.info("党员认证 notice to %s waits for their next message (outside the 48 h window)", mask(openid))
    return False


def on_message(services: Services, openid: str) -> None:
    """The person wrote (the window is open again): what waited goes out in the background, oldest first."""
    if services.redis.exists(WAITING_KEY.format(openid)):
        services.ordered.submit(QUEUE.format(openid), _safe_flush, services, openid)


def _safe_flush(services: Services, openid: str) -> None:
    try:
        pipe = services.redis.pipeline()  # MULTI: taken once, however many messages arrive at the same time
        pipe.lrange(WAITING_KEY.format(openid), 0, -1)
        pipe.delete(WAITING_KEY.format(openid))
        waiting, _ = pipe.execute()
        for raw in waiting:
            text = raw.decode() if isinstance(raw, bytes) else str(raw)
            services.outbox.send_text(openid, text if text.startswith(RESENT) else RESENT + text)
    except Exception:  # noqa: BLE001 - a background send: log it; the console and 「我的认证」 show the state anyway
        log.exception("waiting 党员认证 notices not sent")


def _safe(services: Services, openid: str, text: str) -> None:
    try:
        send(services, openid, text)
    except Exception:  # noqa: BLE001 - a background send: log it; the console and 「我的认证」 show the state anyway
        log.exception("党员认证 notice not sent")


def tell(services: Services, openid: str, text: str) -> None:
    """Send `text` to `openid` in the background (after the caller committed)."""
    services.ordered.submit(QUEUE.format(openid), _safe, services, openid, text)


def tell_secretaries(services: Services, org_id: int, text: str) -> int:
    """Tell the nearest bound secretaries / instructors of organisation `org_id`; how many were addressed."""
    with services.sessions() as db:
        org = db.get(Organisation, org_id)
        openids = [a.openid for a in nearest_secretaries(db, org) if a.openid] if org else []
    for openid in openids:
        tell(services, openid, text)
    return len(openids)
