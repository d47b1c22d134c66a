"""The weekly community digest: what happened in one ISO week (UTC, Monday to Sunday) for
one released component, or for the portfolio of every released component.

``digest_build`` gathers the facts once and stores them (``WeeklyDigest.facts``) with the
Markdown export ready to post; the pages, the e-mail, the Atom feeds and the HTML export
all render those stored facts, so they cannot disagree. A component counts as released
once it has a published release (and is not archived): its stage goes back to "in
review" while a wider scope is reviewed, but its community lives on.

The portfolio digest covers components some readers may not see. Every item of the
facts names its component, so ``facts_for`` cuts a digest down to what one person may
see; the stored Markdown is the whole of it, for the open-source office to post.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from community import health as community_health
from community.models import DigestSubscription, Event, WeeklyDigest
from core.audit import audit_record
from governance.enums import Stage
from governance.models import Component
from governance.rules import can_view_component
from governance.selectors import sees_every_component, visible_components
from releases.enums import OPEN_RELEASE_STATES, ReleaseState
from releases.models import Backport, ExternalAlert, Release
from reviews.enums import SubmissionState, TicketState
from reviews.models import ReviewTicket, Submission
from scans.models import Finding

log = logging.getLogger(__name__)

FACTS_VERSION = 1
WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
UPCOMING_DAYS = 28
#: Commits listed per component and week (all of them are counted).
MAX_COMMITS_LISTED = 100
SEVERITIES = ["blocking", "warning", "info"]
IN_PROGRESS_SUBMISSIONS = [SubmissionState.IN_REVIEW, SubmissionState.CHANGES_REQUESTED]
WAITING_TICKETS = [TicketState.OPEN, TicketState.IN_REVIEW, TicketState.CHANGES_REQUESTED]


# --------------------------------------------------------------------------- weeks


def week_start(day: date | datetime) -> date:
    """The Monday of the ISO week ``day`` falls in (a datetime is read in UTC)."""
    if isinstance(day, datetime):
        day = day.astimezone(UTC).date() if day.tzinfo else day.date()
    return day - timedelta(days=day.isoweekday() - 1)


def week_name(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year:04d}-W{week:02d}"


def parse_week(text: str) -> date:
    """The Monday of an ISO week named like ``2026-W48``. Raises ValueError, saying why."""
    match = WEEK_RE.match((text or "").strip())
    if not match:
        raise ValueError(f"'{text}' is not an ISO week: write it like 2026-W48.")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValueError(f"{match[1]} has no week {int(match[2])}.") from exc


def last_full_week(now: datetime | None = None) -> date:
    """The Monday of the last ISO week that has ended (UTC)."""
    return week_start(now or timezone.now()) - timedelta(days=7)


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time.min, tzinfo=UTC)
    return start, start + timedelta(days=7)


def absolute(path: str) -> str:
    """A link for outside the site (e-mail, posts, feeds), as notifications writes them."""
    return settings.GATEHOUSE_BASE_URL.rstrip("/") + path


# --------------------------------------------------------------------------- who gets one


def released_components() -> QuerySet[Component]:
    """Components with a published release, not archived: those that get a digest."""
    published = Release.objects.filter(component=OuterRef("pk"), state=ReleaseState.PUBLISHED)
    return (
        Component.objects.filter(Exists(published)).exclude(stage=Stage.ARCHIVED).order_by("name")
    )


def is_released(component: Component) -> bool:
    return released_components().filter(pk=component.pk).exists()


# --------------------------------------------------------------------------- building


def digest_build(*, week: date, component: Component | None, actor=None) -> WeeklyDigest:
    """Gather the facts of the ISO week ``week`` falls in (any day of it) for a released
    ``component``, or for the portfolio (None), render the Markdown and store both in the
    week's row: created, or replaced when the week was built before (``emailed_at`` is
    kept, so a rebuild is not mailed again). Audited (``digest.built``). Queues nothing.
    Idempotent: building a week again updates its one row. Raises ValidationError for a
    component that has no published release."""
    monday = week_start(week)
    if component is not None and not is_released(component):
        raise ValidationError(
            {
                "component": [
                    f"{component} has no published release: only released components get a digest."
                ]
            }  # fmt: skip
        )
    facts = gather_facts(monday=monday, component=component)
    markdown = render_markdown(facts)
    with transaction.atomic():
        digest, created = WeeklyDigest.objects.update_or_create(
            component=component,
            week_start=monday,
            defaults={
                "week": week_name(monday),
                "facts": facts,
                "markdown": markdown,
                "built_at": timezone.now(),
            },
        )
        audit_record(
            actor=actor, action="digest.built", obj=digest,
            after={"week": digest.week, "component": component.slug if component else "",
                   "rebuilt": not created, "commits": sum(a["commits"] for a in facts["activity"]),
                   "releases": len(facts["releases"])},
            scope=component.audit_scope if component else "",
        )  # fmt: skip
    return digest


def gather_facts(*, monday: date, component: Component | None) -> dict:
    """The week's facts as plain JSON. A constant number of queries however many
    components the portfolio holds (git runs for components whose history is not
    cached, community.health)."""
    start, end = week_bounds(monday)
    now = timezone.now()
    if component is None:
        scope = released_components()
        components = list(scope)
    else:
        scope = Component.objects.filter(pk=component.pk)
        components = [component]
    slugs = {c.pk: c.slug for c in components}
    syncs = community_health.newest_syncs(components)
    histories = community_health.community_histories(components, syncs=syncs)
    facts = {
        "version": FACTS_VERSION,
        "scope": "portfolio" if component is None else "component",
        "component": component.slug if component else None,
        "title": f"{component.name if component else 'Portfolio'} community digest, "
        f"{week_name(monday)}",
        "week": week_name(monday),
        "start": monday.isoformat(),
        "end": (monday + timedelta(days=6)).isoformat(),
        "built_at": now.isoformat(),
        "components": {c.slug: {"name": c.name, "url": c.get_absolute_url()} for c in components},
    }
    facts.update(_commit_facts(components, histories, start, end))
    facts["releases"] = [
        {"component": r.component.slug, "version": r.version, "tag": r.external_tag,
         "published_at": r.published_at.isoformat(), "url": r.get_absolute_url()}
        for r in Release.objects.filter(
            component__in=scope, state=ReleaseState.PUBLISHED,
            published_at__gte=start, published_at__lt=end,
        ).select_related("component").order_by("published_at", "pk")
    ]  # fmt: skip
    facts["backports_done"] = [
        {"component": b.component.slug, "state": b.state, "branch": b.branch,
         "commits": [s[:10] for s in (b.source_commits or [b.source_commit])],
         "by": b.created_by.get_username() if b.created_by else "",
         "date": b.created_at.isoformat()}
        for b in Backport.objects.filter(
            component__in=scope, created_at__gte=start, created_at__lt=end
        ).select_related("component", "created_by").order_by("created_at", "pk")
    ]  # fmt: skip
    facts["backports_waiting"] = [
        {"component": slugs[pk], "sha": item.get("sha", ""), "subject": item.get("subject", ""),
         "author": item.get("author", ""), "date": item.get("date", "")}
        for pk, sync in syncs.items()
        for item in (sync.community or [])
        if isinstance(item, dict) and not item.get("backport")
    ]  # fmt: skip
    facts["reviews"] = _reviews(scope)
    facts["releases_in_progress"] = [
        {"component": r.component.slug, "version": r.version, "state": r.state,
         "state_label": r.get_state_display(), "url": r.get_absolute_url(),
         "blocked_on": [g.get("title", g.get("gate", "")) for g in r.blocking_gates]}
        for r in Release.objects.filter(component__in=scope, state__in=OPEN_RELEASE_STATES)
        .select_related("component").order_by("component__name", "-created_at")
    ]  # fmt: skip
    facts["findings"] = _new_findings(scope, slugs, start, end)
    facts["alerts"] = _new_alerts(scope, start, end)
    facts.update(_events(component, start, end))
    as_of = min(end - timedelta(microseconds=1), now)
    figures = community_health.healths(components, as_of=as_of, syncs=syncs, histories=histories)
    facts["health"] = [{"component": c.slug, **figures[c.pk].as_dict()} for c in components]
    return facts


def _commit_facts(components, histories, start, end) -> dict:
    commits, authors, activity = [], [], []
    for component in components:
        history = histories.get(component.pk, community_health.EMPTY)
        first_seen = history.first_seen
        week = [c for c in history.commits if start <= c.at < end]
        if not week:
            continue
        per_person = Counter(c.identity for c in week)
        names = {c.identity: c.author for c in week}
        activity.append({"component": component.slug, "commits": len(week),
                         "authors": len(per_person), "source": history.source})  # fmt: skip
        for c in week[:MAX_COMMITS_LISTED]:
            commits.append({"component": component.slug, "sha": c.sha, "subject": c.subject,
                            "author": c.author, "date": c.at.isoformat()})  # fmt: skip
        for who, count in per_person.most_common():
            authors.append({"component": component.slug, "name": names[who], "commits": count,
                            "first_time": start <= first_seen[who] < end})  # fmt: skip
    return {"commits": commits, "authors": authors, "activity": activity}


def _reviews(scope) -> list[dict]:
    tickets = ReviewTicket.objects.select_related("department")
    rows = []
    for s in (
        Submission.objects.filter(component__in=scope, state__in=IN_PROGRESS_SUBMISSIONS)
        .select_related("component")
        .prefetch_related(Prefetch("tickets", queryset=tickets))
        .order_by("component__name", "created_at")
    ):
        waiting = [t.department.name for t in s.tickets.all() if t.state in WAITING_TICKETS]
        rows.append({"component": s.component.slug, "id": s.pk, "url": s.get_absolute_url(),
                     "state": s.state, "state_label": s.get_state_display(),
                     "waiting_on": waiting})  # fmt: skip
    return rows


def _new_findings(scope, slugs, start, end) -> list[dict]:
    """Findings of the week's scans whose fingerprint no earlier scan of the component
    had, counted by severity and kind (counts only: never a finding's text)."""
    week = set(
        Finding.objects.filter(
            scan__component__in=scope, scan__created_at__gte=start, scan__created_at__lt=end
        ).values_list("scan__component_id", "fingerprint", "severity", "kind")
    )
    if not week:
        return []
    earlier = set(
        Finding.objects.filter(
            scan__component__in=scope, scan__created_at__lt=start,
            fingerprint__in={fp for _, fp, _, _ in week},
        ).values_list("scan__component_id", "fingerprint")
    )  # fmt: skip
    counted: dict[int, dict] = {}
    seen = set()
    for component_id, fingerprint, severity, kind in sorted(week):
        if (component_id, fingerprint) in earlier or (component_id, fingerprint) in seen:
            continue
        seen.add((component_id, fingerprint))
        row = counted.setdefault(component_id, {"total": 0, "by_severity": {}, "by_kind": {}})
        row["total"] += 1
        row["by_severity"][severity] = row["by_severity"].get(severity, 0) + 1
        row["by_kind"][kind] = row["by_kind"].get(kind, 0) + 1
    return [
        {"component": slugs[pk], **row}
        for pk, row in sorted(counted.items(), key=lambda kv: slugs[kv[0]])
        if pk in slugs
    ]


def _new_alerts(scope, start, end) -> dict:
    rows = (
        ExternalAlert.objects.filter(component__in=scope, created_at__gte=start, created_at__lt=end)
        .select_related("component")
        .order_by("created_at", "pk")
    )
    # What was found where, never the finding's text (a secret's preview stays out).
    items = [
        {"component": a.component.slug, "kind": a.kind, "kind_label": a.get_kind_display(),
         "severity": a.severity, "rule": a.rule, "path": a.path, "state": a.state,
         "date": a.created_at.isoformat(), "url": a.get_absolute_url()}
        for a in rows
    ]  # fmt: skip
    return {"items": items}


def event_fact(event: Event) -> dict:
    return {
        "id": event.pk,
        "title": event.title,
        "kind": event.kind,
        "kind_label": event.get_kind_display(),
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "time_zone": event.time_zone,
        "place": event.place,
        "link": event.link,
        "url": event.get_absolute_url(),
        "report": event.report,
        "components": [{"slug": c.slug, "name": c.name} for c in event.components.all()],
    }


def _events(component, start, end) -> dict:
    events = Event.objects.filter(
        starts_at__gte=start, starts_at__lt=end + timedelta(days=UPCOMING_DAYS)
    ).prefetch_related(Prefetch("components", queryset=Component.objects.order_by("name")))
    if component is not None:
        events = events.filter(components=component)
    past, upcoming = [], []
    for event in events.order_by("starts_at", "pk"):
        (past if event.starts_at < end else upcoming).append(event_fact(event))
    return {"events_past": past, "events_upcoming": upcoming}


# --------------------------------------------------------------------------- who sees what


def _event_visible(event: dict, slugs: set[str]) -> bool:
    linked = [c["slug"] for c in event.get("components", [])]
    return not linked or any(s in slugs for s in linked)


def filter_facts(facts: dict, slugs: set[str] | None) -> dict:
    """The facts about the components named by ``slugs`` only (None: all of them).
    Events linked to no component stay; events linked only to others go."""
    if slugs is None:
        return facts
    kept = dict(facts)
    for key in ("releases", "commits", "authors", "activity", "backports_done",
                "backports_waiting", "reviews", "releases_in_progress", "findings",
                "health"):  # fmt: skip
        kept[key] = [item for item in facts.get(key, []) if item.get("component") in slugs]
    alerts = facts.get("alerts", {})
    kept["alerts"] = {
        **alerts,
        "items": [a for a in alerts.get("items", []) if a.get("component") in slugs],
    }
    for key in ("events_past", "events_upcoming"):
        # An event also linked to a component the reader may not see does not name it.
        kept[key] = [
            {**e, "components": [c for c in e.get("components", []) if c["slug"] in slugs]}
            for e in facts.get(key, [])
            if _event_visible(e, slugs)
        ]
    kept["components"] = {s: v for s, v in facts.get("components", {}).items() if s in slugs}
    return kept


def visible_slugs(user, *facts_list: dict) -> set[str] | None:
    """The component slugs named in ``facts_list`` that ``user`` may see (one query);
    None when they see every component."""
    if sees_every_component(user):
        return None
    named: set[str] = set()
    for facts in facts_list:
        named.update(facts.get("components", {}))
        for key in ("events_past", "events_upcoming"):
            for event in facts.get(key, []):
                named.update(c["slug"] for c in event.get("components", []))
    if not named:
        return set()
    return set(visible_components(user).filter(slug__in=named).values_list("slug", flat=True))


def facts_for(user, digest: WeeklyDigest) -> dict:
    """What of ``digest`` ``user`` may read: the portfolio's cut down to the components
    they may see; a component's (the caller checks they may see it) whole, but for the
    names of other components its events are also linked to."""
    return filter_facts(digest.facts, visible_slugs(user, digest.facts))


def markdown_for(user, digest: WeeklyDigest) -> str:
    facts = facts_for(user, digest)
    return digest.markdown if facts is digest.facts else render_markdown(facts)


# --------------------------------------------------------------------------- rendering


def _when(value: str) -> datetime | None:
    return community_health.parse_date(value) if value else None


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def event_times(event: dict) -> str:
    """When an event happens, in its own time zone and in UTC."""
    starts, ends = _when(event["starts_at"]), _when(event["ends_at"])
    if starts is None or ends is None:
        return ""
    zone = _zone(event.get("time_zone") or "UTC")
    local, local_end = starts.astimezone(zone), ends.astimezone(zone)
    end_text = (
        f"{local_end:%H:%M}"
        if local_end.date() == local.date()
        else (f"{local_end:%a %d %b %Y %H:%M}")
    )
    text = f"{local:%a %d %b %Y, %H:%M}–{end_text} {event.get('time_zone') or 'UTC'}"
    if zone is not UTC and event.get("time_zone") != "UTC":
        utc_end = f"{ends:%H:%M}" if ends.date() == starts.date() else f"{ends:%a %d %b %H:%M}"
        text += f" ({starts:%a %d %b, %H:%M}–{utc_end} UTC)"
    return text


def summarise(facts: dict) -> dict:
    """The facts arranged for reading: names beside slugs, totals, times as words. The
    Markdown and the HTML (page, e-mail) are both drawn from this."""
    names = {slug: info["name"] for slug, info in facts.get("components", {}).items()}
    portfolio = facts.get("scope") == "portfolio"

    def named(items):
        return [{**item, "component_name": names.get(item.get("component"), "")} for item in items]

    commits = named(facts.get("commits", []))
    for c in commits:
        c["day"] = c["date"][:10]
        c["short"] = c["sha"][:10]
    authors = named(facts.get("authors", []))
    findings = named(facts.get("findings", []))
    severity_totals = {
        s: sum(f["by_severity"].get(s, 0) for f in findings)
        for s in SEVERITIES + sorted({k for f in findings for k in f["by_severity"]} -
                                     set(SEVERITIES))
    }  # fmt: skip
    events = {}
    for key in ("events_past", "events_upcoming"):
        events[key] = [{**e, "when": event_times(e)} for e in facts.get(key, [])]
    health = named(facts.get("health", []))
    for h in health:
        h["top1_percent"] = percent(h.get("top1_share"))
        h["top3_percent"] = percent(h.get("top3_share"))
        h["backport_median"] = community_health.format_hours(h.get("backport_median_hours"))
        h["backport_p90"] = community_health.format_hours(h.get("backport_p90_hours"))
        h["this_month"] = (h.get("contributors") or [0])[-1]
        h["new_this_month"] = (h.get("new") or [0])[-1]
    alerts = facts.get("alerts", {"items": []})
    activity = facts.get("activity", [])
    return {
        "title": facts.get("title", ""),
        "week": facts.get("week", ""),
        "start": facts.get("start", ""),
        "end": facts.get("end", ""),
        "built_at": (facts.get("built_at") or "")[:16].replace("T", " "),
        "portfolio": portfolio,
        "component": facts.get("component"),
        "releases": named(facts.get("releases", [])),
        "commits": commits,
        "commit_count": sum(a["commits"] for a in activity),
        "author_count": len({(a["component"], a["name"]) for a in authors}),
        "authors": authors,
        "first_time": [a for a in authors if a["first_time"]],
        "backports_done": named(facts.get("backports_done", [])),
        "backports_waiting": named(facts.get("backports_waiting", [])),
        "reviews": named(facts.get("reviews", [])),
        "releases_in_progress": named(facts.get("releases_in_progress", [])),
        "findings": findings,
        "finding_count": sum(f["total"] for f in findings),
        "severity_totals": {s: n for s, n in severity_totals.items() if n},
        "alerts": named(alerts.get("items", [])),
        "events_past": events["events_past"],
        "events_upcoming": events["events_upcoming"],
        "health": health,
    }


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def percent(share) -> str:
    return "—" if share is None else f"{round(100 * share)} %"


def counts(facts: dict) -> dict:
    """A digest in numbers, for the archive's rows."""
    return {
        "releases": len(facts.get("releases", [])),
        "commits": sum(a["commits"] for a in facts.get("activity", [])),
        "first_time": sum(1 for a in facts.get("authors", []) if a["first_time"]),
        "events": len(facts.get("events_past", [])),
    }


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!])")


