"""Reads for releases: the gate context (a fixed number of queries per release), lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone

import vcs
from governance.models import Component, ComponentRole, Department
from governance.selectors import visible_components
from releases import gates
from releases.models import ExternalAlert, GatePolicy, Release, SyncState, Waiver
from reviews.enums import Decision, SignOffStatus, SubmissionState
from reviews.models import SignOff, Submission
from scans.enums import FindingKind, Severity, TriageState
from scans.models import Finding, ScanRun
from scans.selectors import UNSETTLED
from scans.services import export_plan_for

#: Hygiene rules a gate reads, besides every open blocking finding (the community files are
#: read from the export plan, not from the scan's missing-* findings).
GATE_HYGIENE_RULES = ["license-mismatch"]


def visible_releases(user) -> QuerySet[Release]:
    return Release.objects.filter(component__in=visible_components(user))


def release_detail(user, pk: int) -> Release:
    return (
        visible_releases(user)
        .select_related("component", "created_by")
        .prefetch_related("component__owners")
        .get(pk=pk)
    )


def required_gates(component: Component) -> list[str]:
    """The component's own gate policy, else the default one, else every registered gate;
    keys no longer registered are dropped."""
    policies = {
        p.component_id: p.gates
        for p in GatePolicy.objects.filter(Q(component=component) | Q(component=None))
    }
    keys = policies.get(component.pk, policies.get(None))
    if keys is None:
        keys = list(gates.GATES)
    return [k for k in keys if k in gates.GATES]


def active_waivers(component: Component, release: Release | None, now) -> list[Waiver]:
    query = Q(fingerprint__gt="")
    if release is not None:
        query |= Q(release=release)
    return list(
        Waiver.objects.filter(query, component=component, revoked_at=None, expires_at__gt=now)
        .select_related("owner", "granted_by")
        .order_by("expires_at")
    )


def reviewed_submission(component_id: int) -> Submission | None:
    """The submission whose review the reviews gate reads: the latest not withdrawn."""
    return (
        Submission.objects.filter(component_id=component_id)
        .exclude(state=SubmissionState.WITHDRAWN)
        .select_related("submitted_by", "repository")
        .order_by("-created_at", "-id")
        .first()
    )


def _review_state(component: Component, commit: str) -> gates.ReviewState | None:
    submission = reviewed_submission(component.pk)
    if submission is None:
        return None
    tickets = {t.department_id: t for t in submission.tickets.all()}
    # An approval counts for the scope it was made on: the license, the paths, the mapping
    # and the destination as they stand now in the database (whatever changed them, and
    # however), not as a caller's copy of the component remembers them.
    digest = (
        Component.objects.select_related("external_repository").get(pk=component.pk).scope_digest
    )
    owners = set(component.owners.values_list("pk", flat=True))
    signoffs = (
        SignOff.objects.filter(ticket__submission=submission)
        .exclude(status=SignOffStatus.SUPERSEDED)
        .select_related("reviewer")
        .order_by("created_at")
    )
    by_ticket: dict[int, list[SignOff]] = {}
    for signoff in signoffs:
        by_ticket.setdefault(signoff.ticket_id, []).append(signoff)
    # The newest open external alert of each department: what reopened its review.
    alerts: dict[int, ExternalAlert] = {}
    for alert in ExternalAlert.objects.filter(
        component=component, state=ExternalAlert.State.OPEN
    ).order_by("created_at", "id"):
        alert.component = component
        alerts[alert.department_id] = alert
    departments = []
    for dept in Department.objects.filter(is_active=True).order_by("position", "name"):
        ticket = tickets.get(dept.pk)
        if ticket is None:
            departments.append(gates.DepartmentReview(name=dept.name, quorum=dept.quorum))
            continue
        current = [s for s in by_ticket.get(ticket.pk, ()) if s.status == SignOffStatus.CURRENT]
        approvals = [
            s
            for s in current
            if s.decision == Decision.APPROVE
            and s.commit == commit
            and s.reviewer_id != submission.submitted_by_id
            and s.reviewer_id not in owners
        ]
        approvers = sorted(
            {s.reviewer.get_username() for s in approvals if s.scope_digest == digest}
        )
        other_scope = sum(1 for s in approvals if s.scope_digest != digest)
        departments.append(
            gates.DepartmentReview(
                name=dept.name,
                quorum=dept.quorum,
                ticket_url=ticket.get_absolute_url(),
                state=ticket.state,
                approvers=tuple(approvers),
                stale=sum(
                    1 for s in by_ticket.get(ticket.pk, ()) if s.status == SignOffStatus.STALE
                ),
                other_scope=other_scope,
                alert=str(alerts[dept.pk]) if dept.pk in alerts else "",
                alert_url=alerts[dept.pk].get_absolute_url() if dept.pk in alerts else "",
                objections=tuple(
                    (s.reviewer.get_username(), s.comment)
                    for s in current
                    if s.decision != Decision.APPROVE
                ),
            )
        )
    return gates.ReviewState(
        url=submission.get_absolute_url(),
        state=submission.state,
        commit=submission.commit,
        departments=tuple(departments),
    )


def _finding_refs(scan: ScanRun, waived: set[str]) -> tuple[gates.FindingRef, ...]:
    url = reverse("scans:scan", kwargs={"pk": scan.pk})
    rows = Finding.objects.filter(
        (UNSETTLED & Q(severity=Severity.BLOCKING))
        # judged by the export plan, whatever severity the scan's scope gave them
        | (UNSETTLED & (Q(kind=FindingKind.INTERNAL_REF) | Q(rule="denied-license")))
        | Q(state=TriageState.OPEN, kind=FindingKind.HYGIENE, rule__in=GATE_HYGIENE_RULES)
        | Q(kind=FindingKind.LICENSE, data__source="license-file"),
        scan=scan,
    ).only("pk", "kind", "rule", "severity", "path", "line", "message", "fingerprint",
           "license", "data", "state", "confirmed_at")  # fmt: skip
    return tuple(
        gates.FindingRef(
            kind=f.kind,
            rule=f.rule,
            severity=f.severity,
            path=f.path,
            line=f.line,
            message=f.message,
            fingerprint=f.fingerprint,
            url=f"{url}#finding-{f.pk}",
            license=f.license,
            source=(f.data or {}).get("source", ""),
            pk=f.pk,
            awaiting=f.awaits_confirmation,
        )  # fmt: skip
        for f in rows
        if f.fingerprint not in waived
    )


def release_scan(release: Release) -> ScanRun | None:
    """The newest scan of the release's commit: the one its gates judge."""
    return (
        ScanRun.objects.filter(component_id=release.component_id, commit=release.commit)
        .order_by("-created_at", "-id")
        .first()
    )


