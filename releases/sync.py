"""The Open Core services: publish a release's open scope, sync internal and external
repositories, back-port community commits. Writes, like services.py; git through vcs only.

Each component has one bare *workspace* under ``GATEHOUSE_SYNC_DIR`` holding both sides:
internal branches and tags under ``refs/internal/``, external ones under ``refs/external/``.
An export commit is built there with git plumbing (nothing is checked out) on top of the
external branch, carries the trailers ``Gatehouse-Internal-Rev`` and ``Gatehouse-Release``,
and is what a sync later reads to know what was exported from where. One lock per
workspace: a sync that finds another running on the component returns at once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

import vcs
from core.audit import audit_record
from governance.enums import Stage
from governance.models import Component
from governance.repositories import git_credentials
from governance.services import component_set_stage
from releases import rules
from releases.enums import ReleaseState, SyncStatus
from releases.jobs import NO_JOB
from releases.models import Backport, Release, SyncState
from releases.selectors import internal_branch
from scans import engine
from scans.detectors.base import Kind, Severity
from scans.services import DatabaseCache, active_policy
from vcs import plan

log = logging.getLogger(__name__)

TRAILER_REV = "Gatehouse-Internal-Rev"
TRAILER_RELEASE = "Gatehouse-Release"
MAX_LISTED = 200  # commits kept per list in a sync record


# --------------------------------------------------------------------------- plain helpers


def workspace_for(component: Component) -> Path:
    """The component's workspace: named by a hash of its id, never by user text."""
    digest = hashlib.sha256(f"component:{component.pk}".encode()).hexdigest()[:24]
    return Path(settings.GATEHOUSE_SYNC_DIR) / f"{digest}.git"


def identity() -> vcs.Identity:
    return vcs.Identity(name=settings.GATEHOUSE_COMMIT_NAME, email=settings.GATEHOUSE_COMMIT_EMAIL)


def export_pairs(component: Component, entries) -> list[tuple[str, str]]:
    """(internal path, external path) of every file the export plan publishes. Two files
    landing on one path is an error, not a silent overwrite."""
    plan = component.export_plan(entries)
    if plan.problems:
        raise ValidationError({"export": list(plan.problems)})
    return plan.pairs()


def _commit_json(commit: vcs.CommitInfo) -> dict:
    return {
        "sha": commit.sha,
        "subject": commit.subject[:200],
        "author": commit.author_name,
        "email": commit.author_email,
        "date": commit.authored_at,
        "files": list(commit.files[:50]),
    }


# --------------------------------------------------------------------------- sync


@dataclass
class _Sides:
    internal_head: str | None
    external_head: str | None
    external_log: list[vcs.CommitInfo]
    external_tags: dict[str, str]  # tag name -> commit


def network_timeout(timeout: float | None) -> float:
    """Seconds git may spend on the network: the caller's (a web request passes
    GATEHOUSE_GIT_WEB_TIMEOUT), else the background limit."""
    return settings.GATEHOUSE_SCAN_TIME_LIMIT if timeout is None else timeout


def _update_workspace(
    component: Component, workspace: Path, *, with_log: bool = True, timeout: float | None = None
) -> _Sides:
    """Fetch both sides and read their heads and external tags; with ``with_log``, the
    external branch's history too (a no-change sync does without it). Only the
    component's own bound repositories are fetched, each with its own credential."""
    vcs.workspace_update(
        workspace,
        internal_url=component.internal_repository.url,
        external_url=component.external_repository.url,
        allow=settings.GATEHOUSE_GIT_ALLOW,
        timeout=network_timeout(timeout),
        credentials=git_credentials(),
    )
    # One for-each-ref for both heads and the external tags (a git process is ~5 ms).
    refs = vcs.list_refs(workspace, "refs/")
    internal_head = refs.get(f"internal/heads/{internal_branch(component)}")
    external_head = refs.get(f"external/heads/{component.external_branch}")
    tags = {
        name.removeprefix("external/tags/"): sha
        for name, sha in refs.items()
        if name.startswith("external/tags/")
    }
    sides = _Sides(internal_head, external_head, [], tags)
    if with_log:
        _read_external_log(workspace, sides)
    return sides