def md(text) -> str:
    """Text from people (commit subjects, names, titles) made inert in Markdown: one line,
    the characters that would make links, emphasis, HTML or tables escaped."""
    line = " ".join(str(text or "").split())
    return _MD_SPECIAL.sub(r"\\\1", line)


def _link(label: str, url: str, base: str) -> str:
    if not url:
        return md(label)
    return f"[{md(label)}]({base}{url})"


def render_markdown(facts: dict, *, base: str | None = None) -> str:
    """The digest as Markdown, ready to post: headings, lists, absolute links."""
    base = settings.GATEHOUSE_BASE_URL.rstrip("/") if base is None else base
    d = summarise(facts)

    def where(item) -> str:
        return f"**{md(item['component_name'])}**: " if d["portfolio"] else ""

    out = [f"# {md(d['title'])}", "", f"{d['start']} to {d['end']} (ISO week {d['week']}, UTC)."]
    out += ["", "## In short", ""]
    out += [
        f"- Releases published: {len(d['releases'])}",
        f"- Community commits: {d['commit_count']} by {plural(d['author_count'], 'author')}",
        f"- First-time contributors: {len(d['first_time'])}",
        f"- Back-ports done: {len(d['backports_done'])}; waiting: {len(d['backports_waiting'])}",
        f"- Reviews in progress: {len(d['reviews'])}; releases in progress: "
        f"{len(d['releases_in_progress'])}",
        f"- New findings: {d['finding_count']}"
        + (f" ({_severity_words(d['severity_totals'])})" if d["severity_totals"] else ""),
    ]
    out.append(f"- New external alerts: {len(d['alerts'])}")
    out.append(
        f"- Events: {len(d['events_past'])} this week, {len(d['events_upcoming'])} coming up"
    )

    out += ["", "## Releases", ""]
    out += [
        f"- {where(r)}{_link(r['version'], r['url'], base)} published {r['published_at'][:10]}"
        + (f" as `{md(r['tag'])}`" if r["tag"] else "")
        for r in d["releases"]
    ] or ["No release this week."]

    out += ["", "## Community commits", ""]
    out += [
        f"- {where(c)}`{c['short']}` {md(c['subject'])} ({md(c['author'])}, {c['day']})"
        for c in d["commits"]
    ] or ["No community commit this week."]
    if d["authors"]:
        out += ["", "Authors: " + ", ".join(
            f"{md(a['name'])} ({a['commits']})" + (f" on {md(a['component_name'])}"
                                                   if d["portfolio"] else "")
            for a in d["authors"])]  # fmt: skip

    out += ["", "## First-time contributors", ""]
    out += [
        f"- {md(a['name'])}"
        + (f" on {md(a['component_name'])}" if d["portfolio"] else "")
        + " — welcome!"
        for a in d["first_time"]
    ] or ["Nobody new this week."]

    out += ["", "## Back-ports", "", "### Done this week", ""]
    out += [
        f"- {where(b)}{', '.join(f'`{s}`' for s in b['commits'])} → "
        + (f"`{md(b['branch'])}`" if b["branch"] else f"{md(b['state'])} (conflicts)")
        + (f" by {md(b['by'])}" if b["by"] else "")
        for b in d["backports_done"]
    ] or ["None."]
    out += ["", "### Waiting now", ""]
    out += [
        f"- {where(c)}`{c['sha'][:10]}` {md(c['subject'])} ({md(c['author'])})"
        for c in d["backports_waiting"]
    ] or ["Nothing waits for a back-port."]

    out += ["", "## Reviews in progress", ""]
    out += [
        f"- {where(r)}{_link('Submission #' + str(r['id']), r['url'], base)}: "
        f"{md(r['state_label'])}"
        + (f", waiting on {md(', '.join(r['waiting_on']))}" if r["waiting_on"] else "")
        for r in d["reviews"]
    ] or ["None."]

    out += ["", "## Releases in progress", ""]
    out += [
        f"- {where(r)}{_link(r['version'], r['url'], base)}: {md(r['state_label'])}"
        + (f", blocked on {md(', '.join(r['blocked_on']))}" if r["blocked_on"] else "")
        for r in d["releases_in_progress"]
    ] or ["None."]

    out += ["", "## New findings", ""]
    out += [
        f"- {where(f)}{f['total']} ({_severity_words(f['by_severity'])})" for f in d["findings"]
    ] or ["No new finding this week."]

    out += ["", "## New external alerts", ""]
    out += [
        f"- {where(a)}{_link(a['kind_label'], a['url'], base)} "
        f"`{md(a['rule'])}` in `{md(a['path'])}` ({md(a['severity'])}, {md(a['state'])})"
        for a in d["alerts"]
    ] or ["No new alert this week."]

    out += ["", "## Events", "", "### This week", ""]
    out += [_event_line(e, base) for e in d["events_past"]] or ["No event this week."]
    out += ["", "### Coming up (next four weeks)", ""]
    out += [_event_line(e, base) for e in d["events_upcoming"]] or ["Nothing planned yet."]

    out += ["", "## Community health", ""]
    for h in d["health"]:
        label = f"**{md(h['component_name'])}**: " if d["portfolio"] else ""
        if not h.get("commits"):
            out.append(f"- {label}no community commits in the last twelve months")
            continue
        out.append(
            f"- {label}{plural(h['authors'], 'contributor')} and "
            f"{plural(h['commits'], 'commit')} in the last "
            f"twelve months ({h['this_month']} this month, {h['new_this_month']} new); bus "
            f"factor {h['bus_factor']}; top contributor {h['top1_percent']} of commits, "
            f"top three {h['top3_percent']}; " + _backport_words(h)
        )
    if not d["health"]:
        out.append("No released component yet.")

    archive = digest_archive_url(d["component"])
    out += ["", "---", "", f"[All digests]({base}{archive}) · built {d['built_at']} UTC", ""]
    return "\n".join(out)


