"""Community health, CHAOSS-style, from the external repository's history: contributors
per month, new versus returning contributors, how much of the work rests on the top
contributors (the bus factor), and how long a community commit waits for its back-port.

The source is the component's sync workspace (releases.sync): the external branch's
history read with ``vcs.log``, without Gatehouse's own export commits (they carry the
``Gatehouse-Internal-Rev`` trailer). Reading it costs a git process and parsing up to
``MAX_COMMITS`` commits, so the community commits are cached (Django's cache) under the
external head the newest sync recorded: a new head is a new key, and nothing needs
invalidating. Without a workspace (a sync never ran on this machine, or it was cleared)
the community lists of the component's sync records stand in; with neither, "no data".

The figures themselves are cheap arithmetic over those commits and the component's
back-ports, computed on each call, so they follow the clock (the last twelve months)
and new back-ports without a new key.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from django.utils import timezone

import vcs
from governance.models import Component
from releases.charts import Chart, Series, bar_chart, line_chart
from releases.models import Backport, SyncState
from releases.sync import TRAILER_REV, workspace_for

#: The most external commits read from a workspace for the figures.
MAX_COMMITS = 10_000
MONTHS = 12
CACHE_SECONDS = 7 * 24 * 3600  # the key names the head: a long life is safe
CACHE_VERSION = 1

SOURCE_WORKSPACE = "workspace"
SOURCE_SYNCS = "syncs"
SOURCE_NONE = "none"


@dataclass(frozen=True)
class CommunityCommit:
    sha: str
    author: str  # the name as written in the commit
    identity: str  # who it is: the e-mail address (lower case), else the name
    at: datetime  # authored, in UTC
    subject: str


@dataclass(frozen=True)
class History:
    """A component's community commits (oldest first) and where they were read from."""

    commits: tuple[CommunityCommit, ...]
    source: str

    @property
    def first_seen(self) -> dict[str, datetime]:
        """When each contributor's first community commit was authored."""
        first: dict[str, datetime] = {}
        for commit in self.commits:
            if commit.identity not in first or commit.at < first[commit.identity]:
                first[commit.identity] = commit.at
        return first


EMPTY = History((), SOURCE_NONE)


def identity_of(name: str, email: str) -> str:
    email = (email or "").strip().lower()
    return email or (name or "").strip().lower()


def parse_date(text: str) -> datetime | None:
    """An ISO 8601 date from git (``%aI``) or a sync record, in UTC; None if unreadable."""
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _commit(sha, name, email, date, subject) -> CommunityCommit | None:
    at = parse_date(date)
    if at is None or not sha:
        return None
    return CommunityCommit(sha, name or email or "unknown", identity_of(name, email), at, subject)


# --------------------------------------------------------------------------- reading


