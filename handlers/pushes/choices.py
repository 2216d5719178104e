"""What the push form offers (read by handlers/pushes/console.py): tags, the organisation tree, 片区 and categories
with their sizes, episodes and articles by title. Flask-free; a scoped account is offered its subtree only."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.accounts import ConsoleTag
from bot.core.database import Follower
from bot.core.organisations import CATEGORIES, Organisation, RosterMember, subtree_ids
from bot.library.loader import Library
from handlers.pushes.audience import audience_root, confirmed, known_districts, parse
from handlers.pushes.models import Push

INDENT = "　"  # one level of the tree in the organisation select (a full-width space)
Choice = tuple[str, str]  # (value, label)


@dataclass(frozen=True)
class Choices:
    """Every list the form picks from, as (value, label) pairs (labels carry sizes)."""

    tags: list[Choice]
    organisations: list[Choice]
    districts: list[Choice]
    categories: list[Choice]
    episodes: list[Choice]
    articles: list[Choice]


def member_counts(db: Session, root: Organisation | None) -> Counter[int]:
    """Confirmed members per organisation id (directly in it, not below), inside `root` when given."""
    stmt = (
        confirmed().with_only_columns(RosterMember.organisation_id, func.count()).group_by(RosterMember.organisation_id)
    )
    if root is not None:
        stmt = stmt.where(RosterMember.organisation_id.in_(subtree_ids(root)))
    return Counter({org_id: n for org_id, n in db.execute(stmt)})


def tree(db: Session, root: Organisation | None, direct: Counter[int]) -> list[tuple[Organisation, int, int]]:
    """(organisation, depth, members in its subtree) in tree order (children by code); dissolved ones are not
    listed, but their members count in their ancestors' totals as they do in the audience."""
    stmt = select(Organisation)
    if root is not None:
        stmt = stmt.where(Organisation.path.startswith(root.path, autoescape=True))
    orgs = list(db.scalars(stmt))
    ids = {o.id for o in orgs}
    totals: Counter[int] = Counter()
    for org in orgs:
        for part in org.path.strip("/").split("/"):
            if part.isdigit() and int(part) in ids:
                totals[int(part)] += direct.get(org.id, 0)
    children: dict[int | None, list[Organisation]] = {}
    for org in orgs:
        children.setdefault(org.parent_id if org.parent_id in ids else None, []).append(org)
    out: list[tuple[Organisation, int, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for org in sorted(children.get(parent, []), key=lambda o: o.code):
            if org.dissolved_at is None:
                out.append((org, depth, totals[org.id]))
            walk(org.id, depth + (org.dissolved_at is None))

    walk(None, 0)
    return out


def organisation_choices(rows: Iterable[tuple[Organisation, int, int]]) -> list[Choice]:
    return [(org.code, f"{INDENT * depth}{org.name}（{org.code}）· {n} 人") for org, depth, n in rows]


def district_choices(db: Session, configured: Iterable[str]) -> list[Choice]:
    """Each 片区 with its confirmed members (those of the organisations that name it)."""
    stmt = (
        confirmed()
        .join(Organisation, Organisation.id == RosterMember.organisation_id)
        .with_only_columns(Organisation.district, func.count())
        .group_by(Organisation.district)
    )
    per = {name: n for name, n in db.execute(stmt)}
    return [(d, f"{d} · {per.get(d, 0)} 人") for d in known_districts(db, configured)]


def category_choices(db: Session, root: Organisation | None) -> list[Choice]:
    stmt = confirmed().with_only_columns(RosterMember.category, func.count()).group_by(RosterMember.category)
    if root is not None:
        stmt = stmt.where(RosterMember.organisation_id.in_(subtree_ids(root)))
    counts = {name: n for name, n in db.execute(stmt)}
    return [(c, f"{c} · {counts.get(c, 0)} 人") for c in CATEGORIES]


def tag_choices(db: Session) -> list[Choice]:
    """Each tag with its subscribed followers (one scan of the followers who have any tag)."""
    counts: Counter[int] = Counter()
    for tags in db.scalars(select(Follower.tags).where(Follower.subscribed.is_(True))):
        counts.update(int(t) for t in tags or [])
    return [
        (str(t.id), f"{t.name} · {counts[t.id]} 人") for t in db.scalars(select(ConsoleTag).order_by(ConsoleTag.id))
    ]


def episode_choices(library: Library) -> list[Choice]:
    return [(str(ep.number), f"新声第{ep.number}集《{ep.title}》") for ep in library.episodes]


def article_choices(library: Library) -> list[Choice]:
    return [(art.id, f"{album.title} — {art.title}") for album in library.albums for art in album.articles]


def choices(db: Session, library: Library, root: Organisation | None, districts: Iterable[str]) -> Choices:
    """The form's lists; for an account scoped to `root`: its subtree only, no tags and no 片区."""
    rows = tree(db, root, member_counts(db, root))
    scoped = root is not None
    return Choices(
        tags=[] if scoped else tag_choices(db),
        organisations=organisation_choices(rows),
        districts=[] if scoped else district_choices(db, districts),
        categories=category_choices(db, root),
        episodes=episode_choices(library),
        articles=article_choices(library),
    )


def describe_audience(db: Session, push: Push, labels: dict[str, str], tag_names: dict[int, str]) -> str:
    """The audience in words: the tag's, organisation's, 片区's or category's name."""
    kind, parts = push.audience_kind, parse(push.audience_kind, push.audience_ref)
    label = labels.get(kind, kind)
    if kind == "tag":
        return f"{label}「{tag_names.get(int(parts.tag) if parts.tag.isdigit() else -1, parts.tag)}」"
    org = audience_root(db, kind, push.audience_ref)
    where = f"「{org.name}」（{parts.org}）" if org else (f"「{parts.org}」" if parts.org else "")
    if kind in ("organisation", "secretaries"):
        return f"{label}：{where}"
    if kind == "district":
        return f"{label}：「{parts.district}」"
    if kind == "category":
        return f"{label}：{parts.category}" + (f"，限 {where}" if where else "，全园区")
    return label


def describe_content(library: Library, push: Push) -> str:
    """The episode or article by its title (what the form picked it by)."""
    ref = push.content_ref or ""
    episode = library.episode(int(ref)) if push.content_kind == "episode" and ref.isdigit() else None
    if episode is not None:
        return f"新声第{ref}集《{episode.title}》"
    article = library.by_id.get(ref) if push.content_kind == "article" else None
    return f"《{article.title}》" if article is not None else ref
