"""Writes for scans and findings: request, execute, triage."""

from __future__ import annotations

import json
import logging
import re
import time
from functools import lru_cache, partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

import vcs
from core import leases
from core.audit import audit_record
from core.validators import has_control_characters
from governance.models import Component, Repository
from governance.repositories import git_credentials
from governance.rules import has_stake
from scans import engine, rules
from scans.enums import ScanStatus, TriageState
from scans.models import BaselineEntry, BlobResult, Finding, ScanPolicy, ScanRun
from scans.selectors import previous_finished_scan
from scans.signals import finding_triaged, scan_finished
from vcs import plan

log = logging.getLogger(__name__)


def active_policy() -> ScanPolicy:
    policy, _ = ScanPolicy.objects.get_or_create(pk=1)
    return policy


def policy_update(*, actor, fields: dict[str, list[str]]) -> ScanPolicy:
    """Replace the policy's lists (already validated). Cached blob results made under the
    old policy stop matching, because the policy version is part of the cache key."""
    with transaction.atomic():
        policy = ScanPolicy.objects.select_for_update().get(pk=active_policy().pk)
        before = {name: getattr(policy, name) for name in fields}
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.save()
        audit_record(actor=actor, action="policy.updated", obj=policy, before=before, after=fields)
    return policy


class DatabaseCache:
    """engine.ResultCache over BlobResult rows, read and written by raw SQL: a scan of a
    large repository reads or writes a row per file, and the ORM's per-row work (and
    Django's rewriting of thousands of placeholders) was most of a rescan."""

    CHUNK = 900  # bound parameters per statement, well inside every backend's limit

    def get_many(self, keys):
        keys = list(keys)
        found: dict[str, list[dict]] = {}
        quote = connection.ops.quote_name
        table = quote(BlobResult._meta.db_table)
        key, findings = quote("key"), quote("findings")
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # One statement, the keys bound as one array.
                cursor.execute(
                    f"SELECT {key}, {findings}::text FROM {table} WHERE {key} = ANY(%s)",  # noqa: S608
                    [keys],
                )
                rows = cursor.fetchall()
            else:
                # SQLite: on the driver's own connection, with its own placeholders; the
                # wrapper's rewriting (and, under DEBUG, logging) of 900 placeholders per
                # statement cost twice the look-ups themselves. Read-only.
                raw = connection.connection
                rows = []
                for i in range(0, len(keys), self.CHUNK):
                    chunk = keys[i : i + self.CHUNK]
                    marks = ", ".join("?" * len(chunk))
                    # Only the model's own table and column names are formatted in.
                    rows += raw.execute(
                        f"SELECT {key}, {findings} FROM {table} WHERE {key} IN ({marks})",  # noqa: S608
                        chunk,
                    ).fetchall()
        for row_key, value in rows:
            # Most files: nothing found, nothing to parse.
            found[row_key] = [] if value == "[]" else json.loads(value)
        return found

    def put_many(self, results):
        """One INSERT ... ON CONFLICT DO NOTHING run over all rows, in one transaction (in
        autocommit each row was a commit of its own)."""
        if not results:
            return
        quote = connection.ops.quote_name
        table = quote(BlobResult._meta.db_table)
        key, findings, created = (quote(f.column) for f in BlobResult._meta.concrete_fields)
        value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
        # Only the model's own table and column names and a fixed cast are formatted in;
        # every value is bound.
        sql = (
            f"INSERT INTO {table} ({key}, {findings}, {created}) VALUES (%s, {value}, %s) "  # noqa: S608
            f"ON CONFLICT ({key}) DO NOTHING"
        )
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        rows = [(k, json.dumps(v) if v else "[]", now) for k, v in results.items()]
        with transaction.atomic(), connection.cursor() as cursor:
            for i in range(0, len(rows), self.CHUNK):
                cursor.executemany(sql, rows[i : i + self.CHUNK])


def scan_request(
    *, repository: Repository, commit: str, component: Component | None = None, actor=None,
    force: bool = False,
) -> ScanRun:  # fmt: skip
    """Queue a scan of ``commit``, unless one of this commit with this engine and policy
    already exists and did not fail (then that one is returned). ``force`` always queues.
    The task is sent after the transaction commits."""
    policy_version = active_policy().as_policy().version
    version = engine.engine_version()
    if not force:
        existing = (
            ScanRun.objects.filter(
                repository=repository, commit=commit, component=component,
                engine_version=version, policy_version=policy_version,
            )
            .exclude(status=ScanStatus.FAILED)
            .order_by("-created_at")
            .first()
        )  # fmt: skip
        if existing is not None:
            return existing
    with transaction.atomic():
        scan = ScanRun.objects.create(
            repository=repository, commit=commit, component=component,
            engine_version=version, policy_version=policy_version, forced=force,
            requested_by=actor if actor is not None and actor.is_authenticated else None,
        )  # fmt: skip
        _send_on_commit(scan.pk)
    return scan