def newest_syncs(components: Iterable[Component]) -> dict[int, SyncState]:
    """Each component's newest sync record (its current state), in one query."""
    ids = [c.pk for c in components]
    if not ids:
        return {}
    newest = (
        SyncState.objects.filter(component=OuterRef("component"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    rows = SyncState.objects.filter(component_id__in=ids, pk=Subquery(newest)).defer(
        "pending", "external_tags", "tags_missing_externally", "tags_unknown_internally"
    )
    return {row.component_id: row for row in rows}


def _cache_key(component_id: int, head: str) -> str:
    return f"community:history:v{CACHE_VERSION}:{component_id}:{head}"


def _from_workspace(component: Component, head: str) -> History | None:
    workspace = workspace_for(component)
    if not head or not workspace.is_dir():
        return None
    try:
        log = vcs.log(workspace, include=head, max_count=MAX_COMMITS)
    except (vcs.VcsError, ValueError):
        return None  # e.g. the workspace was recreated and lacks that head: use the records
    commits = []
    for info in log:
        if TRAILER_REV in info.trailers:
            continue  # Gatehouse's own export, not the community's
        commit = _commit(info.sha, info.author_name, info.author_email, info.authored_at,
                         info.subject)  # fmt: skip
        if commit is not None:
            commits.append(commit)
    commits.sort(key=lambda c: (c.at, c.sha))
    return History(tuple(commits), SOURCE_WORKSPACE)


def _from_records(rows: Iterable[list]) -> History:
    seen: dict[str, CommunityCommit] = {}
    for community in rows:
        for item in community or []:
            if not isinstance(item, dict) or item.get("sha") in seen:
                continue
            commit = _commit(item.get("sha"), item.get("author", ""), item.get("email", ""),
                             item.get("date", ""), item.get("subject", ""))  # fmt: skip
            if commit is not None:
                seen[commit.sha] = commit
    if not seen:
        return EMPTY
    return History(tuple(sorted(seen.values(), key=lambda c: (c.at, c.sha))), SOURCE_SYNCS)


def _pack(history: History) -> tuple:
    return (
        history.source,
        [(c.sha, c.author, c.identity, c.at.isoformat(), c.subject) for c in history.commits],
    )


def _unpack(value) -> History | None:
    try:
        source, rows = value
        commits = tuple(
            CommunityCommit(sha, author, who, datetime.fromisoformat(at), subject)
            for sha, author, who, at, subject in rows
        )
    except (TypeError, ValueError):
        return None
    return History(commits, source)


def community_histories(
    components: Sequence[Component], *, syncs: dict[int, SyncState] | None = None
) -> dict[int, History]:
    """The community commits of each component, by component id. Database work is a
    constant number of queries however many components: the newest syncs (unless
    given), then, for the components whose history is neither cached nor readable from a
    workspace, their sync records in one query. Git runs once per component whose
    external head is not cached yet."""
    syncs = newest_syncs(components) if syncs is None else syncs
    heads = {c.pk: (syncs[c.pk].external_head if c.pk in syncs else "") for c in components}
    keys = {c.pk: _cache_key(c.pk, heads[c.pk]) for c in components if heads[c.pk]}
    cached = cache.get_many(list(keys.values())) if keys else {}
    result: dict[int, History] = {}
    fresh: dict[str, tuple] = {}
    missing: list[int] = []
    for component in components:
        key = keys.get(component.pk)
        history = _unpack(cached[key]) if key in cached else None
        if history is None and key:
            history = _from_workspace(component, heads[component.pk])
            if history is not None:
                fresh[key] = _pack(history)
        if history is None:
            missing.append(component.pk)
        else:
            result[component.pk] = history
    if fresh:
        cache.set_many(fresh, CACHE_SECONDS)
    if missing:
        records: dict[int, list] = defaultdict(list)
        for component_id, community in SyncState.objects.filter(
            component_id__in=missing
        ).values_list("component_id", "community"):
            records[component_id].append(community)
        for component_id in missing:
            result[component_id] = _from_records(records.get(component_id, []))
    return result


def backports_of(components: Sequence[Component]) -> dict[int, list[tuple[datetime, list[str]]]]:
    """Each component's back-port branches made (not the conflicts): when, and of which
    community commits. One query."""
    found: dict[int, list] = defaultdict(list)
    rows = Backport.objects.filter(
        component__in=[c.pk for c in components], state=Backport.State.CREATED
    ).values_list("component_id", "created_at", "source_commit", "source_commits")
    for component_id, created_at, source, sources in rows:
        found[component_id].append((created_at, list(sources or []) or [source]))
    return found


# --------------------------------------------------------------------------- the figures


@dataclass
class Health:
    """The figures of one component as of ``as_of``."""

    source: str
    as_of: datetime
    months: list[str] = field(default_factory=list)  # "2026-01", oldest first
    contributors: list[int] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    returning: list[int] = field(default_factory=list)
    #: Over the last twelve months:
    commits: int = 0
    authors: int = 0
    bus_factor: int | None = None
    top1_share: float | None = None
    top3_share: float | None = None
    top: list[tuple[str, int]] = field(default_factory=list)
    #: Hours from a community commit to the back-port branch that brought it in.
    backports: int = 0
    backport_median_hours: float | None = None
    backport_p90_hours: float | None = None

    @property
    def has_data(self) -> bool:
        return self.source != SOURCE_NONE and (self.commits > 0 or any(self.contributors))

    def as_dict(self) -> dict:
        """The figures for a digest's facts (JSON)."""
        return {
            "source": self.source,
            "months": self.months,
            "contributors": self.contributors,
            "new": self.new,
            "returning": self.returning,
            "commits": self.commits,
            "authors": self.authors,
            "bus_factor": self.bus_factor,
            "top1_share": self.top1_share,
            "top3_share": self.top3_share,
            "top": [list(t) for t in self.top],
            "backports": self.backports,
            "backport_median_hours": self.backport_median_hours,
            "backport_p90_hours": self.backport_p90_hours,
        }


def month_names(as_of: datetime, count: int = MONTHS) -> list[str]:
    """The ``count`` calendar months up to the one ``as_of`` falls in, oldest first."""
    year, month = as_of.year, as_of.month
    names = []
    for _ in range(count):
        names.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return names[::-1]


def _month(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def bus_factor(counts: Sequence[int]) -> int | None:
    """The fewest contributors whose commits make at least half of all of them."""
    total = sum(counts)
    if not total:
        return None
    running = 0
    for number, count in enumerate(sorted(counts, reverse=True), start=1):
        running += count
        if 2 * running >= total:
            return number
    return len(counts)  # not reached: the sum is the total


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` 0.9 for p90): a value that occurred."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def health_figures(
    history: History, backports: Iterable[tuple[datetime, list[str]]] = (), *, as_of: datetime
) -> Health:
    """The figures over ``history`` as of ``as_of`` (commits after it are not counted)."""
    as_of = as_of.astimezone(UTC)
    commits = [c for c in history.commits if c.at <= as_of]
    health = Health(source=history.source, as_of=as_of, months=month_names(as_of))
    first_month: dict[str, str] = {}
    for commit in commits:  # oldest first
        first_month.setdefault(commit.identity, _month(commit.at))
    active: dict[str, set[str]] = defaultdict(set)
    for commit in commits:
        active[_month(commit.at)].add(commit.identity)
    for month in health.months:
        people = active.get(month, set())
        new = sum(1 for who in people if first_month[who] == month)
        health.contributors.append(len(people))
        health.new.append(new)
        health.returning.append(len(people) - new)
    window = [c for c in commits if _month(c.at) >= health.months[0]]
    per_person = Counter(c.identity for c in window)
    names = {c.identity: c.author for c in window}  # the newest spelling of each name
    health.commits = len(window)
    health.authors = len(per_person)
    if window:
        ranked = per_person.most_common()
        health.bus_factor = bus_factor([n for _, n in ranked])
        health.top1_share = round(ranked[0][1] / len(window), 4)
        health.top3_share = round(sum(n for _, n in ranked[:3]) / len(window), 4)
        health.top = [(names[who], n) for who, n in ranked[:5]]
    dates = {c.sha: c.at for c in commits}
    hours = []
    for created_at, shas in backports:
        if created_at > as_of:
            continue
        for sha in shas:
            if sha in dates:
                hours.append(max(0.0, (created_at - dates[sha]).total_seconds() / 3600))
    health.backports = len(hours)
    if hours:
        health.backport_median_hours = round(statistics.median(hours), 2)
        health.backport_p90_hours = round(percentile(hours, 0.9), 2)
    return health


def healths(components: Sequence[Component], *, as_of: datetime | None = None,
            syncs: dict[int, SyncState] | None = None,
            histories: dict[int, History] | None = None) -> dict[int, Health]:  # fmt: skip
    """The figures of several components, by id, in a constant number of queries."""
    as_of = as_of or timezone.now()
    histories = community_histories(components, syncs=syncs) if histories is None else histories
    backports = backports_of(components)
    return {
        c.pk: health_figures(histories.get(c.pk, EMPTY), backports.get(c.pk, []), as_of=as_of)
        for c in components
    }


def component_health(component: Component, *, as_of: datetime | None = None) -> Health:
    return healths([component], as_of=as_of)[component.pk]


# --------------------------------------------------------------------------- charts


def format_hours(value: float | None) -> str:
    """A back-port time for people: hours below two days, else days."""
    if value is None:
        return "no data"
    if value < 48:
        return f"{value:.1f} h".replace(".0 h", " h")
    return f"{value / 24:.1f} days".replace(".0 days", " days")


def health_charts(health: Health) -> list[tuple[Chart, str]]:
    """The component page's charts: contributors per month, and new versus returning."""
    labels = list(health.months)
    return [
        (
            line_chart(
                title="Contributors per month",
                categories=labels,
                series=[Series("Contributors", health.contributors)],
                x_label="Month",
                y_label="People who committed",
                width=640,
                height=240,
            ),
            "Distinct authors of community commits to the external repository each month.",
        ),
        (
            bar_chart(
                title="New and returning contributors",
                categories=labels,
                series=[Series("New", health.new), Series("Returning", health.returning)],
                x_label="Month",
                y_label="People",
                width=640,
                height=240,
            ),
            "New: the month of a person's first community commit; returning: active again.",
        ),
    ]