def _backport_words(h: dict) -> str:
    if not h.get("backports"):
        return "nothing back-ported yet"
    return (
        f"back-ported after {h['backport_median']} (median), {h['backport_p90']} (p90), "
        f"over {plural(h['backports'], 'commit')}"
    )


def _severity_words(counts: dict) -> str:
    return ", ".join(f"{n} {severity}" for severity, n in counts.items() if n)


def _event_line(e: dict, base: str) -> str:
    line = f"- {_link(e['title'], e['url'], base)} ({md(e['kind_label'])}), {e['when']}"
    if e.get("place"):
        line += f", {md(e['place'])}"
    if e.get("link"):
        # An autolink ends at ">": one inside the address would let the rest format.
        line += f" — <{e['link'].replace('<', '%3C').replace('>', '%3E')}>"
    if e.get("report"):
        line += f"\n  Report: {md(e['report'])}"
    return line


def digest_archive_url(slug: str | None) -> str:
    if slug:
        return reverse("community:component-digests", kwargs={"slug": slug})
    return reverse("community:digests")


def digest_url(digest: WeeklyDigest, *, slug: str | None = None, markdown: bool = False) -> str:
    """A digest's page (or its Markdown); ``slug`` saves looking its component up."""
    suffix = "-md" if markdown else ""
    if digest.component_id:
        slug = slug or digest.component.slug
        return reverse(
            f"community:component-digest{suffix}", kwargs={"slug": slug, "week": digest.week}
        )
    return reverse(f"community:digest{suffix}", kwargs={"week": digest.week})