def _send(scan_id: int) -> None:
    """Hand the run to a worker, noting when."""
    from scans.tasks import run_scan

    ScanRun.objects.filter(pk=scan_id).update(sent_at=timezone.now())
    run_scan.delay(scan_id=scan_id)


def _send_on_commit(scan_id: int) -> None:
    """Hand the run to a worker once the transaction commits."""
    transaction.on_commit(partial(_send, scan_id))


def mirror_path(repository: Repository) -> Path:
    """Where the local bare mirror of ``repository`` lives (fetched or not)."""
    return vcs.mirror_dir_for(Path(settings.GATEHOUSE_MIRRORS_DIR), repository.url)


@lru_cache(maxsize=64)
def _tree_of(mirror: str, commit: str) -> tuple[vcs.TreeEntry, ...]:
    # A commit's tree never changes: cached by (mirror, commit), per process.
    return tuple(vcs.list_tree(Path(mirror), commit))


def internal_mirror(component: Component, *, fetch: bool = False) -> Path:
    """The local bare mirror of the component's internal repository, as last fetched (by a
    scan). With ``fetch``, fetched now first (within the web time-out: for a request that
    must see the newest commits). Raises vcs.VcsError when there is none, or the fetch
    fails."""
    repository = component.internal_repository
    if repository is None:
        raise vcs.VcsError("The component has no internal repository.")
    mirror = mirror_path(repository)
    if fetch:
        return vcs.mirror_update(
            repository.url, mirror, allow=settings.GATEHOUSE_GIT_ALLOW,
            timeout=settings.GATEHOUSE_GIT_WEB_TIMEOUT,
            max_size_bytes=settings.GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES,
            credentials=git_credentials(),
        )  # fmt: skip
    if not mirror.exists():
        raise vcs.VcsError("The internal repository has not been fetched yet: scan it first.")
    return mirror


def commit_tree_entries(component: Component, commit: str) -> tuple[vcs.TreeEntry, ...]:
    """The files of ``commit`` in the component's internal repository, read from its local
    mirror (no fetch: a commit under review was fetched when it was scanned or submitted).
    Raises vcs.RefNotFound when the mirror lacks it, vcs.VcsError when there is no mirror."""
    return _tree_of(str(internal_mirror(component)), commit)


def export_plan_for(component: Component, commit: str) -> plan.ExportPlan:
    """The export plan of ``commit`` under the component's current open scope and prefix
    mapping: the one answer to "what goes public", read by publishing, the gates and the
    review pages. Raises like commit_tree_entries."""
    return component.export_plan(commit_tree_entries(component, commit))


def scan_execute(*, scan_id: int, owner: str | None = None) -> ScanRun | None:
    """Run a queued scan: fetch the mirror, scan the commit, store the findings.

    Claims the run with a lease (core.leases): a queued run, or a running one whose lease
    expired (its worker died), or one whose lease is ``owner``'s (a retry of the same
    task); a heartbeat renews the lease while the scan works. Anything else (a live lease,
    a finished run) is a duplicate delivery and does nothing. Git and the engine run
    outside any transaction; the findings, the carried-forward triage and the final
    status are written in one, only if this attempt still holds the lease, so one set of
    findings is written however often the run was taken over. The blob cache is written as
    results are produced (every couple of seconds), so an attempt cut short by its time
    limit or killed outright keeps what it read and the next attempt continues from
    there. A limit hit ends the run "incomplete", a git error "failed". Sends
    ``scan_finished`` after commit.
    """
    owner = owner or leases.new_owner()
    if not leases.claim(
        ScanRun, scan_id, owner=owner, waiting=ScanStatus.QUEUED, running=ScanStatus.RUNNING
    ):
        return None
    ScanRun.objects.filter(pk=scan_id, started_at__isnull=True).update(started_at=timezone.now())
    with leases.Heartbeat(ScanRun, scan_id, owner):
        return _scan_with_lease(scan_id, owner)


