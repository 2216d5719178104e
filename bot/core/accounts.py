"""Accounts and roles, their console sessions, WeChat tag names and the append-only audit log: tables, Flask-free."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.database import Base, append_only, utcnow

# Role → the Chinese name shown in the console; admin may do everything the others may.
ROLES = {
    "admin": "管理员",  # accounts, settings, audit log
    "editor": "编辑",  # content, pushes and follower tags
    "reviewer": "审核",  # approves pushes
    "caseworker": "诉求处理",  # tickets
    "secretary": "党组织书记",  # their organisation's roster, confirmations, study figures and pushes
    "instructor": "党建指导员",  # the same, for the organisations they guide
}
SCOPED_ROLES = ("secretary", "instructor")  # roles that act only inside the account's organisation subtree


class Account(Base):
    """Someone who may sign in to the console; disabled rather than deleted, so the audit log keeps its actor."""

    __tablename__ = "console_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list] = mapped_column(JSON, default=list)  # keys of ROLES
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)  # set by an admin's reset
    department: Mapped[str | None] = mapped_column(String(32), nullable=True)  # a tickets.departments id (caseworkers)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), nullable=True
    )  # scope: this organisation and everything under it (None: the whole park)
    supervisor_id: Mapped[int | None] = mapped_column(
        Integer, nullable=True
    )  # told when this account's ticket is overdue
    openid: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)  # WeChat user bound for alerts
    session_version: Mapped[int] = mapped_column(Integer, default=1)  # bumped to sign out every session
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def has_role(self, *wanted: str) -> bool:
        """True if the account holds one of `wanted` (admin holds them all)."""
        held = set(self.roles or [])
        return "admin" in held or bool(held.intersection(wanted))

    @property
    def is_admin(self) -> bool:
        return "admin" in (self.roles or [])

    @property
    def is_scoped_only(self) -> bool:
        """Holds only scoped roles (secretary, instructor): the console shows it its subtree's pages only."""
        held = set(self.roles or [])
        return bool(held) and held <= set(SCOPED_ROLES)


class ConsoleSession(Base):
    """One signed-in browser: the cookie holds a random id, this row its hash; logout, a password change or
    disabling the account ends it, and a cookie whose row is ended or missing opens nothing."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the id in the cookie
    account_id: Mapped[int] = mapped_column(ForeignKey("console_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)  # last request (once a minute)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # logout, password, disabled, idle, ...


class ConsoleTag(Base):
    """The name of a WeChat user tag; the id is WeChat's, as stored on Follower.tags."""

    __tablename__ = "console_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """One change or sign-in event; rows are only ever added (updates and deletes are refused)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("console_accounts.id"), nullable=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)  # username at the time ("-" unknown, "cli")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(128), nullable=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)


append_only(AuditEntry, "entry")
