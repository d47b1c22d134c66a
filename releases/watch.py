"""Watching the external repository: every sync scans the community commits it has not
seen, with the scan engine's detectors and the policy the component's scans use, and a
secret, an internal reference or a denied license committed outside opens an alert
(``releases.services.alert_open``), which reopens the owning department's review.

Which commits: those the external branch gained since the head the watcher last finished
under (``ExternalWatch.head``), without Gatehouse's own exports (they carry
``TRAILER_REV`` and were scanned before they were pushed). The first time -- a component
that already has history -- it starts from the sync's community list instead: what came
after Gatehouse's last export, or the whole external history while Gatehouse has never
exported (public code nobody reviewed); never the history behind an export. A backlog is
worked through GATEHOUSE_WATCH_MAX_COMMITS commits a sync, newest first, so a fresh leak
is found by the next sync however long the backlog.

What is read: only what each commit changed (added or modified blobs against its first
parent, ``vcs.changed_blobs``), through one ``git cat-file`` process, a blob over the
scanner's limit in overlapping parts as the scanner does, all within the scanner's time
limit. Everything is public there: each path is judged as open scope.

Git work happens in ``external_scan``, outside any transaction, while the sync holds the
workspace lock; ``external_record`` then writes in one transaction the alerts and what was
seen. A commit counts as seen only once its scan finished and its alerts were written: a
sync cut short (a git error, the time limit, a killed worker) scans the rest next time,
and a commit scanned twice opens no second alert (one per fingerprint).
"""

from __future__ import annotations

import logging
import posixpath
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

import vcs
from governance.models import Component
from releases.models import ExternalAlert, ExternalWatch
from releases.sync import TRAILER_REV
from scans import engine
from scans.detectors.base import Kind, Policy, Severity
from scans.services import active_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Leak:
    """An alerting finding and the community commit whose change holds it."""

    commit: vcs.CommitInfo
    finding: engine.ScanFinding


@dataclass
class WatchResult:
    """What one pass of the watcher read: the external head it looked under, the commits
    it had to scan there (newest first), those it scanned now, what it found, and whether
    none is left."""

    head: str
    #: Where the pass started from: the head of the last complete pass, or "" (the first
    #: pass, or the last complete head is gone): then from the community list.
    base: str
    todo: list[str]
    scanned: list[str] = field(default_factory=list)
    leaks: list[Leak] = field(default_factory=list)
    complete: bool = False
    #: Why the pass stopped early, or what it could not read; "" when all went well.
    error: str = ""


def community_commits(log: list[vcs.CommitInfo]) -> list[vcs.CommitInfo]:
    """The external commits, newest first, after Gatehouse's last export (all of them
    before the first), without Gatehouse's own: what ``sync`` lists as community."""
    community = []
    for commit in log:
        if TRAILER_REV in commit.trailers:  # the newest export: what is behind it was seen
            break
        community.append(commit)
    return community


def alerting(finding: engine.ScanFinding) -> bool:
    """What may not be public -- the bar publishing holds an export to (a blocking
    secret, internal reference or denied license): what opens an alert outside."""
    if finding.severity != Severity.BLOCKING:
        return False
    return finding.kind in (Kind.SECRET, Kind.INTERNAL_REF) or (
        finding.kind == Kind.LICENSE and finding.rule == "denied-license"
    )


def _to_scan(
    workspace: Path, head: str, base: str, log: list[vcs.CommitInfo] | None
) -> list[vcs.CommitInfo]:
    if base:
        return [
            c for c in vcs.log(workspace, include=head, exclude=base)
            if TRAILER_REV not in c.trailers
        ]  # fmt: skip
    return community_commits(log or vcs.log(workspace, include=head))