def _read_external_log(workspace: Path, sides: _Sides) -> None:
    if sides.external_head:
        sides.external_log = vcs.log(workspace, include=sides.external_head)


def _unchanged(component: Component, sides: _Sides) -> SyncState | None:
    """The newest sync, when neither side nor the tags nor the published releases nor the
    back-ports nor the component moved since: its findings still hold."""
    previous = (
        SyncState.objects.filter(component=component)
        .exclude(status=SyncStatus.FAILED)
        .order_by("-created_at", "-id")
        .first()
    )
    if (
        previous is None
        or component.updated_at > previous.checked_at  # its open scope may have changed
        or Backport.objects.filter(component=component, created_at__gt=previous.checked_at).exists()
        or (previous.internal_head, previous.external_head)
        != (sides.internal_head or "", sides.external_head or "")
    ):
        return None
    published = {
        f"v{v}"
        for v in Release.objects.filter(
            component=component, state=ReleaseState.PUBLISHED
        ).values_list("version", flat=True)
    }
    known = set(previous.external_tags)
    if set(sides.external_tags) != known or previous.tags_missing_externally != sorted(
        published - known
    ):
        return None
    return previous


def component_sync(
    *, component_id: int, trigger: str = "manual", timeout: float | None = None,
    job=None, wait: bool = False,
) -> SyncState | None:  # fmt: skip
    """Fetch both sides of a component and record where they stand: the last exported
    internal revision, internal commits touching the open scope since then (export
    pending), external commits not made by Gatehouse since then (back-port needed), tag
    alignment, and a status. Returns None when another sync of the component holds its
    lock (that one's result stands; with ``wait``, it waits for the lock instead) or when
    the component has no external repository. Git errors are recorded as a failed sync.
    Scans the external commits not seen yet for leaks (``releases.watch``): each new one
    opens an alert and reopens its department's review. Re-evaluates the component's open
    releases (the versions gate reads the result, the reviews gate the reopened reviews).
    Idempotent. Run as a job (``releases.jobs``), ``job`` reports its steps and records
    the outcome with the sync's own write."""
    from releases import watch  # it reads this module's trailers

    job = job or NO_JOB
    component = Component.objects.select_related("internal_repository", "external_repository").get(
        pk=component_id
    )
    if component.internal_repository is None or component.external_repository is None:
        return None
    workspace = workspace_for(component)
    workspace.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    lock = vcs.workspace_lock(workspace, wait=wait, timeout=network_timeout(timeout))
    with lock as acquired:
        if not acquired:
            return None
        previous = watched = None
        try:
            job.step("Fetching both repositories")
            sides = _update_workspace(component, workspace, with_log=False, timeout=timeout)
            previous = _unchanged(component, sides)
            if previous is None:
                _read_external_log(workspace, sides)
                fields = _sync_fields(component, workspace, sides)
            # The community commits not scanned yet (git only; even when nothing moved, a
            # backlog left by the last pass is worked on). Its own errors end only it.
            job.step("Scanning new external commits")
            watched = watch.external_scan(
                component=component, workspace=workspace, head=sides.external_head,
                log=sides.external_log,
            )  # fmt: skip
        except vcs.VcsError as exc:
            fields = {"status": SyncStatus.FAILED, "error": str(exc)[:2000]}
        if watched is not None:
            # The alerts and the commits seen, in a transaction of their own (a sync that
            # stops before it scans those commits again); before the sync's row, which is
            # then checked after the component moved back to review.
            watch.external_record(component=component, result=watched)
        seconds = time.monotonic() - started
        with transaction.atomic():
            if previous is not None:
                # Nothing moved: the newest row stands, checked again now.
                previous.checked_at, previous.trigger, previous.seconds = (
                    timezone.now(),
                    trigger,
                    seconds,
                )
                previous.save(update_fields=["checked_at", "trigger", "seconds"])
                state = previous
            else:
                state = SyncState.objects.create(
                    component=component, trigger=trigger, seconds=seconds, **fields
                )
            job.finish(sync_state=state)
    # Even when nothing moved: community commits age past the policy with time alone.
    from releases.services import component_releases_evaluate

    component_releases_evaluate(component_id=component.pk, trigger="sync")
    return state