def waivable_findings(release: Release, *, now=None, limit: int = 50) -> list[gates.FindingRef]:
    """The open blocking findings of the release's scan no waiver covers yet: what the
    waiver form offers. Two queries (the release's waivers are not needed)."""
    now = now or timezone.now()
    scan = release_scan(release)
    if scan is None:
        return []
    waived = set(
        Waiver.objects.filter(
            component_id=release.component_id, fingerprint__gt="", revoked_at=None,
            expires_at__gt=now,
        ).values_list("fingerprint", flat=True)
    )  # fmt: skip
    return [f for f in _finding_refs(scan, waived) if f.severity == "blocking"][:limit]


def gate_context(release: Release, *, now=None) -> tuple[gates.GateContext, list[Waiver]]:
    """Everything the gates read about ``release``, in a fixed number of queries, and the
    active waivers (gate waivers of this release and finding waivers of its component)."""
    now = now or timezone.now()
    component = release.component
    waivers = active_waivers(component, release, now)
    waived_fingerprints = {w.fingerprint for w in waivers if w.fingerprint}
    scan = release_scan(release)
    roles: dict[str, list[str]] = {}
    for role in ComponentRole.objects.filter(component=component).select_related("user"):
        roles.setdefault(role.role, []).append(role.user.get_username())
    context = gates.GateContext(
        version=release.version,
        commit=release.commit,
        component_license=component.license,
        component_url=component.get_absolute_url(),
        roles_url=component.get_absolute_url() + "#roles",
        submit_url=reverse("reviews:submit") + f"?component={component.slug}",
        review=_review_state(component, release.commit),
        scan=gates.ScanState(
            url=reverse("scans:scan", kwargs={"pk": scan.pk}),
            status=scan.status,
            error=scan.error,
            unread=tuple(path for path, _ in scan.unread[:5]),
            unread_count=len(scan.unread),
        )  # fmt: skip
        if scan
        else None,
        findings=_finding_refs(scan, waived_fingerprints) if scan else (),
        roles={k: tuple(sorted(v)) for k, v in roles.items()},
        now=now,
        has_external=component.external_repository_id is not None,
        sync=_sync_info(component, release, now),
        **_plan_fields(component, release),
    )
    return context, waivers


def _plan_fields(component: Component, release: Release) -> dict:
    """The export plan of the release's commit (no query: read from the local mirror)."""
    try:
        plan = export_plan_for(component, release.commit)
    except vcs.VcsError as exc:
        return {"plan": None, "plan_error": str(exc)[:300]}
    url = reverse("releases:release", kwargs={"pk": release.pk}) + "#public-tree"
    return {"plan": plan, "tree_url": url}


def _sync_info(component: Component, release: Release, now) -> gates.SyncInfo | None:
    state = SyncState.objects.filter(component=component).order_by("-created_at", "-id").first()
    if state is None:
        return None
    limit = now - timedelta(days=settings.GATEHOUSE_BACKPORT_MAX_DAYS)
    overdue = []
    for commit in state.community:
        if commit.get("backport"):
            continue  # back-ported: no longer waiting
        try:
            when = datetime.fromisoformat(commit.get("date", ""))
        except ValueError:
            continue
        if when < limit:
            overdue.append((commit["sha"][:10], commit.get("subject", ""), commit["date"]))
    tag = f"v{release.version}"
    return gates.SyncInfo(
        status=state.status,
        # The state's start, not its last check: a reason that changed with every
        # no-change sync would write a new evaluation into each release's history.
        since=timezone.localtime(state.created_at).strftime("%Y-%m-%d %H:%M"),
        url=component.get_absolute_url() + "#sync",
        error=state.error[:300],
        overdue=tuple(overdue),
        max_days=settings.GATEHOUSE_BACKPORT_MAX_DAYS,
        exported=bool(state.last_exported_rev),
        tag_rev=state.external_tags.get(tag) if tag in state.external_tags else None,
    )


def approved_commit(component: Component) -> str:
    """The commit of the component's approved submission, or empty."""
    return (
        Submission.objects.filter(component=component, state=SubmissionState.APPROVED)
        .order_by("-decided_at", "-id")
        .values_list("commit", flat=True)
        .first()
        or ""
    )


def internal_branch(component: Component) -> str:
    """The branch reviews follow: the latest submission's, else main."""
    branch = (
        Submission.objects.filter(component=component)
        .order_by("-created_at")
        .values_list("branch", flat=True)
        .first()
    )
    return branch or "main"
