"""党员认证's rules, Flask-free: match a name and phone against the roster, limit wrong guesses, bind, confirm, reject,
unbind, and find the secretaries who confirm. Used by the chat dialog (handlers.orgs.chat) and the console page."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from bot.core.accounts import SCOPED_ROLES, Account, AuditEntry
from bot.core.database import utcnow
from bot.core.members import CONFIRMED, PENDING, Membership
from bot.core.organisations import Organisation, OrganisationsConfig, RosterMember, ancestor_ids, in_subtree

if TYPE_CHECKING:
    import redis

TRY_KEY = "orgs:auth-try:{}"  # Redis: wrong 党员认证 guesses of one follower in the attempt window
PHONE = re.compile(r"^1\d{10}$")  # an 11-digit mainland mobile number
NAME = re.compile(r"^[\u3400-\u9fffA-Za-z·]{2,20}$")  # a plausible name: Chinese or Latin letters, the middle dot


def clean_name(text: str) -> str:
    """Full-width to half-width, every space removed, dots unified: how a typed name is compared with the roster."""
    return "".join(unicodedata.normalize("NFKC", text).split()).replace("•", "·").replace("・", "·")


def clean_phone(text: str) -> str | None:
    """An 11-digit mobile number from what was typed (full-width digits, spaces, dashes, +86), else None."""
    digits = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", text))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if PHONE.match(digits) else None


# --- wrong guesses -----------------------------------------------------------------------------------------------


def wait_seconds(client: redis.Redis, openid: str, cfg: OrganisationsConfig) -> int:
    """0 while the follower may still guess; else the seconds until the attempt window ends."""
    raw = client.get(TRY_KEY.format(openid))
    if raw is None or int(raw) < cfg.max_attempts:
        return 0
    return max(int(client.ttl(TRY_KEY.format(openid))), 1)


def count_wrong(client: redis.Redis, openid: str, cfg: OrganisationsConfig) -> int:
    """Count one wrong guess; the guesses left in the window (a success does not reset it: the window simply ends)."""
    key = TRY_KEY.format(openid)
    pipe = client.pipeline()
    pipe.set(key, 0, ex=cfg.attempt_window, nx=True)
    pipe.incr(key)
    _, count = pipe.execute()
    return max(cfg.max_attempts - int(count), 0)


# --- matching and binding ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """What a name and phone matched: the member and organisation, or why not (kept out of every reply)."""

    member: RosterMember | None
    organisation: Organisation | None
    problem: str = ""  # "", "unknown", "taken" (bound to another WeChat), "already" (this WeChat, confirmed)


def find(db: Session, openid: str, name: str, phone: str, root: Organisation | None = None) -> Match:
    """The roster member with exactly this name and phone, still on the roster, of a live organisation inside
    `root`'s subtree (a QR code's organisation; None: anywhere), and not bound to another WeChat."""
    member = db.scalar(select(RosterMember).where(RosterMember.phone == phone))
    org = db.get(Organisation, member.organisation_id) if member is not None else None
    if (
        member is None
        or org is None
        or member.left_at is not None
        or org.dissolved_at is not None
        or clean_name(member.name) != clean_name(name)
        or not in_subtree(org, root)
    ):
        return Match(None, None, "unknown")
    holder = db.scalar(select(Membership).where(Membership.member_id == member.id))
    if holder is not None and holder.openid != openid:
        return Match(member, org, "taken")
    if holder is not None and holder.status == CONFIRMED:
        return Match(member, org, "already")
    return Match(member, org)


def bind(
    db: Session, openid: str, member: RosterMember, org: Organisation, confirm: str, method: str
) -> tuple[str | None, str | None]:
    """Bind `openid` to `member`: confirmed at once ("auto") or awaiting the secretary ("secretary").
    Returns the (organisation code, 片区) the follower had before, for the leaderboards' move. Not committed."""
    row = db.get(Membership, openid)
    old = (row.organisation, row.district) if row else (None, None)
    if row is None:
        row = Membership(openid=openid, organisation=org.code)
        db.add(row)
    row.organisation, row.district, row.member_id, row.bound_at = org.code, org.district, member.id, utcnow()
    if confirm == "auto":
        row.status, row.method, row.confirmed_at, row.confirmed_by = CONFIRMED, method, utcnow(), "auto"
    else:
        row.status, row.method, row.confirmed_at, row.confirmed_by = PENDING, method, None, None
    return old