def _sync_fields(component: Component, workspace: Path, sides: _Sides) -> dict:
    exported = next((c for c in sides.external_log if TRAILER_REV in c.trailers), None)
    last_rev = exported.trailers[TRAILER_REV] if exported else ""
    # Community: what the external branch gained after Gatehouse's last export (all of
    # it, if Gatehouse never exported), minus Gatehouse's own commits.
    community = []
    for commit in sides.external_log:
        if exported is not None and commit.sha == exported.sha:
            break
        if TRAILER_REV not in commit.trailers:
            community.append(commit)
    # A community commit back-ported into an internal branch is the internal team's to
    # merge and export: listed with its branch, no longer waiting.
    backported = {
        sha: branch
        for commits, branch in Backport.objects.filter(
            component=component, state=Backport.State.CREATED
        ).values_list("source_commits", "branch")
        for sha in commits
    }
    waiting = [c for c in community if c.sha not in backported]
    pending = []
    if sides.internal_head:
        scope = component.export_scope
        since = last_rev if last_rev and vcs.ref_commit(workspace, last_rev) else None
        for commit in vcs.log(workspace, include=sides.internal_head, exclude=since):
            if any(scope.fate(path)[0] == plan.PUBLISHED for path in commit.files):
                pending.append(commit)
    external_tags = {}
    for name, sha in sides.external_tags.items():
        commits = vcs.log(workspace, include=sha, max_count=1)
        external_tags[name] = commits[0].trailers.get(TRAILER_REV, "") if commits else ""
    published = set(
        Release.objects.filter(component=component, state=ReleaseState.PUBLISHED).values_list(
            "version", flat=True
        )
    )
    internal_tags = {f"v{v}" for v in published}
    if pending and waiting:
        status = SyncStatus.DIVERGED
    elif pending:
        status = SyncStatus.EXPORT_PENDING
    elif waiting:
        status = SyncStatus.BACKPORT_NEEDED
    else:
        status = SyncStatus.IN_SYNC
    return {
        "status": status,
        "internal_head": sides.internal_head or "",
        "external_head": sides.external_head or "",
        "last_exported_rev": last_rev,
        "pending": [_commit_json(c) for c in pending[:MAX_LISTED]],
        "community": [
            {**_commit_json(c), "backport": backported.get(c.sha, "")}
            for c in community[:MAX_LISTED]
        ],
        "tags_missing_externally": sorted(internal_tags - set(external_tags)),
        "tags_unknown_internally": sorted(set(external_tags) - internal_tags),
        "external_tags": external_tags,
    }


def components_to_sync() -> list[int]:
    return list(
        Component.objects.filter(
            internal_repository__isnull=False, external_repository__isnull=False
        ).values_list("pk", flat=True)
    )


# --------------------------------------------------------------------------- publish


class PublishAborted(ValidationError):
    """The exported tree failed its own check: nothing was pushed."""


def _release_date(release: Release) -> str:
    # Fixed per release, so a retried publish builds the very same commit and tag.
    return release.created_at.replace(microsecond=0).isoformat()


