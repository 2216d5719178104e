"""The console's organisation tree, read side: the organisations of a scope with their counts, Flask-free.

Two queries whatever the size of the tree: the organisations (plain columns, no ORM objects) and the roster counts
grouped by organisation (members on the roster, and those confirmed through 党员认证); the subtotals of every
subtree are added up in Python. The console page (handlers/orgs/console.py) then picks the rows to show.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.core.database import utcnow
from bot.core.members import CONFIRMED, Membership
from bot.core.organisations import KINDS, Organisation, RosterMember, subtree_ids

log = logging.getLogger(__name__)

ROW_LIMIT = 600  # rows the tree page renders at most (then it asks to search or open a subtree)
SEARCH_LIMIT = 200  # matching organisations shown for a search
COUNTS_KEY = "orgs:tree-counts:"  # + version + ":" + scope root id ("all") → {org id: [members, confirmed]} (JSON)
VERSION_KEY = "orgs:tree-counts:version"  # counter bumped by every console change of the roster or the tree
COUNTS_SECONDS = 60  # a cached count is kept this long; the minute is part of its key, so changes made elsewhere
# (imports, 党员认证 in chat) show within a minute, and the console's own changes at once (bump)
DISSOLVED_FILTERS = ("", "active", "dissolved")  # all, only existing ones, only 撤销
COLUMNS = (
    Organisation.id,
    Organisation.code,
    Organisation.name,
    Organisation.kind,
    Organisation.parent_id,
    Organisation.path,
    Organisation.district,
    Organisation.secretary,
    Organisation.guidance_group_id,
    Organisation.dissolved_at,
)


@dataclass(eq=False, slots=True)
class Node:
    """One organisation with its own and its subtree's counts."""

    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    path: str
    district: str | None
    secretary: str | None
    group_id: int | None
    dissolved: bool
    depth: int = 0  # levels below the tree's top
    children: list[Node] = field(default_factory=list)
    own_members: int = 0  # on the roster, directly in this organisation
    own_confirmed: int = 0
    members: int = 0  # on the roster in the whole subtree
    confirmed: int = 0  # confirmed members (Membership confirmed, with a roster entry) in the whole subtree
    descendants: int = 0  # organisations under it, 撤销 ones excluded

    @property
    def rate(self) -> str:
        """认证率 of the subtree as a percentage ("—" without members)."""
        return f"{100 * self.confirmed / self.members:.0f}%" if self.members else "—"


@dataclass(frozen=True)
class Row:
    """A node as the page shows it: its indentation and whether it has children the page left out."""

    node: Node
    level: int
    folded: bool  # it has sub-organisations not shown (a link opens its subtree)


KIND_RANK = {kind: i for i, kind in enumerate(KINDS)}


def sort_key(node: Node) -> tuple[Any, ...]:
    """Sub-organisations: existing ones first, then by kind from the top of the tree down, then by code."""
    return (node.dissolved, KIND_RANK.get(node.kind, len(KINDS)), node.code)


@dataclass
class Tree:
    """The organisations of a scope, linked into a tree with counts."""

    nodes: dict[int, Node]
    tops: list[Node]  # the scope root, or every organisation without a parent

    def __len__(self) -> int:
        return len(self.nodes)

    def ancestors(self, node: Node) -> list[Node]:
        """The chain from the tree's top down to `node`'s parent (inside this tree only)."""
        chain = []
        parent = self.nodes.get(node.parent_id) if node.parent_id else None
        while parent is not None:
            chain.append(parent)
            parent = self.nodes.get(parent.parent_id) if parent.parent_id else None
        return chain[::-1]

    def rows(self, top: Node | None, depth: int, dissolved: str = "") -> list[Row]:
        """Rows in tree order from `top` (or the tops), `depth` levels deep, after the 撤销 filter."""
        out: list[Row] = []
        stack = [(n, 0) for n in reversed([top] if top else self.tops)]
        while stack and len(out) < ROW_LIMIT:
            node, level = stack.pop()
            shown = wanted(node, dissolved)
            if shown:
                out.append(Row(node, level, level >= depth and bool(node.children)))
            if level < depth or not shown:
                stack.extend((c, level + (1 if shown else 0)) for c in reversed(node.children))
        return out

    def search(self, q: str, dissolved: str = "") -> list[Row]:
        """Organisations whose name contains `q` or whose code starts with it, each under its ancestors' names."""
        needle = q.strip().lower()
        hits = [
            n
            for n in self.nodes.values()
            if wanted(n, dissolved) and (needle in n.name.lower() or n.code.lower().startswith(needle))
        ]
        hits.sort(key=lambda n: (n.path.count("/"), sort_key(n)))
        return [Row(n, 0, bool(n.children)) for n in hits[:SEARCH_LIMIT]]

    def total(self) -> tuple[int, int, int]:
        """(organisations not 撤销, roster members, confirmed members) of the whole tree."""
        return (
            sum(1 for n in self.nodes.values() if not n.dissolved),
            sum(n.members for n in self.tops),
            sum(n.confirmed for n in self.tops),
        )