def feed_url(slug: str | None) -> str:
    if slug:
        return reverse("community:component-digests-feed", kwargs={"slug": slug})
    return reverse("community:digests-feed")


def render_html(facts: dict, *, base: str = "", standalone: bool = False) -> str:
    """The same facts as HTML: the digest's body, or (``standalone``) a whole document,
    as e-mailed and as ``weekly_digest --format html`` prints it."""
    template = "community/digest_email.html" if standalone else "community/digest_body.html"
    return render_to_string(
        template,
        {"d": summarise(facts), "base": base, "archive": digest_archive_url(facts["component"])},
    )


# --------------------------------------------------------------------------- e-mail


def _claim(digest: WeeklyDigest):
    """Claim the digest's mailing by a compare-and-swap on ``emailed_at``: of two tasks
    (or one run twice) only one sends it. Returns the claim's time, or None."""
    now = timezone.now()
    claimed = WeeklyDigest.objects.filter(pk=digest.pk, emailed_at=None).update(emailed_at=now)
    return now if claimed else None


def _subject(title: str) -> str:
    return " ".join(f"[Gatehouse] {title}".split())[:200]


def _message(digest: WeeklyDigest, user, base: str) -> EmailMultiAlternatives:
    facts = facts_for(user, digest)
    text = digest.markdown if facts is digest.facts else render_markdown(facts)
    mail = EmailMultiAlternatives(
        subject=_subject(facts["title"]),
        body=text + f"\nStop these e-mails: {base}{digest_archive_url(facts['component'])}\n",
        to=[user.email],
    )
    mail.attach_alternative(render_html(facts, base=base, standalone=True), "text/html")
    return mail