def _scan_with_lease(scan_id: int, owner: str) -> ScanRun | None:
    scan = ScanRun.objects.select_related("repository", "component").get(pk=scan_id)
    component = scan.component
    boundary = engine.Boundary(
        open_paths=component.open_paths if component else (),
        internal_paths=component.internal_paths if component else (),
        license=component.license if component else "",
    )
    limits = engine.Limits(
        max_blob_bytes=settings.GATEHOUSE_SCAN_MAX_BLOB_BYTES,
        max_repository_bytes=settings.GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES,
        time_limit=settings.GATEHOUSE_SCAN_TIME_LIMIT,
    )
    last_report = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last_report[0] >= 0.5 or done == total:
            last_report[0] = now
            ScanRun.objects.filter(pk=scan_id).update(files_done=done, files_total=total)

    status, error, result = ScanStatus.DONE, "", None
    try:
        if component is not None and scan.repository_id not in (
            component.internal_repository_id, component.external_repository_id,
        ):  # fmt: skip
            # Unbound or reassigned since the scan was queued: not this component's to read.
            raise vcs.VcsError("The repository is no longer registered to this component.")
        mirror = vcs.mirror_update(
            scan.repository.url, mirror_path(scan.repository),
            allow=settings.GATEHOUSE_GIT_ALLOW, timeout=settings.GATEHOUSE_SCAN_TIME_LIMIT,
            max_size_bytes=limits.max_repository_bytes, credentials=git_credentials(),
        )  # fmt: skip
        result = engine.scan_commit(
            mirror=mirror, commit=scan.commit, policy=active_policy().as_policy(),
            boundary=boundary, cache=DatabaseCache(), limits=limits, progress=progress,
            fingerprint_key=settings.GATEHOUSE_FINGERPRINT_KEY,
            flush_seconds=settings.GATEHOUSE_SCAN_CACHE_FLUSH_SECONDS,
        )  # fmt: skip
        if result.incomplete:
            status, error = ScanStatus.INCOMPLETE, result.incomplete
    except vcs.LimitExceeded as exc:
        status, error = ScanStatus.INCOMPLETE, str(exc)
    except vcs.VcsError as exc:
        status, error = ScanStatus.FAILED, str(exc)
    with transaction.atomic():
        scan = ScanRun.objects.select_for_update().get(pk=scan_id)
        if scan.status != ScanStatus.RUNNING or scan.lease_owner != owner:
            # Taken over after this attempt's lease lapsed: the attempt that holds it writes.
            log.warning("scan #%s: lease lost to %s; results dropped", scan_id, scan.lease_owner)
            return None
        if result is not None:
            _store_findings(scan=scan, result=result)
            scan.files_total = result.files
            scan.files_done = result.files if not result.incomplete else scan.files_done
            scan.files_cached = result.cached
            scan.files_skipped = result.skipped
            scan.bytes_scanned = result.bytes
            scan.seconds = result.seconds
            scan.unread = [list(item) for item in result.unread[:500]]
        scan.status = status
        scan.error = error
        scan.finished_at = timezone.now()
        scan.lease_owner, scan.lease_expires_at = "", None
        scan.save()
        transaction.on_commit(partial(scan_finished.send, sender=ScanRun, scan_id=scan.pk))
    log.info("scan #%s of %s: %s", scan.pk, scan.commit[:10], status)
    return scan


def scans_requeue_stalled() -> dict[str, int]:
    """Scans whose worker died are queued again and sent, or failed with the reason after
    GATEHOUSE_JOB_MAX_ATTEMPTS attempts; scans whose broker message was lost are sent
    again (``core.leases.requeue_stalled``)."""

    def failure(attempts: int) -> dict:
        return {"error": (
            f"The scan's worker stopped {attempts} times before it finished (its lease "
            "expired each time); not tried again. Scan again to retry."
        )}  # fmt: skip

    return leases.requeue_stalled(
        ScanRun, waiting=ScanStatus.QUEUED, running=ScanStatus.RUNNING,
        failed=ScanStatus.FAILED, failure=failure, send=_send,
        on_failed=lambda pk: scan_finished.send(sender=ScanRun, scan_id=pk),
    )  # fmt: skip