def wanted(node: Node, dissolved: str) -> bool:
    if dissolved == "active":
        return not node.dissolved
    if dissolved == "dissolved":
        return node.dissolved
    return True


def counts(db: Session, root: Organisation | None) -> dict[int, tuple[int, int]]:
    """Organisation id → (members on the roster, confirmed ones): one grouped query."""
    query = (
        select(RosterMember.organisation_id, func.count(RosterMember.id), func.count(Membership.member_id))
        .outerjoin(Membership, and_(Membership.member_id == RosterMember.id, Membership.status == CONFIRMED))
        .where(RosterMember.left_at.is_(None))
        .group_by(RosterMember.organisation_id)
    )
    if root is not None:
        query = query.where(RosterMember.organisation_id.in_(subtree_ids(root)))
    return {org_id: (members, confirmed) for org_id, members, confirmed in db.execute(query)}


def bump(cache: redis.Redis) -> None:
    """The counts changed: the next tree page computes them again."""
    try:
        cache.incr(VERSION_KEY)
    except redis.RedisError:
        log.warning("tree counts version not bumped", exc_info=True)


def version_of(cache: redis.Redis, root: Organisation | None, now: datetime | None = None) -> str:
    """What a cached tree or count depends on: the console's changes (bumped), the minute, the scope root."""
    return f"{int(cache.get(VERSION_KEY) or 0)}.{(now or utcnow()):%Y%m%d%H%M}:{root.id if root else 'all'}"


def cached_counts(
    cache: redis.Redis, db: Session, root: Organisation | None, now: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """counts(), from Redis when computed this minute and unchanged since (without Redis: computed each time)."""
    try:
        key = COUNTS_KEY + version_of(cache, root, now)
        hit = cache.get(key)
    except redis.RedisError:
        log.warning("tree counts computed without the Redis cache", exc_info=True)
        return counts(db, root)
    if hit:
        return {int(k): (v[0], v[1]) for k, v in json.loads(hit).items()}
    result = counts(db, root)
    try:
        cache.set(key, json.dumps({k: list(v) for k, v in result.items()}), ex=COUNTS_SECONDS)
    except redis.RedisError:
        log.warning("tree counts not cached", exc_info=True)
    return result


def load(db: Session, root: Organisation | None, cache: redis.Redis | None = None) -> Tree:
    """The tree under `root` (None: the whole park) with every count (cached in `cache` when given)."""
    query = select(*COLUMNS)
    if root is not None:
        query = query.where(Organisation.path.startswith(root.path, autoescape=True))
    nodes: dict[int, Node] = {}
    by_depth: dict[int, list[Node]] = {}
    for oid, code, name, kind, parent_id, path, district, secretary, group_id, dissolved_at in db.execute(query):
        node = Node(oid, code, name, kind, parent_id, path, district, secretary, group_id, dissolved_at is not None)
        node.depth = path.count("/")
        nodes[oid] = node
        by_depth.setdefault(node.depth, []).append(node)
    found = cached_counts(cache, db, root) if cache is not None else counts(db, root)
    for org_id, (members, confirmed) in found.items():
        node = nodes.get(org_id)
        if node is not None:
            node.own_members = node.members = members
            node.own_confirmed = node.confirmed = confirmed
    tops: list[Node] = []
    for node in nodes.values():
        parent = nodes.get(node.parent_id) if node.parent_id else None
        if parent is None or (root is not None and node.id == root.id):
            tops.append(node)
        else:
            parent.children.append(node)
    top_ids = {n.id for n in tops}
    base = min((n.depth for n in tops), default=0)
    for depth in sorted(by_depth, reverse=True):  # deepest first: add up subtotals
        for node in by_depth[depth]:
            node.depth -= base
            if len(node.children) > 1:
                node.children.sort(key=sort_key)
            if node.id in top_ids or node.parent_id is None:
                continue
            parent = nodes[node.parent_id]
            parent.members += node.members
            parent.confirmed += node.confirmed
            parent.descendants += node.descendants + (0 if node.dissolved else 1)
    tops.sort(key=sort_key)
    return Tree(nodes, tops)


class TreeCache:
    """The last few trees this process built, by version_of (one per app: the console keeps it on the app)."""

    SIZE = 8  # trees kept (scopes viewed this minute)

    def __init__(self) -> None:
        self.trees: OrderedDict[str, Tree] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, cache: redis.Redis, db: Session, root: Organisation | None) -> Tree:
        """The tree under `root`, built at most once a minute per scope unless the console changed something."""
        try:
            key = version_of(cache, root)
        except redis.RedisError:
            log.warning("tree built without the cache", exc_info=True)
            return load(db, root)
        with self.lock:
            hit = self.trees.get(key)
            if hit is not None:
                self.trees.move_to_end(key)
                return hit
        tree = load(db, root, cache)
        with self.lock:
            self.trees[key] = tree
            while len(self.trees) > self.SIZE:
                self.trees.popitem(last=False)
        return tree