def release_publish(*, release: Release, actor, timeout: float | None = None, job=None) -> Release:
    """Publish a ready release: build the open scope of its commit as a commit on top of the
    external branch (trailers ``Gatehouse-Internal-Rev`` and ``Gatehouse-Release``), tag
    it ``v<version>`` (annotated), scan the exported tree, and push both at once.

    Aborts with the reasons, pushing nothing, when the exported tree holds a secret, an
    internal reference or a denied license, or a file under ``internal_paths``. Idempotent:
    a release already exported (its trailer on the external branch) is not built again,
    and a push that failed midway is retried with the identical commit and tag. Marks the
    release published, the component released, and audits who, what and where. Run as a
    job (``releases.jobs``), ``job`` reports its steps and records the outcome in the same
    transaction as the release."""
    job = job or NO_JOB
    component = Component.objects.select_related("internal_repository", "external_repository").get(
        pk=release.component_id
    )
    if not rules.can_create_release(actor, component):
        raise PermissionDenied("Only the component's owners and admins publish its releases.")
    if release.state == ReleaseState.PUBLISHED:
        with transaction.atomic():
            job.finish(release=release)
        return release
    if component.external_repository is None:
        raise ValidationError({"external_repository": ["Set the external repository first."]})
    from releases.services import release_evaluate

    job.step("Evaluating the gates")
    release = release_evaluate(release_id=release.pk, trigger="publish", actor=actor)
    if release.state != ReleaseState.READY:
        blocked = ", ".join(g["title"] for g in release.blocking_gates)
        raise ValidationError(
            {"state": [f"Only a ready release is published; blocked: {blocked}."]}
        )
    workspace = workspace_for(component)
    workspace.parent.mkdir(parents=True, exist_ok=True)
    tag = f"v{release.version}"
    with vcs.workspace_lock(workspace, wait=True, timeout=network_timeout(timeout)):
        job.step("Fetching both repositories")
        sides = _update_workspace(component, workspace, timeout=timeout)
        existing = next(
            (c for c in sides.external_log
             if c.trailers.get(TRAILER_RELEASE) == str(release.pk)), None,
        )  # fmt: skip
        if existing is not None:
            commit = existing.sha
        else:
            job.step("Building and scanning the exported tree")
            commit = _build_export(component, release, workspace, sides.external_head)
        tag_object = vcs.create_tag(
            workspace, name=tag, commit=commit, message=f"Release {tag}\n",
            tagger=identity(), date=_release_date(release),
        )  # fmt: skip
        refspecs = [(tag_object, f"refs/tags/{tag}")]
        if existing is None:
            refspecs.insert(0, (commit, f"refs/heads/{component.external_branch}"))
        if sides.external_tags.get(tag) != commit:
            job.step("Pushing to the external repository")
            vcs.push(
                workspace, url=component.external_repository.url,
                allow=settings.GATEHOUSE_GIT_ALLOW, refspecs=refspecs,
                timeout=network_timeout(timeout), credentials=git_credentials(),
            )  # fmt: skip
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        job.finish(release=locked)
        if locked.state == ReleaseState.PUBLISHED:
            return locked
        locked.state = ReleaseState.PUBLISHED
        locked.published_at = timezone.now()
        locked.external_commit = commit
        locked.external_tag = tag
        locked.save(update_fields=["state", "published_at", "external_commit", "external_tag",
                                   "updated_at"])  # fmt: skip
        _queue_evidence(locked, actor)
        audit_record(
            actor=actor, action="release.published", obj=locked,
            after={"repository": component.external_repository.url,
                   "branch": component.external_branch, "commit": commit, "tag": tag,
                   "internal_commit": release.commit},
            scope=component.audit_scope,
        )  # fmt: skip
        if component.stage == Stage.APPROVED:
            component_set_stage(component=component, stage=Stage.RELEASED, actor=actor)
    return locked


def _queue_evidence(release: Release, actor) -> None:
    """The final evidence bundle, built by a job of its own once the publish commits (a
    failure to build it never undoes a publish; a beat pass mends a lost one)."""
    from releases.jobs import evidence_request

    def queue() -> None:
        try:
            evidence_request(release=release, actor=actor, preview=False)
        except ValidationError as exc:  # built meanwhile (the demo seed builds it at once)
            log.info("release #%s: no evidence job: %s", release.pk, "; ".join(exc.messages))

    transaction.on_commit(queue)