def _store_findings(*, scan: ScanRun, result: engine.ScanResult) -> None:
    """Insert the findings; carry triage forward from the previous scan by fingerprint;
    findings of the previous scan that are gone become fixed (a complete scan only)."""
    before = previous_finished_scan(scan)
    carried: dict[str, Finding] = {}
    if before is not None:
        for old in before.findings.exclude(state=TriageState.OPEN).exclude(state=TriageState.FIXED):
            carried[old.fingerprint] = old
    baseline = (
        {b.fingerprint: b for b in BaselineEntry.objects.filter(component=scan.component_id)}
        if scan.component_id
        else {}
    )
    rows = []
    seen = set()
    for found in result.findings:
        fingerprint = found.fingerprint
        if fingerprint in seen:
            continue  # the same thing twice in one file (e.g. a key repeated)
        seen.add(fingerprint)
        old = carried.get(fingerprint)
        accepted = baseline.get(fingerprint) if old is None else None
        row = Finding(
            scan=scan, kind=found.kind, rule=found.rule[:64], severity=found.severity,
            path=found.path[:1000], line=found.line, message=found.message[:500],
            excerpt=found.excerpt[:300], license=(found.license or "")[:200],
            data=found.data, fingerprint=fingerprint,
            state=old.state if old else TriageState.OPEN,
            triaged_by_id=old.triaged_by_id if old else None,
            triage_reason=old.triage_reason if old else "",
            triaged_at=old.triaged_at if old else None,
            confirmed_by_id=old.confirmed_by_id if old else None,
            confirmed_at=old.confirmed_at if old else None,
        )  # fmt: skip
        if accepted is not None:
            _accept_from_baseline(row, accepted)
        rows.append(row)
    Finding.objects.bulk_create(rows, batch_size=1000)
    if before is not None and not result.incomplete:
        before.findings.filter(state=TriageState.OPEN).exclude(fingerprint__in=seen).update(
            state=TriageState.FIXED, triage_reason="Gone from a later scan.",
            triaged_at=timezone.now(),
        )  # fmt: skip


def _accept_from_baseline(finding: Finding, entry: BaselineEntry) -> None:
    finding.state = TriageState.ACCEPTED_RISK
    finding.triage_reason = (
        f"In the baseline {entry.source}" + (f": {entry.reason}" if entry.reason else ".")
    )[:2000]
    finding.triaged_by_id = entry.imported_by_id
    finding.triaged_at = entry.imported_at
    # The import is the office's own audited decision: it stands as the second pair of eyes.
    finding.confirmed_by_id = entry.imported_by_id
    finding.confirmed_at = entry.imported_at


_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def baseline_import(*, component: Component, actor, document, source: str) -> int:
    """Accept findings of ``component`` in bulk by fingerprint: ``document`` is a JSON list
    of fingerprints or of ``{"fingerprint", "reason"}`` objects, or ``{"baseline": [...]}``
    as ``export_baseline`` writes it. The open-source office only, and not for a
    component it has a stake in. Entries already there are kept. Open findings of the
    component's scans with those fingerprints are accepted at once (and the gates
    re-evaluated); later scans start them out accepted. One audit event with the count
    and the source. Returns the number of new entries; ValidationError, writing nothing,
    for a malformed document."""
    if not (actor.is_authenticated and actor.is_superuser):
        raise PermissionDenied("Only the open-source office (admins) imports baselines.")
    stake = has_stake(actor, component)
    if stake:
        raise PermissionDenied(f"{stake}; another member of the office imports its baseline.")
    items = document.get("baseline") if isinstance(document, dict) else document
    if not isinstance(items, list) or len(items) > 100_000:
        raise ValidationError("A baseline is a list of fingerprints (at most 100,000).")
    entries: dict[str, str] = {}
    for number, item in enumerate(items, start=1):
        fingerprint, reason = (item, "") if isinstance(item, str) else (
            (item.get("fingerprint"), item.get("reason", "")) if isinstance(item, dict)
            else (None, "")
        )  # fmt: skip
        if not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint):
            raise ValidationError(f"Entry {number} has no fingerprint (64 hex digits).")
        if not isinstance(reason, str) or has_control_characters(reason.replace("\n", " ")):
            raise ValidationError(f"Entry {number} has a reason that is not plain text.")
        entries[fingerprint] = reason.strip()[:500]
    source = (source or "").strip()[:200] or "an imported baseline"
    with transaction.atomic():
        existing = set(
            BaselineEntry.objects.filter(
                component=component, fingerprint__in=list(entries)
            ).values_list("fingerprint", flat=True)
        )
        new = [
            BaselineEntry(
                component=component, fingerprint=f, reason=r, source=source, imported_by=actor
            )  # fmt: skip
            for f, r in entries.items()
            if f not in existing
        ]
        BaselineEntry.objects.bulk_create(new, batch_size=1000)
        now = timezone.now()
        accepted = Finding.objects.filter(
            scan__component=component, state=TriageState.OPEN, fingerprint__in=list(entries)
        ).update(
            state=TriageState.ACCEPTED_RISK, triage_reason=f"In the baseline {source}.",
            triaged_by=actor, triaged_at=now, confirmed_by=actor, confirmed_at=now,
        )  # fmt: skip
        audit_record(
            actor=actor, action="baseline.imported", obj=component,
            after={"source": source, "entries": len(entries), "new": len(new),
                   "findings_accepted": accepted},
            scope=component.audit_scope,
        )  # fmt: skip
        transaction.on_commit(
            partial(finding_triaged.send, sender=Finding, component_id=component.pk)
        )
    return len(new)


