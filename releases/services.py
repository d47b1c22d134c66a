"""Writes for releases and waivers (create, evaluate, cancel, grant, revoke, lapse) and for
the external repository's alerts (open, triage)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import vcs
from core.audit import audit_record
from governance.models import Component, Department
from governance.rules import has_stake
from releases import gates, rules
from releases.enums import OPEN_RELEASE_STATES, RELEASE_TRANSITIONS, GateStatus, ReleaseState
from releases.models import ExternalAlert, GateEvaluation, Release, Waiver
from releases.selectors import approved_commit, gate_context, internal_branch, required_gates
from releases.summaries import chart_summary_changed
from releases.versions import Version
from reviews.services import ticket_reopen
from scans import engine
from scans.enums import KIND_DEPARTMENT, TriageState
from scans.models import Finding, ScanRun
from scans.services import internal_mirror

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
MAX_WAIVER_DAYS = 365


# --------------------------------------------------------------------------- releases


def release_create(
    *, component: Component, actor, version: str, commit: str = "", notes: str = ""
) -> Release:
    """Create a release of ``component`` and evaluate its gates at once.

    The version must be a semantic version, new for the component and greater than its
    last published release; the commit defaults to the component's approved commit.
    Owners and admins may. Audited; the evaluation is stored as the first history entry.
    """
    if not rules.can_create_release(actor, component):
        raise PermissionDenied("Only the component's owners and admins create its releases.")
    version = (version or "").strip().removeprefix("v")
    try:
        parsed = Version(version)
    except ValueError as exc:
        raise ValidationError({"version": [str(exc)]}) from exc
    commit = (commit or "").strip().lower()
    if not commit:
        commit = approved_commit(component)
        if not commit:
            raise ValidationError(
                {"commit": ["The component has no approved commit yet: name the commit to "
                            "release (the gates will say what it still needs)."]}
            )  # fmt: skip
    elif not _FULL_SHA.match(commit):
        raise ValidationError({"commit": ["Give the full 40-character commit id."]})
    problem = commit_problem(component, commit)
    if problem:
        raise ValidationError({"commit": [problem]})
    published = [
        Version(v)
        for v in Release.objects.filter(
            component=component, state=ReleaseState.PUBLISHED
        ).values_list("version", flat=True)
    ]
    if published and parsed <= max(published):
        raise ValidationError(
            {"version": [f"{version} is not greater than the last published {max(published)}."]}
        )
    with transaction.atomic():
        try:
            with transaction.atomic():  # a savepoint: only the insert can hit the constraint
                release = Release.objects.create(
                    component=component, version=version, commit=commit,
                    notes=(notes or "").strip(), created_by=actor,
                )  # fmt: skip
        except IntegrityError as exc:
            raise ValidationError(
                {"version": [f"{component} already has a release {version}."]}
            ) from exc
        audit_record(
            actor=actor, action="release.created", obj=release,
            after={"version": version, "commit": commit}, scope=component.audit_scope,
        )  # fmt: skip
        _evaluate_locked(release=release, trigger="created", actor=actor)
        transaction.on_commit(chart_summary_changed)  # the charts count releases per week
    return release


def commit_problem(component: Component, commit: str) -> str:
    """Why ``commit`` (a full id) cannot be released, or "": it must be a commit of the
    internal repository (as its mirror was last fetched) reachable from the reviewed
    branch -- not a made-up id, nor a commit of another branch or fork."""
    branch = internal_branch(component)
    for fetch in (False, True):  # the mirror as last fetched; fetched now if it lacks it
        try:
            mirror = internal_mirror(component, fetch=fetch)
            head = vcs.resolve_ref(mirror, f"refs/heads/{branch}")
            vcs.resolve_commitish(mirror, commit)
        except vcs.RefNotFound:
            if fetch:
                return (
                    f"Commit {commit[:10]} is not in the internal repository: pick the "
                    f"approved commit, the head of {branch} or a tag on it."
                )
        except vcs.VcsError as exc:
            if fetch:
                return f"The internal repository cannot be read: {exc}"
        else:
            break
    if not vcs.commit_reachable(mirror, commit, head):
        return f"Commit {commit[:10]} is not on the reviewed branch {branch}."
    return ""


def release_commit_choices(component: Component, *, tags: int = 10) -> list[dict]:
    """The commits a release is made of, to pick from: the departments' approved commit,
    the reviewed branch's head and the newest tags on it. Each: commit, label, kind."""
    choices, seen = [], set()

    def add(commit: str, label: str, kind: str) -> None:
        if commit and commit not in seen:
            seen.add(commit)
            choices.append({"commit": commit, "label": label, "kind": kind})

    add(approved_commit(component), "approved by the departments", "approved")
    branch = internal_branch(component)
    try:
        try:  # the newest head: fetched now, within the web time-out
            mirror = internal_mirror(component, fetch=True)
        except vcs.VcsError:
            mirror = internal_mirror(component)  # as last fetched
        head = vcs.resolve_ref(mirror, f"refs/heads/{branch}")
    except vcs.VcsError:
        return choices
    add(head, f"head of {branch}", "head")
    for name, commit in vcs.recent_tags(mirror, limit=tags, merged=head):
        add(commit, f"tag {name}", "tag")
    return choices