def _recipients(digest: WeeklyDigest) -> list:
    """The digest's subscribers who may see it and have an address, not yet mailed it."""
    # component=None reads "IS NULL": the portfolio's subscribers.
    subscriptions = (
        DigestSubscription.objects.filter(component=digest.component_id, user__is_active=True)
        .select_related("user")
        .exclude(user_id__in=digest.mailed_to)
        .order_by("pk")
    )
    return [
        s.user for s in subscriptions
        if s.user.email
        and (digest.component_id is None or can_view_component(s.user, digest.component))
    ]  # fmt: skip


def digests_email(*, digest: WeeklyDigest) -> int:
    """E-mail the digest to each of its subscribers who may see it, once: one message
    each, Markdown as the text and the HTML as an alternative; the portfolio's cut down
    to the components each person may see. Claimed by a compare-and-swap on
    ``emailed_at`` (a task run twice, or two workers, send it once). Each recipient is
    recorded in ``mailed_to`` as their message is taken, so when the relay fails half-way
    the claim is released and the error propagates, and the retry mails only those left.
    An address the relay refuses is logged and passed over. Audited (``digest.emailed``).
    Returns the number of messages sent."""
    at = _claim(digest)
    if at is None:
        return 0
    base = settings.GATEHOUSE_BASE_URL.rstrip("/")
    sent = refused = 0
    try:
        with get_connection() as connection:
            for user in _recipients(digest):
                try:
                    connection.send_messages([_message(digest, user, base)])
                except smtplib.SMTPRecipientsRefused:
                    log.warning("digest %s: the relay refused %s's address", digest.pk, user)
                    refused += 1
                    continue
                sent += 1
                digest.mailed_to = [*digest.mailed_to, user.pk]
                WeeklyDigest.objects.filter(pk=digest.pk).update(mailed_to=digest.mailed_to)
    except Exception:
        WeeklyDigest.objects.filter(pk=digest.pk, emailed_at=at).update(emailed_at=None)
        raise
    with transaction.atomic():
        audit_record(
            actor=None, action="digest.emailed", obj=digest,
            after={"week": digest.week, "recipients": len(digest.mailed_to),
                   "refused": refused},
            scope=digest.component.audit_scope if digest.component_id else "",
        )  # fmt: skip
    return sent


# --------------------------------------------------------------------------- the week's run


def digests_build_week(*, week: date | None = None) -> list[WeeklyDigest]:
    """Build the digest of every released component and the portfolio's for ``week``
    (default: the last full ISO week). Idempotent, like ``digest_build``."""
    monday = week_start(week) if week else last_full_week()
    digests = [digest_build(week=monday, component=c) for c in released_components()]
    digests.append(digest_build(week=monday, component=None))
    return digests