def baseline_export(*, component: Component) -> dict:
    """The fingerprints the component's newest finished scan has set aside for good
    (false positive or accepted risk, confirmed where it blocks), as import takes them."""
    scan = (
        ScanRun.objects.filter(component=component, finished_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )
    rows = []
    if scan is not None:
        for finding in scan.findings.filter(
            state__in=[TriageState.FALSE_POSITIVE, TriageState.ACCEPTED_RISK]
        ).order_by("path", "line"):
            if not finding.awaits_confirmation:
                rows.append({"fingerprint": finding.fingerprint,
                             "reason": finding.triage_reason[:500]})  # fmt: skip
    return {"component": component.slug, "baseline": rows}


def finding_triage(*, finding: Finding, actor, state: str, reason: str) -> Finding:
    """Set a finding's triage state with a reason; only the owning department (or the
    open-source office) may, and never someone who owns, registered or submitted the
    component. Setting a *blocking* finding aside (false positive, accepted risk, fixed)
    is a proposal until a second member of the owning department confirms it
    (``finding_confirm``): till then the gates still count it. The state carries over to
    later scans by fingerprint. Audited; gates are re-evaluated after commit."""
    if state not in TriageState.values:
        raise ValidationError({"state": ["Choose open, false_positive, accepted_risk or fixed."]})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why: a reason is required."]})
    denial = rules.triage_denial(actor, finding)
    if denial:
        raise PermissionDenied(denial)
    with transaction.atomic():
        locked = (
            Finding.objects.select_for_update(of=("self",))
            .select_related("scan")
            .get(pk=finding.pk)
        )
        before = {"state": locked.state, "confirmed_by": locked.confirmed_by_id}
        locked.state = state
        locked.triage_reason = reason[:2000]
        locked.triaged_by = actor
        locked.triaged_at = timezone.now()
        locked.confirmed_by = None
        locked.confirmed_at = None
        locked.save(
            update_fields=["state", "triage_reason", "triaged_by", "triaged_at", "confirmed_by",
                           "confirmed_at"]
        )  # fmt: skip
        audit_record(
            actor=actor, action="finding.triaged", obj=locked, before=before,
            after={"state": state, "reason": reason[:500], "fingerprint": locked.fingerprint,
                   "needs_confirmation": locked.awaits_confirmation},
            scope=f"component:{locked.scan.component_id}" if locked.scan.component_id else "",
        )  # fmt: skip
        _announce_triage(locked)
    return locked


def finding_confirm(*, finding: Finding, actor, note: str = "") -> Finding:
    """The second pair of eyes: a member of the owning department other than the one who
    triaged it (and without a stake in the component) confirms a blocking finding's
    triage; from then on the gates count it as settled. Audited; idempotent refusal for
    a finding that awaits no confirmation."""
    with transaction.atomic():
        locked = (
            Finding.objects.select_for_update(of=("self",))
            .select_related("scan__component")
            .get(pk=finding.pk)
        )
        denial = rules.confirm_denial(actor, locked)
        if denial:
            raise PermissionDenied(denial)
        locked.confirmed_by = actor
        locked.confirmed_at = timezone.now()
        locked.save(update_fields=["confirmed_by", "confirmed_at"])
        audit_record(
            actor=actor, action="finding.confirmed", obj=locked,
            after={"state": locked.state, "triaged_by": locked.triaged_by_id,
                   "fingerprint": locked.fingerprint, "note": (note or "").strip()[:500]},
            scope=f"component:{locked.scan.component_id}" if locked.scan.component_id else "",
        )  # fmt: skip
        _announce_triage(locked)
    return locked


def _announce_triage(finding: Finding) -> None:
    if finding.scan.component_id:
        transaction.on_commit(
            partial(finding_triaged.send, sender=Finding, component_id=finding.scan.component_id)
        )