def _build_export(component: Component, release: Release, workspace: Path, parent) -> str:
    """The export commit, checked before anything leaves: raises PublishAborted."""
    if not vcs.ref_commit(workspace, release.commit):
        raise ValidationError(
            {"commit": [f"Commit {release.commit[:10]} is not in the internal repository."]}
        )
    # The one export plan: the gates judged this very plan (vcs.plan).
    pairs = export_pairs(component, vcs.list_tree(workspace, release.commit))
    if not pairs:
        raise PublishAborted(["The open scope of this commit is empty: nothing to publish."])
    from releases.evidence.build import export_extra_files

    tree = vcs.build_export_tree(
        workspace, commit=release.commit, paths=pairs,
        extra=export_extra_files(component, release, pairs),
    )  # fmt: skip
    message = (
        f"Release v{release.version}\n\n{(release.notes or '').strip()}\n\n".lstrip("\n")
        + f"{TRAILER_REV}: {release.commit}\n{TRAILER_RELEASE}: {release.pk}\n"
    )
    commit = vcs.commit_tree(
        workspace, tree=tree, parents=[parent] if parent else [], message=message,
        author=identity(), date=_release_date(release),
    )  # fmt: skip
    problems = _export_problems(component, workspace, commit, pairs)
    if problems:
        raise PublishAborted(problems)
    return commit


def _export_problems(component, workspace: Path, commit: str, pairs) -> list[str]:
    """What forbids publishing the exported tree: blocking secrets, internal references
    and denied licenses found by scanning the exported tree itself as public (the plan
    already kept internal_paths in, before and after the mapping)."""
    problems = []
    result = engine.scan_commit(
        mirror=workspace, commit=commit, policy=active_policy().as_policy(),
        boundary=engine.Boundary((), (), component.license), cache=DatabaseCache(),
        fingerprint_key=settings.GATEHOUSE_FINGERPRINT_KEY,
    )  # fmt: skip
    if result.incomplete:
        problems.append(f"the exported tree could not be scanned completely: {result.incomplete}")
    for finding in result.findings:
        forbidden = finding.kind in (Kind.SECRET, Kind.INTERNAL_REF) or (
            finding.kind == Kind.LICENSE and finding.rule == "denied-license"
        )
        if forbidden and finding.severity == Severity.BLOCKING:
            where = f"{finding.path}:{finding.line}" if finding.line else finding.path
            problems.append(f"{where}: {finding.message}")
    return problems


# --------------------------------------------------------------------------- back-port


def _backport_map(component: Component, workspace: Path, last_rev: str):
    """External path → internal path: exact for every file of the last export, else the
    prefix mapping reversed; None where there is no internal counterpart."""
    exact = {}
    if last_rev and vcs.ref_commit(workspace, last_rev):
        for source, target in export_pairs(component, vcs.list_tree(workspace, last_rev)):
            exact[target] = source
    source, target = component.export_from_prefix, component.export_to_prefix

    def to_internal(path: str) -> str | None:
        if path in exact:
            return exact[path]
        if source and path.startswith(target):
            return source + path[len(target) :]
        return path if not source else None

    return to_internal


def check_sha(value: str, field: str) -> str:
    value = (value or "").strip().lower()
    if not (len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)):
        raise ValidationError({field: ["Give the full commit id of the community commit."]})
    return value


def _backport_sources(sides: _Sides, commit: str, first: str) -> list[vcs.CommitInfo]:
    """The community commits to bring back, oldest first: ``commit`` alone, or with
    ``first`` every community commit from ``first`` up to ``commit``, both included."""
    log = sides.external_log  # newest first
    position = next((i for i, c in enumerate(log) if c.sha == commit), None)
    if position is None:
        raise ValidationError({"commit": ["Not a commit of the external branch."]})
    first = first or commit
    picked = []
    for candidate in log[position:]:
        if TRAILER_REV not in candidate.trailers:  # Gatehouse's exports are not brought back
            picked.append(candidate)
        if candidate.sha == first:
            break
    else:
        raise ValidationError({"first": ["Not an earlier commit of the external branch."]})
    if not picked:
        raise ValidationError(
            {"commit": ["That is Gatehouse's own export, not a community commit."]}
        )
    return picked[::-1]