def release_evaluate(*, release_id: int, trigger: str, actor=None) -> Release | None:
    """Re-run the release's gates and store the outcome: the release's current gate results
    and state (blocked or ready), and a history entry when anything changed. Published and
    cancelled releases are left alone. Idempotent: evaluating twice with no change in the
    inputs stores one history entry."""
    with transaction.atomic():
        release = (
            Release.objects.select_for_update(of=("self",))
            .select_related("component")
            .filter(pk=release_id)
            .first()
        )
        if release is None or release.state not in OPEN_RELEASE_STATES:
            return release
        _evaluate_locked(release=release, trigger=trigger, actor=actor)
    return release


def _evaluate_locked(*, release: Release, trigger: str, actor) -> None:
    now = timezone.now()
    context, waivers = gate_context(release, now=now)
    gate_waivers = {w.gate: w for w in waivers if w.gate}
    results = []
    for key in required_gates(release.component):
        definition = gates.GATES[key]
        outcome = definition.check(context)
        status, reason = outcome.status, outcome.reason
        waiver = gate_waivers.get(key)
        if status == GateStatus.BLOCKED and waiver is not None:
            status = GateStatus.WAIVED
            reason = (
                f"Waived until {waiver.expires_at:%Y-%m-%d} by {waiver.granted_by or 'an admin'} "
                f"({waiver.reason}). Without the waiver: {reason}"
            )
        results.append(
            {
                "gate": key,
                "title": definition.title,
                "status": status,
                "reason": reason,
                "evidence": [{"label": e.label, "url": e.url} for e in outcome.evidence],
            }
        )
    state = (
        ReleaseState.READY
        if all(r["status"] != GateStatus.BLOCKED for r in results)
        else ReleaseState.BLOCKED
    )
    changed = state != release.state or results != release.gates
    before = release.state
    release.gates = results
    release.state = state
    release.evaluated_at = now
    release.save(update_fields=["gates", "state", "evaluated_at", "updated_at"])
    if changed:
        GateEvaluation.objects.create(release=release, trigger=trigger, state=state, gates=results)
    if state != before:
        audit_record(
            actor=actor, action=f"release.{state}", obj=release,
            before={"state": before}, after={"state": state, "trigger": trigger,
            "blocked": [r["gate"] for r in results if r["status"] == GateStatus.BLOCKED]},
            scope=release.component.audit_scope,
        )  # fmt: skip


def release_cancel(*, release: Release, actor, reason: str) -> Release:
    """Cancel an unpublished release, with a reason. Owners and admins. Idempotent."""
    if not rules.can_create_release(actor, release.component):
        raise PermissionDenied("Only the component's owners and admins cancel its releases.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the release is cancelled."]})
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        if locked.state == ReleaseState.CANCELLED:
            return locked
        if ReleaseState.CANCELLED not in RELEASE_TRANSITIONS[locked.state]:
            raise ValidationError({"state": [f"A {locked.state} release cannot be cancelled."]})
        before = locked.state
        locked.state = ReleaseState.CANCELLED
        locked.save(update_fields=["state", "updated_at"])
        audit_record(
            actor=actor, action="release.cancelled", obj=locked, before={"state": before},
            after={"state": locked.state, "reason": reason[:500]},
            scope=release.component.audit_scope,
        )  # fmt: skip
    return locked


def component_releases_changed(*, trigger: str, component_id=None, scan_id=None, **_) -> int:
    """An input of the gates changed (a sign-off, a scan, a triage, a role, a waiver):
    re-evaluate the component's open releases now, so the page the person lands on next
    already shows the new verdict. Called after commit; an evaluation is a handful of
    queries per open release. Returns how many releases were evaluated."""
    if component_id is None and scan_id is not None:
        component_id = (
            ScanRun.objects.filter(pk=scan_id).values_list("component_id", flat=True).first()
        )
    if component_id is None:
        return 0
    return component_releases_evaluate(component_id=component_id, trigger=trigger)