def external_scan(
    *, component: Component, workspace: Path, head: str | None,
    log: list[vcs.CommitInfo] | None = None,
) -> WatchResult | None:  # fmt: skip
    """Scan the external commits under ``head`` (the external branch's head in the
    workspace) that the watcher has not seen; ``log`` is the external branch's history
    when the caller has read it. Git only, no writes: give the result to
    ``external_record``. None when there is nothing to do: no external branch yet, or the
    last pass finished under this very head. Git errors and the time limit end the pass
    early (said in ``error``); they are never raised."""
    if not head:
        return None
    watch = ExternalWatch.objects.filter(component=component).only("head", "scanned").first()
    if watch is not None and watch.head == head:
        return None
    base = watch.head if watch is not None else ""
    result = WatchResult(head=head, base=base, todo=[])
    try:
        if base and not vcs.ref_commit(workspace, base):
            result.base = base = ""  # rewritten history: start again from the export
        commits = _to_scan(workspace, head, base, log)
    except vcs.VcsError as exc:
        result.error = f"The external history could not be read: {exc}"[:2000]
        return result
    seen = set(watch.scanned) if watch is not None else set()
    unseen = [c for c in commits if c.sha not in seen]
    result.todo = [c.sha for c in commits]
    batch = unseen[: settings.GATEHOUSE_WATCH_MAX_COMMITS]
    policy = active_policy().as_policy()
    deadline = time.monotonic() + settings.GATEHOUSE_SCAN_TIME_LIMIT
    unread: list[str] = []
    try:
        with vcs.BlobReader(
            workspace, max_blob_bytes=settings.GATEHOUSE_SCAN_MAX_BLOB_BYTES, deadline=deadline
        ) as reader:
            for commit in batch:
                findings = _scan_change(workspace, reader, commit, policy, deadline, unread)
                result.leaks += [Leak(commit, f) for f in findings if alerting(f)]
                result.scanned.append(commit.sha)
    except vcs.LimitExceeded as exc:
        result.error = (
            f"Stopped at the scan's time limit ({exc}); the rest waits for the next sync."
        )
    except vcs.VcsError as exc:
        result.error = f"Stopped by a git error ({exc}); the rest waits for the next sync."
    result.complete = not result.error and len(batch) == len(unseen)
    if unread:
        result.error = "; ".join(
            filter(None, [result.error, "could not read " + ", ".join(unread[:5])])
        )
    result.error = result.error[:2000]
    return result


def _scan_change(
    workspace: Path, reader: vcs.BlobReader, commit: vcs.CommitInfo, policy: Policy,
    deadline: float, unread: list[str],
) -> list[engine.ScanFinding]:  # fmt: skip
    """The findings in the blobs ``commit`` added or modified, placed as open scope."""
    blobs = vcs.changed_blobs(workspace, commit.sha)
    key = settings.GATEHOUSE_FINGERPRINT_KEY
    limit = settings.GATEHOUSE_SCAN_MAX_BLOB_BYTES
    findings = []
    for blob, (_, data) in zip(blobs, reader.read_many([b.sha for b in blobs]), strict=True):
        name = posixpath.basename(blob.path)
        if data is None:  # over the blob limit: read in overlapping parts, as a scan does
            found = engine.scan_large_blob(
                workspace, blob.sha, name, policy, deadline=deadline,
                chunk_bytes=max(1024, min(limit, 1 << 20)),
            )  # fmt: skip
            if isinstance(found, str):
                unread.append(f"{blob.display_path} at {commit.sha[:10]} ({found})")
                continue
        else:
            found = engine.scan_blob(data, name, policy)
        # The engine's own placing: severities as in the open scope, fixtures marked, a
        # secret's fingerprint sealed with the server key.
        findings += [engine._place(item, blob.display_path, "open", key, policy) for item in found]
    return findings


def external_record(*, component: Component, result: WatchResult) -> list[ExternalAlert]:
    """Write what a pass found, in one transaction: an alert for each leak whose
    fingerprint has none yet on the component (``alert_open``: audited, the department's
    review reopened), the oldest commit's first; then what was seen: when nothing is left
    under the head, the head itself (the next pass starts there) and no list; else the
    commits scanned so far beyond the last complete head (at most the commits to scan).
    Idempotent: a second record of the same result opens nothing. Returns the new
    alerts."""
    from releases.services import alert_open

    opened = []
    with transaction.atomic():
        watch, _ = ExternalWatch.objects.select_for_update().get_or_create(component=component)
        for leak in reversed(result.leaks):  # scanned newest first: where it came in wins
            try:
                alert = alert_open(component=component, commit=leak.commit, finding=leak.finding)
            except ValidationError as exc:  # no department takes its kind: said, not fatal
                result.error = "; ".join(filter(None, [result.error, *exc.messages]))[:2000]
                continue
            if alert is not None:
                opened.append(alert)
        if result.complete:
            watch.head, watch.scanned = result.head, []
        else:
            seen = set(watch.scanned if watch.head == result.base else ()) | set(result.scanned)
            listed = result.todo or watch.scanned  # a history that could not be read: kept
            watch.head, watch.scanned = result.base, [s for s in listed if s in seen]
        watch.error = result.error
        watch.checked_at = timezone.now()
        watch.save(update_fields=["scanned", "head", "error", "checked_at"])
    if result.error:
        log.warning("watch of %s: %s", component.slug, result.error)
    return opened