def backport_create(
    *, component: Component, actor, commit: str, first: str = "", timeout: float | None = None,
    job=None,
) -> Backport:  # fmt: skip
    """Bring a community commit of the external branch -- or, with ``first``, every
    community commit from ``first`` up to ``commit`` -- back as a branch
    ``gatehouse/backport/<short-sha of commit>`` of the component's own bound internal
    repository (never any other): applied one after the other on the internal branch
    head, paths mapped back, the community author kept as author and Gatehouse as the
    committer. A conflict is recorded and reported file by file (and which commit);
    nothing is half-applied and nothing is pushed. Owners, PMC members and admins.
    Audited. Run as a job (``releases.jobs``), the commit is kept in the job before it is
    pushed, and a later attempt of the job pushes that same commit (pushing it again is
    a no-op), so a killed job makes one branch; the outcome is recorded in the same
    transaction as the back-port."""
    job = job or NO_JOB
    if not rules.can_sync(actor, component):
        raise PermissionDenied("Only the component's owners, PMC members and admins back-port.")
    commit = check_sha(commit, "commit")
    first = check_sha(first, "first") if first else ""
    if component.internal_repository is None or component.external_repository is None:
        raise ValidationError({"commit": ["The component has no external repository."]})
    workspace = workspace_for(component)
    workspace.parent.mkdir(parents=True, exist_ok=True)
    with vcs.workspace_lock(workspace, wait=True, timeout=network_timeout(timeout)):
        job.step("Fetching both repositories")
        sides = _update_workspace(component, workspace, timeout=timeout)
        sources = _backport_sources(sides, commit, first)
        if not sides.internal_head:
            raise ValidationError({"commit": ["The internal branch does not exist."]})
        exported = next((c for c in sides.external_log if TRAILER_REV in c.trailers), None)
        path_map = _backport_map(
            component, workspace, exported.trailers[TRAILER_REV] if exported else ""
        )
        branch = f"gatehouse/backport/{commit[:12]}"
        onto, conflicts = sides.internal_head, []
        settled = job.result.get("backport") or {}
        if settled.get("branch") == branch and vcs.ref_commit(workspace, settled["commit"]):
            sources, onto = [], settled["commit"]  # an earlier attempt's: pushed as it was
            job.step("Pushing the branch an earlier attempt made")
        else:
            job.step("Applying the community commits")
        for source in sources:
            result = vcs.apply_commit_onto(
                workspace, source=source.sha, onto=onto, path_map=path_map,
                message=f"{source.subject}\n\nBack-ported from the external repository, "
                        f"commit {source.sha}, by Gatehouse for {actor.get_username()}.\n",
                author=vcs.Identity(name=source.author_name, email=source.author_email),
                committer=identity(), date=source.authored_at,
            )  # fmt: skip
            if result.commit is None:
                prefix = f"{source.sha[:10]} " if len(sources) > 1 else ""
                conflicts = [f"{prefix}{c}" for c in result.conflicts]
                break
            onto = result.commit
        if not conflicts:
            picked = [c.sha for c in sources] or settled["sources"]
            job.remember(backport={"branch": branch, "commit": onto, "sources": picked})
            job.step("Pushing the branch to the internal repository")
            vcs.push(
                workspace, url=component.internal_repository.url,
                allow=settings.GATEHOUSE_GIT_ALLOW, refspecs=[(onto, f"refs/heads/{branch}")],
                timeout=network_timeout(timeout), credentials=git_credentials(),
            )  # fmt: skip
    with transaction.atomic():
        backport = Backport.objects.create(
            component=component, source_commit=commit, created_by=actor,
            source_commits=[c.sha for c in sources] or settled.get("sources", []),
            state=Backport.State.CONFLICT if conflicts else Backport.State.CREATED,
            branch="" if conflicts else branch, commit="" if conflicts else onto,
            conflicts=conflicts,
        )  # fmt: skip
        audit_record(
            actor=actor, action=f"backport.{backport.state}", obj=backport,
            after={"source": commit, "commits": backport.source_commits, "branch": backport.branch,
                   "commit": backport.commit, "conflicts": backport.conflicts[:20]},
            scope=component.audit_scope,
        )  # fmt: skip
        job.finish(backport=backport)
    return backport
