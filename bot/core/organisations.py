"""The park's organisation tree, its guidance groups and the roster (党员花名册): tables and queries, Flask-free.

Read by every feature that needs to know who a member is: quiz leaderboards, push audiences, tickets, the console's
scoped accounts. The orgs feature (handlers/orgs) imports and edits them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Select, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.core.accounts import Account
from bot.core.database import Base, utcnow

if TYPE_CHECKING:
    from bot.core.config import Settings

# Kinds of organisation, from the top of the tree down (the 党工委 is the root; a 片区 has its 片区党委).
KINDS = ("党工委", "片区党委", "党委", "党总支", "党支部", "党小组")
CATEGORIES = ("正式党员", "预备党员", "发展对象", "入党积极分子")  # a roster member's category
POSTS = ("书记", "副书记", "组织委员", "宣传委员", "纪检委员", "青年委员", "党小组长")  # posts in an organisation
SEXES = ("男", "女")


class GuidanceGroup(Base):
    """A guidance group (指导小组) and its 党建指导员; it covers the organisations that name it."""

    __tablename__ = "guidance_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    instructor: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the 党建指导员's name
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # the instructor's console account (role instructor): told of overdue 三会一课, reviews the task reports
    instructor_account_id: Mapped[int | None] = mapped_column(
        ForeignKey(
            "console_accounts.id", use_alter=True, name="fk_guidance_groups_instructor_account_id", ondelete="SET NULL"
        ),
        nullable=True,
        index=True,
    )  # (use_alter: accounts → organisations → groups → accounts is a cycle)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Organisation(Base):
    """One party organisation; matched by `code` on import; dissolved (撤销), never deleted, once it has history."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(8))  # one of KINDS
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True, index=True)
    path: Mapped[str] = mapped_column(String(512), index=True)  # "/<root id>/…/<own id>/": a subtree is a prefix
    district: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # 片区 (the root has none)
    enterprise: Mapped[str | None] = mapped_column(String(128), nullable=True)
    secretary: Mapped[str | None] = mapped_column(String(32), nullable=True)  # the secretary's name
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # the secretary's phone
    guidance_group_id: Mapped[int | None] = mapped_column(ForeignKey("guidance_groups.id"), nullable=True, index=True)
    dissolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # 撤销
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RosterMember(Base):
    """One person on the roster, matched by phone on import; removed from the roster (left_at), never deleted."""

    __tablename__ = "roster_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(32))
    sex: Mapped[str | None] = mapped_column(String(2), nullable=True)  # one of SEXES
    phone: Mapped[str] = mapped_column(String(20), unique=True, index=True)  # 11-digit mainland mobile
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    category: Mapped[str] = mapped_column(String(8))  # one of CATEGORIES
    joined_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # date of joining the party
    post: Mapped[str | None] = mapped_column(String(16), nullable=True)  # one of POSTS
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # off the roster
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RosterTransfer(Base):
    """A member moved between organisations (kept: a transfer never loses the member's history)."""

    __tablename__ = "roster_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("roster_members.id"), index=True)
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # username, "import" or "cli"


class StudyDay(Base):
    """A follower studied on a day (answered a quiz, opened an episode or an article): what 参学率 counts."""

    __tablename__ = "study_days"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)  # China date


@dataclass(frozen=True)
class OrganisationsConfig:
    """The `organisations` section of config.yaml: the 片区, who confirms a member, how names are masked."""

    SECTION = "organisations"

    districts: tuple[str, ...]  # the park's 片区, as the import's 片区 column names them
    confirm: str  # "auto": an exact roster match confirms; "secretary": the branch secretary confirms
    name_mask: str  # "middle" (张*明), "given" (张**), "none" (the full name) on leaderboards
    max_attempts: int  # wrong 党员认证 guesses a follower may make per attempt_window
    attempt_window: int  # seconds

    @classmethod
    def of(cls, settings: Settings) -> OrganisationsConfig:
        return settings.feature(cls)

    @classmethod
    def from_raw(cls, cfg: Mapping[str, Any] | None) -> OrganisationsConfig:
        cfg = cfg or {}
        return cls(
            districts=tuple(str(d) for d in cfg.get("districts") or ()),
            confirm=str(cfg.get("confirm") or "auto"),
            name_mask=str(cfg.get("name_mask") or "middle"),
            max_attempts=int(cfg.get("max_attempts") or 5),
            attempt_window=int(cfg.get("attempt_window") or 86400),
        )


