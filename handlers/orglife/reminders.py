"""三会一课 reminders and escalation, run by the scheduler: a secretary is reminded before a period ends with nothing
held, the guidance group's instructor is told once it has ended (the instructor account linked to the organisation's
guidance group; without one, the instructors whose scope covers it), the 片区 some days later. Each notice is recorded
first (orglife_notices, unique per organisation, kind, period and step) and sent after, so it goes out once even
with two scheduler processes, overlapping runs or a restart. Outside the 48 h window a notice is kept for the
account's next message (bot.outbound.pending)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.core.accounts import Account
from bot.core.clock import TZ
from bot.core.database import Base, utcnow
from bot.core.organisations import ancestor_ids, group_instructors
from bot.outbound import pending
from handlers.orglife import compliance
from handlers.orglife.compliance import MISSING, OPEN, OrgInfo, Period
from handlers.orglife.config import MeetingKind, OrgLifeConfig

if TYPE_CHECKING:
    from bot.core.services import Services

REMIND, INSTRUCTOR, DISTRICT = "remind", "instructor", "district"  # the steps, in order
STEP_LABELS = {REMIND: "提醒书记", INSTRUCTOR: "告知指导员", DISTRICT: "报片区党委"}
CUSTOM, WAITING = "custom", "waiting"  # sent as a customer-service message; kept for the next message / console
DISTRICT_KIND = "片区党委"
SOURCE = "orglife"  # pending texts' source
DELIVERED = "handlers.orglife.reminders:delivered"  # the pending texts' hook: "<notice id>:<account id>"
RECENT = timedelta(days=31)  # only periods that ended this recently are escalated (no flood of old ones)
log = logging.getLogger(__name__)


class OrgLifeNotice(Base):
    """One reminder or escalation about one organisation's kind of meeting in one period: recorded once."""

    __tablename__ = "orglife_notices"
    __table_args__ = (UniqueConstraint("organisation_id", "kind", "period", "step", name="uq_orglife_notice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(8))  # Period.key: 2026-03, 2026-Q1, 2026
    step: Mapped[str] = mapped_column(String(12))  # REMIND, INSTRUCTOR, DISTRICT
    text: Mapped[str] = mapped_column(Text)
    recipients: Mapped[list] = mapped_column(JSON, default=list)  # console account ids
    channels: Mapped[dict] = mapped_column(JSON, default=dict)  # account id → CUSTOM or WAITING
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Settings:
    """orglife.check_interval (seconds between runs) and orglife.escalate_days (instructor → 片区)."""

    check_interval: int
    escalate_days: int

    @classmethod
    def of(cls, settings: Any) -> Settings:
        raw = settings.section("orglife") or {}
        return cls(int(raw.get("check_interval", 3600)), int(raw.get("escalate_days", 7)))


@dataclass(frozen=True)
class Due:
    """A notice to record: the organisation, kind, period and step."""

    org: OrgInfo
    kind: MeetingKind
    period: Period
    step: str


def due(grid: compliance.Grid, cfg: OrgLifeConfig, now: datetime, escalate_days: int) -> list[Due]:
    """What the grid calls for now: reminders for open periods ending within remind_days, the instructor for
    periods that ended missing, the 片区 escalate_days after that (only for recently ended periods)."""
    found = []
    for (org_id, key), statuses in grid.statuses.items():
        kind, org = cfg.kind(key), grid.info[org_id]
        if kind is None or org.dissolved_at is not None:
            continue
        for period, status in statuses:
            if status == OPEN and period.end - now <= timedelta(days=cfg.remind_days):
                found.append(Due(org, kind, period, REMIND))
            elif status == MISSING and now - period.end < RECENT:
                found.append(Due(org, kind, period, INSTRUCTOR))
            if status == MISSING and timedelta(days=escalate_days) <= now - period.end < RECENT + timedelta(
                days=escalate_days
            ):
                found.append(Due(org, kind, period, DISTRICT))
    return found


def text_of(item: Due, now: datetime, escalate_days: int) -> str:
    name, what = item.org.name, f"{item.period.label}的「{item.kind.name}」"
    if item.step == REMIND:
        days = max(1, -(-(item.period.end - now) // timedelta(days=1)))
        return f"【三会一课提醒】{name}{what}尚未开展，距截止还有{days}天，请按时组织并在后台登记。"
    if item.step == INSTRUCTOR:
        return f"【三会一课督办】{name}{what}未开展，请督促该组织整改并补录。"
    return f"【三会一课督办】{name}{what}未开展已超过{escalate_days}天，请片区党委督办。"


def recipients(
    item: Due, accounts: list[Account], info: dict[int, OrgInfo], linked: dict[int, Account] | None = None
) -> list[Account]:
    """Who a step tells: the secretaries of the organisation or the nearest above with one; the instructor account
    linked to its guidance group (`linked`: group id → account), else the instructors whose scope covers it; the
    accounts scoped to its 片区党委."""
    above = ancestor_ids(item.org)
    if item.step == REMIND:
        for org_id in above:
            found = [a for a in accounts if a.organisation_id == org_id and "secretary" in (a.roles or [])]
            if found:
                return found
        return []
    if item.step == INSTRUCTOR:
        instructor = (linked or {}).get(item.org.group_id or 0)
        if instructor is not None:
            return [instructor]
        return [a for a in accounts if a.organisation_id in above and "instructor" in (a.roles or [])]
    districts = {i for i in above if i in info and info[i].kind == DISTRICT_KIND}
    return [a for a in accounts if a.organisation_id in districts]


def record(db: Session, item: Due, text: str, to: list[Account], now: datetime) -> OrgLifeNotice | None:
    """INSERT the notice (a savepoint); None when another run already recorded it."""
    notice = OrgLifeNotice(
        organisation_id=item.org.id,
        kind=item.kind.key,
        period=item.period.key,
        step=item.step,
        text=text,
        recipients=[a.id for a in to],
        channels={},
        created_at=now,
    )
    try:
        with db.begin_nested():
            db.add(notice)
    except IntegrityError:
        return None
    return notice


def send(services: Services, notice: OrgLifeNotice, to: list[Account], now: datetime) -> dict[str, str]:
    """A customer-service message to each recipient with WeChat bound and the window open; for the others bound it is
    kept for their next message (WAITING until it went); unbound accounts see it on the console (WAITING)."""
    channels = {}
    for account in to:
        openid, ref = account.openid or "", f"{notice.id}:{account.id}"
        sent = bool(openid) and pending.send_or_keep(
            services, openid, notice.text, SOURCE, ref=ref, then=DELIVERED, now=now
        )
        channels[str(account.id)] = CUSTOM if sent else WAITING
    return channels


def delivered(services: Services, ref: str) -> None:
    """A kept notice went out at the account's next message: its channel reads CUSTOM."""
    notice_id, _, account_id = ref.partition(":")
    if not notice_id.isdigit():
        return
    with services.sessions() as db:
        notice = db.get(OrgLifeNotice, int(notice_id), with_for_update=True)
        if notice is not None:
            notice.channels = {**(notice.channels or {}), account_id: CUSTOM}
            db.commit()


def run(services: Services, now: datetime | None = None) -> int:
    """The scheduled check: record and send what is due; the number of notices recorded by this run."""
    cfg, extra = OrgLifeConfig.of(services.settings), Settings.of(services.settings)
    now = now or utcnow()
    oldest = now - RECENT - timedelta(days=extra.escalate_days)  # the earliest period end still escalated
    years = sorted({oldest.astimezone(TZ).year, now.astimezone(TZ).year})
    with services.sessions() as db:
        items: list[Due] = []
        info: dict[int, OrgInfo] = {}
        for year in years:
            grid = compliance.evaluate(db, cfg, year, now)
            info = grid.info
            items += due(grid, cfg, now, extra.escalate_days)
        if not items:
            return 0
        accounts = list(
            db.scalars(select(Account).where(Account.active.is_(True), Account.organisation_id.is_not(None)))
        )
        linked = group_instructors(db, {i.org.group_id for i in items if i.step == INSTRUCTOR})
        made = []
        for item in items:
            to = recipients(item, accounts, info, linked)
            notice = record(db, item, text_of(item, now, extra.escalate_days), to, now)
            if notice is not None:
                made.append((notice, to))
        db.commit()  # recorded first: a second process or a restart finds them and sends nothing again
        for notice, to in made:
            notice.channels, notice.sent_at = send(services, notice, to, now), now
            db.commit()
    log.info("orglife: %d compliance notice(s) recorded", len(made))
    return len(made)