def binding(db: Session, openid: str) -> tuple[Membership, RosterMember | None, Organisation | None] | None:
    """The follower's membership with its roster member and organisation, if bound at all."""
    row = db.get(Membership, openid)
    if row is None:
        return None
    member = db.get(RosterMember, row.member_id) if row.member_id else None
    org = db.get(Organisation, member.organisation_id) if member else None
    if org is None:
        org = db.scalar(select(Organisation).where(Organisation.code == row.organisation))
    return row, member, org


def scoped(status: str, root: Organisation | None) -> Select[Membership, RosterMember, Organisation]:
    """Memberships in `status` with their roster member and organisation, inside `root`'s subtree (None: all)."""
    query = (
        select(Membership, RosterMember, Organisation)
        .join(RosterMember, Membership.member_id == RosterMember.id)
        .join(Organisation, RosterMember.organisation_id == Organisation.id)
        .where(Membership.status == status)
    )
    return query.where(Organisation.path.startswith(root.path, autoescape=True)) if root else query


def pending_of(db: Session, member_id: int) -> Membership | None:
    """The application awaiting confirmation for roster member `member_id` (its 编号)."""
    return db.scalar(select(Membership).where(Membership.member_id == member_id, Membership.status == PENDING))


def bound_to(db: Session, member_id: int) -> Membership | None:
    return db.scalar(select(Membership).where(Membership.member_id == member_id))


def confirm(db: Session, row: Membership, by: str, method: str) -> None:
    row.status, row.method, row.confirmed_at, row.confirmed_by = CONFIRMED, method, utcnow(), by


def remove(db: Session, row: Membership) -> tuple[str | None, str | None]:
    """A rejected application or a binding left: the follower is unbound; their old (organisation, 片区)."""
    old = (row.organisation, row.district)
    db.delete(row)
    return old


def audit(db: Session, action: str, account: Account | None, member_id: int | None, **details: Any) -> None:
    """An audit row for a confirmation step (target: the roster member's id, never a name or phone)."""
    db.add(
        AuditEntry(
            action=action,
            actor_id=account.id if account else None,
            actor=account.username if account else "-",
            target=str(member_id) if member_id else None,
            details=details,
        )
    )


# --- who confirms ----------------------------------------------------------------------------------------------------


def may_decide(db: Session, account: Account | None, org: Organisation | None) -> bool:
    """A secretary or instructor (or an admin) whose scope covers `org` may confirm or reject its members."""
    if account is None or not account.active or org is None or not account.has_role(*SCOPED_ROLES):
        return False
    root = db.get(Organisation, account.organisation_id) if account.organisation_id else None
    return in_subtree(org, root)


def staff_by_openid(db: Session, openid: str) -> Account | None:
    return db.scalar(select(Account).where(Account.openid == openid, Account.active.is_(True)))


def nearest_secretaries(db: Session, org: Organisation) -> list[Account]:
    """The bound secretary / instructor accounts scoped nearest above `org` (its own first, then each parent's, then
    the unscoped ones): who is told about an application."""
    chain = ancestor_ids(org)
    accounts = db.scalars(
        select(Account).where(
            Account.active.is_(True),
            Account.openid.is_not(None),
            or_(Account.organisation_id.in_(chain), Account.organisation_id.is_(None)),
        )
    ).all()
    scoped = [a for a in accounts if set(a.roles or []) & set(SCOPED_ROLES)]
    for org_id in [*chain, None]:
        found = [a for a in scoped if a.organisation_id == org_id]
        if found:
            return found
    return []


def recount(services: Any, db: Session, row: Membership) -> None:
    """A binding was confirmed in place: the follower's points now count for their organisation."""
    points = getattr(services, "points", None)
    if points is not None:
        points.move(db, row.openid, (row.organisation, row.district), (row.organisation, row.district))