def component_releases_evaluate(*, component_id: int, trigger: str) -> int:
    """Evaluate every open release of the component; returns how many."""
    ids = list(
        Release.objects.filter(
            component_id=component_id, state__in=OPEN_RELEASE_STATES
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        release_evaluate(release_id=pk, trigger=trigger)
    return len(ids)


# --------------------------------------------------------------------------- waivers


def waiver_grant(
    *, actor, reason: str, owner, expires_at, release: Release | None = None, gate: str = "",
    finding: Finding | None = None,
) -> Waiver:  # fmt: skip
    """Grant an exception: for one gate of one release, or for one finding of a component
    (by its fingerprint, so it holds across rescans). Only the open-source office (admins)
    may, and not for a component they own, registered or submitted; and the person who
    grants it cannot be its owner (nobody waives for themselves). Needs a reason, an owner
    and an expiry within a year. Audited; the component's open releases are re-evaluated
    after commit."""
    if not rules.can_grant_waiver(actor):
        raise PermissionDenied("Only the open-source office (admins) grants waivers.")
    target = (
        release.component if release is not None else (finding.scan.component if finding else None)
    )
    stake = has_stake(actor, target) if target is not None else None
    if stake:
        raise PermissionDenied(
            f"{stake}; another member of the open-source office grants its waivers."
        )
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = ["Say why the exception is acceptable."]
    if owner is None:
        errors["owner"] = ["Name the person who owns the exception."]
    now = timezone.now()
    if expires_at is None:
        errors["expires_at"] = ["Give an expiry: waivers always expire."]
    elif expires_at <= now:
        errors["expires_at"] = ["The expiry must be in the future."]
    elif expires_at > now + timedelta(days=MAX_WAIVER_DAYS):
        errors["expires_at"] = [f"A waiver lasts at most {MAX_WAIVER_DAYS} days."]
    if owner is not None and not owner.is_active:
        errors["owner"] = ["The owner must be an active user."]
    elif owner is not None and owner.pk == actor.pk:
        errors["owner"] = ["Name someone else as the owner: nobody grants themselves a waiver."]
    if (release is None) == (finding is None):
        errors["__all__"] = ["A waiver is for one gate of a release, or for one finding."]
    elif release is not None:
        required = [g["gate"] for g in release.gates] or required_gates(release.component)
        if release.state not in OPEN_RELEASE_STATES:
            errors["release"] = [f"A {release.state} release takes no more waivers."]
        elif gate not in required:
            errors["gate"] = [f"Choose one of this release's gates: {', '.join(required)}."]
    elif finding.scan.component_id is None:
        errors["finding"] = ["That finding is not from a component's scan."]
    elif finding.state != TriageState.OPEN:
        errors["finding"] = [f"That finding is already triaged ({finding.state})."]
    if errors:
        raise ValidationError(errors)
    component = release.component if release is not None else finding.scan.component
    with transaction.atomic():
        waiver = Waiver.objects.create(
            component=component, release=release, gate=gate if release else "",
            fingerprint=finding.fingerprint if finding else "",
            finding_label=(f"{finding.kind}/{finding.rule} at {finding.path}:{finding.line}"
                           if finding else "")[:300],
            reason=reason, owner=owner, granted_by=actor, expires_at=expires_at,
        )  # fmt: skip
        audit_record(
            actor=actor, action="waiver.granted", obj=waiver,
            after={"gate": waiver.gate, "release": release.pk if release else None,
                   "finding": waiver.finding_label, "owner": owner.get_username(),
                   "expires_at": expires_at.isoformat(), "reason": reason[:500]},
            scope=component.audit_scope,
        )  # fmt: skip
        _reevaluate_on_commit(component.pk, "waiver granted")
    return waiver


def waiver_revoke(*, waiver: Waiver, actor) -> Waiver:
    """Withdraw a waiver before it expires. Admins only; idempotent; audited."""
    if not rules.can_grant_waiver(actor):
        raise PermissionDenied("Only the open-source office (admins) revokes waivers.")
    with transaction.atomic():
        locked = Waiver.objects.select_for_update().get(pk=waiver.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            actor=actor, action="waiver.revoked", obj=locked,
            scope=waiver.component.audit_scope,
        )  # fmt: skip
        _reevaluate_on_commit(locked.component_id, "waiver revoked")
    return locked


def waivers_lapse(*, now=None) -> int:
    """Notice waivers that expired since the last run: mark each (a conditional update, so
    two runs never both claim one), audit it, and re-evaluate its component's releases so
    a gate the waiver covered blocks again by itself. Returns how many lapsed."""
    now = now or timezone.now()
    due = list(
        Waiver.objects.filter(expires_at__lte=now, lapsed_at=None, revoked_at=None).values_list(
            "pk", "component_id"
        )
    )
    components, lapsed = set(), 0
    for pk, component_id in due:
        with transaction.atomic():
            if not Waiver.objects.filter(pk=pk, lapsed_at=None).update(lapsed_at=now):
                continue
            waiver = Waiver.objects.select_related("component").get(pk=pk)
            audit_record(
                actor=None, action="waiver.expired", obj=waiver,
                after={"expired_at": waiver.expires_at.isoformat()},
                scope=waiver.component.audit_scope,
            )  # fmt: skip
        components.add(component_id)
        lapsed += 1
    for component_id in components:
        component_releases_evaluate(component_id=component_id, trigger="waiver expired")
    return lapsed


def _reevaluate_on_commit(component_id: int, trigger: str) -> None:
    transaction.on_commit(
        partial(component_releases_changed, trigger=trigger, component_id=component_id)
    )


# --------------------------------------------------------------------------- external alerts


def _committed_at(commit: vcs.CommitInfo):
    try:
        return datetime.fromisoformat(commit.authored_at)
    except (TypeError, ValueError):
        return None


def alert_open(
    *, component: Component, commit: vcs.CommitInfo, finding: engine.ScanFinding
) -> ExternalAlert | None:
    """Open an alert for a finding in a community commit of the component's external
    repository (``releases.watch``), in one transaction: the alert (the finding's redacted
    excerpt, never a secret's value; the department its kind belongs to: security for a
    secret, compliance for an internal reference, legal for a denied license), its audit
    event ``alert.opened`` (the notifications outbox tells the department's reviewers and
    the component's owners), and the department's review of the component reopened
    (``reviews.services.ticket_reopen``). Idempotent: None, and nothing written, when the
    component already has an alert with this fingerprint (the same leak in another commit,
    or seen again), whatever its state."""
    department = Department.objects.filter(slug=KIND_DEPARTMENT.get(finding.kind, "")).first()
    if department is None:
        raise ValidationError({"kind": [f"No department reviews {finding.kind} findings."]})
    fingerprint = finding.fingerprint
    with transaction.atomic():
        if ExternalAlert.objects.filter(component=component, fingerprint=fingerprint).exists():
            return None
        try:
            with transaction.atomic():  # a savepoint: only the insert can hit the constraint
                alert = ExternalAlert.objects.create(
                    component=component, kind=finding.kind, rule=finding.rule[:64],
                    severity=finding.severity, message=finding.message[:500],
                    excerpt=finding.excerpt[:300], commit=commit.sha, path=finding.path[:1000],
                    line=finding.line, author_name=commit.author_name[:200],
                    author_email=commit.author_email[:200], committed_at=_committed_at(commit),
                    fingerprint=fingerprint, department=department,
                )  # fmt: skip
        except IntegrityError:
            return None  # a sync beside this one opened it first
        audit_record(
            actor=None, action="alert.opened", obj=alert,
            after={"component": component.pk, "department": department.slug,
                   "kind": alert.kind, "commit": alert.commit, "path": alert.path,
                   "line": alert.line, "rule": alert.rule, "fingerprint": fingerprint},
            scope=component.audit_scope,
        )  # fmt: skip
        ticket_reopen(
            component=component, department=department,
            reason=f"external alert #{alert.pk}: {alert}",
        )  # fmt: skip
    return alert


def alert_triage(*, alert: ExternalAlert, actor, state: str, reason: str) -> ExternalAlert:
    """Settle an external alert: confirmed (a real leak, being dealt with), dismissed (not
    one), fixed (rotated or removed), or back to open; with a reason. Only the reviewers of
    the alert's department and the open-source office, never someone with a stake in the
    component (``rules.alert_triage_denial``). Audited ``alert.triaged``. The review the
    alert reopened stays open: the department signs off again in the normal way.
    Idempotent for the same state and reason."""
    if state not in ExternalAlert.State.values:
        raise ValidationError({"state": ["Choose open, confirmed, dismissed or fixed."]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why: a reason is required."]})
    if len(reason) > 2000:
        raise ValidationError({"reason": ["Keep it under 2,000 characters."]})
    denial = rules.alert_triage_denial(actor, alert)
    if denial:
        raise PermissionDenied(denial)
    with transaction.atomic():
        locked = ExternalAlert.objects.select_for_update(of=("self",)).get(pk=alert.pk)
        if locked.state == state and locked.reason == reason:
            return locked
        before = {"state": locked.state}
        locked.state = state
        locked.reason = reason
        locked.triaged_by = actor
        locked.triaged_at = timezone.now()
        locked.save(update_fields=["state", "reason", "triaged_by", "triaged_at"])
        audit_record(
            actor=actor, action="alert.triaged", obj=locked, before=before,
            after={"state": state, "reason": reason[:500], "component": locked.component_id,
                   "department": alert.department.slug},
            scope=alert.component.audit_scope,
        )  # fmt: skip
    return locked