def mask_name(name: str, style: str = "middle") -> str:
    """张三明 → 张*明, 张三 → 张*; "given": 张**; "none": unchanged."""
    if style == "none" or len(name) < 2:
        return name
    if style == "given":
        return name[0] + "*" * (len(name) - 1)
    return name[0] + "*" * max(1, len(name) - 2) + (name[-1] if len(name) > 2 else "")


def mask_phone(phone: str | None) -> str:
    """13800138000 → 138****8000."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "*" * len(phone)


def path_of(parent: Organisation | None, own_id: int) -> str:
    """The materialised path of an organisation under `parent`."""
    return f"{parent.path if parent else '/'}{own_id}/"


def ancestor_ids(org: Any) -> list[int]:
    """The ids on `org`'s path (anything with a `path`), from the organisation itself up to the root."""
    return [int(part) for part in reversed(org.path.strip("/").split("/")) if part]


def subtree_ids(root: Organisation) -> Select[Any]:
    """SQL selecting the ids of `root` and every organisation under it (dissolved ones included)."""
    return select(Organisation.id).where(Organisation.path.startswith(root.path, autoescape=True))


def in_subtree(org: Organisation | None, root: Organisation | None) -> bool:
    """True when `org` is `root` or under it; everything is inside no root (an unscoped account)."""
    if root is None:
        return True
    return org is not None and org.path.startswith(root.path)


def scope_root(db: Session, account: Any) -> Organisation | None:
    """The organisation a console account is scoped to (None: the whole park)."""
    org_id = getattr(account, "organisation_id", None)
    return db.get(Organisation, org_id) if org_id else None


def by_code(db: Session, code: str) -> Organisation | None:
    return db.scalar(select(Organisation).where(Organisation.code == code))


def group_instructors(db: Session, group_ids: Iterable[int | None]) -> dict[int, Account]:
    """Guidance group id → its linked instructor account, when that account is active and still an instructor."""
    wanted = {g for g in group_ids if g}
    if not wanted:
        return {}
    rows = db.execute(
        select(GuidanceGroup.id, Account)
        .join(Account, Account.id == GuidanceGroup.instructor_account_id)
        .where(GuidanceGroup.id.in_(wanted), Account.active.is_(True))
    ).all()
    return {group_id: account for group_id, account in rows if account.has_role("instructor")}


def instructor_of(db: Session, org: Organisation | None) -> Account | None:
    """The instructor account linked to `org`'s guidance group (None: no group, none linked, or inactive)."""
    if org is None or org.guidance_group_id is None:
        return None
    return group_instructors(db, [org.guidance_group_id]).get(org.guidance_group_id)


def guided_group_ids(db: Session, account: Account | None) -> list[int]:
    """The guidance groups linked to an instructor account."""
    if account is None:
        return []
    return list(db.scalars(select(GuidanceGroup.id).where(GuidanceGroup.instructor_account_id == account.id)))


def eligible_instructors(db: Session, group_id: int, everyone: bool = False) -> list[Account]:
    """Active instructor accounts that may be linked to the group: all of them (`everyone`, an admin choosing), else
    the unscoped ones and the scoped ones whose subtree holds every organisation the group covers."""
    accounts = [
        a
        for a in db.scalars(select(Account).where(Account.active.is_(True)).order_by(Account.username))
        if "instructor" in (a.roles or [])
    ]
    if everyone:
        return accounts
    covered = list(db.scalars(select(Organisation).where(Organisation.guidance_group_id == group_id)))
    roots = {a.organisation_id: db.get(Organisation, a.organisation_id) for a in accounts if a.organisation_id}
    return [
        a
        for a in accounts
        if a.organisation_id is None
        or (roots[a.organisation_id] is not None and all(in_subtree(o, roots[a.organisation_id]) for o in covered))
    ]
