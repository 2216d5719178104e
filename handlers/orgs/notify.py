"""党员认证's messages out of band: the secretaries told of an application, the member told of the result.

Customer-service messages inside the 48-hour window; outside it a message is kept (bot.outbound.pending) and goes
out when the person next writes. Sent in the background, in order per person, so a chat turn never waits for
WeChat. The console's 党员认证 page and 「我的认证」 show the same.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.core.organisations import Organisation
from bot.outbound import pending
from handlers.orgs.binding import nearest_secretaries

if TYPE_CHECKING:
    from bot.core.services import Services

log = logging.getLogger(__name__)
QUEUE = "orgs:notice:{}"  # ordered-pool key of one person's 党员认证 messages
SOURCE = "orgs"  # pending texts' source


def _safe(services: Services, openid: str, text: str) -> None:
    """One customer-service message, if the window is open (else it waits for the next message)."""
    try:
        pending.send_or_keep(services, openid, text, SOURCE)
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
