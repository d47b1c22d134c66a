"""Long git work off the web request: publish, sync and back-port as jobs (``GitJob``).

A request checks what it can without git (who asks, what is asked, that both
repositories are set) and queues a job, or returns the live job already doing the same
work (one live job per key, by a partial unique index). A worker claims the job with a
lease (``core.leases``) renewed by a heartbeat, runs the service, and marks the job
succeeded in the service's own final transaction (``JobHooks.finish``), only if the
attempt still holds the lease. A job whose worker died is requeued by a beat pass and
finished by the next attempt; the services are idempotent on git's side (a publish finds
its own export commit by its trailer and rebuilds the identical tag; a back-port pushes
the commit an earlier attempt settled on), so whatever is killed and redelivered, a
publish makes one commit and tag and a back-port one branch.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

import vcs
from core import leases
from governance.models import Component
from releases import rules
from releases.enums import ReleaseState
from releases.models import GitJob, Release

log = logging.getLogger(__name__)

Status = GitJob.Status


class LeaseLost(Exception):
    """This attempt no longer holds the job's lease: another attempt owns its outcome."""


class JobHooks:
    """What a service running as a job reports through: the step it is at, what it has
    settled on (kept across attempts), and its outcome, written in the service's final
    transaction. Every write is conditional on the attempt's lease."""

    def __init__(self, job: GitJob, owner: str):
        self.job, self.owner = job, owner

    @property
    def result(self) -> dict:
        return self.job.result

    def _mine(self):
        return GitJob.objects.filter(pk=self.job.pk, status=Status.RUNNING, lease_owner=self.owner)

    def step(self, text: str) -> None:
        self._mine().update(step=text[:80])

    def remember(self, **values) -> None:
        """Keep ``values`` in the job's result before acting on them (pushing, say), so a
        later attempt acts on the same ones. Raises LeaseLost when the lease is gone."""
        self.job.result = {**self.job.result, **values}
        if not self._mine().update(result=self.job.result):
            raise LeaseLost

    def finish(self, **links) -> None:
        """Mark the job succeeded, linking what it made (``release``, ``sync_state``,
        ``backport``). Call inside the transaction that writes the outcome: raises
        LeaseLost (rolling it back) when the attempt lost its lease."""
        locked = GitJob.objects.select_for_update().filter(pk=self.job.pk).first()
        if locked is None or locked.status != Status.RUNNING or locked.lease_owner != self.owner:
            raise LeaseLost
        fields = {
            "status": Status.SUCCEEDED, "finished_at": timezone.now(), "step": "",
            "lease_owner": "", "lease_expires_at": None, "result": self.job.result,
        }  # fmt: skip
        for name, obj in links.items():
            fields[f"{name}_id"] = obj.pk if obj is not None else None
        GitJob.objects.filter(pk=self.job.pk).update(**fields)

    def fail(self, errors: list[str]) -> bool:
        return (
            self._mine().update(
                status=Status.FAILED,
                finished_at=timezone.now(),
                step="",
                errors=[str(e)[:2000] for e in errors][:50] or ["The job failed."],
                lease_owner="",
                lease_expires_at=None,
                result=self.job.result,
            )  # fmt: skip
            == 1
        )


class NoJob:
    """The hooks of a service called directly (the demo seed, the shell): no job row."""

    result: dict = {}

    def step(self, text: str) -> None:
        pass

    def remember(self, **values) -> None:
        pass

    def finish(self, **links) -> None:
        pass


NO_JOB = NoJob()


# --------------------------------------------------------------------------- requests


def _request(
    *, kind: str, key: str, component: Component, actor, release: Release | None = None,
    params: dict | None = None,
) -> tuple[GitJob, bool]:  # fmt: skip
    """The live job with this key, or a new one sent to a worker after commit. Returns
    (job, created)."""
    created_by = actor if actor is not None and actor.is_authenticated else None
    for _ in range(3):
        live = GitJob.objects.filter(key=key, status__in=GitJob.LIVE).first()
        if live is not None:
            return live, False
        try:
            with transaction.atomic():
                job = GitJob.objects.create(
                    kind=kind, key=key, component=component, release=release,
                    params=params or {}, created_by=created_by,
                )  # fmt: skip
                transaction.on_commit(partial(_send, job.pk))
            return job, True
        except IntegrityError:  # created meanwhile by another request: that one is ours
            continue
    raise RuntimeError(f"no live git job for {key}, and none could be created")


def _send(job_id: int) -> None:
    from releases.tasks import run_git_job

    GitJob.objects.filter(pk=job_id).update(sent_at=timezone.now())
    run_git_job.delay(job_id=job_id)


def _both_sides(component: Component) -> None:
    if component.internal_repository_id is None:
        raise ValidationError({"internal_repository": ["Submit the component first."]})
    if component.external_repository_id is None:
        raise ValidationError({"external_repository": ["Set the external repository first."]})


def publish_request(*, release: Release, actor) -> tuple[GitJob, bool]:
    """Queue the publishing of a ready release (owners and admins). Refuses at once what
    needs no git to refuse: someone else's component, a release not ready, no external
    repository. The job evaluates the gates again before it builds anything."""
    component = release.component
    if not rules.can_create_release(actor, component):
        raise PermissionDenied("Only the component's owners and admins publish its releases.")
    if component.external_repository_id is None:
        raise ValidationError({"external_repository": ["Set the external repository first."]})
    if release.state not in (ReleaseState.READY, ReleaseState.PUBLISHED):
        blocked = ", ".join(g["title"] for g in release.blocking_gates) or release.state
        raise ValidationError(
            {"state": [f"Only a ready release is published; blocked: {blocked}."]}
        )
    return _request(
        kind=GitJob.Kind.PUBLISH, key=f"publish:{release.pk}", component=component,
        actor=actor, release=release,
    )  # fmt: skip


def sync_request(*, component: Component, actor, trigger: str = "manual") -> tuple[GitJob, bool]:
    """Queue a sync of the component (owners, PMC members and admins; ``actor`` None for
    the schedule). Coalesces with any live sync of the component, scheduled or not."""
    if actor is not None and not rules.can_sync(actor, component):
        raise PermissionDenied("Only the component's owners, PMC members and admins sync it.")
    _both_sides(component)
    return _request(
        kind=GitJob.Kind.SYNC, key=f"sync:{component.pk}", component=component, actor=actor,
        params={"trigger": trigger},
    )  # fmt: skip


def backport_request(
    *, component: Component, actor, commit: str, first: str = ""
) -> tuple[GitJob, bool]:
    """Queue a back-port of a community commit, or of the range ``first``..``commit``
    (owners, PMC members and admins)."""
    from releases.sync import check_sha

    if not rules.can_sync(actor, component):
        raise PermissionDenied("Only the component's owners, PMC members and admins back-port.")
    commit = check_sha(commit, "commit")
    first = check_sha(first, "first") if first else ""
    _both_sides(component)
    return _request(
        kind=GitJob.Kind.BACKPORT, key=f"backport:{component.pk}:{first}..{commit}",
        component=component, actor=actor, params={"commit": commit, "first": first},
    )  # fmt: skip


def evidence_request(*, release: Release, actor, preview: bool) -> tuple[GitJob, bool]:
    """Queue the building of a release's evidence bundle: the final one of a published
    release (queued by publishing itself, ``actor`` the publisher), or a preview of a
    ready one (owners and admins). Refuses at once what needs no git to refuse."""
    from releases.evidence.build import evidence_check
    from releases.models import EvidenceBundle

    if actor is not None and not rules.can_create_release(actor, release.component):
        raise PermissionDenied("Only the component's owners and admins build evidence.")
    evidence_check(release, actor, preview=preview)
    if not preview and EvidenceBundle.objects.filter(release=release, preview=False).exists():
        raise ValidationError({"state": ["The release's evidence bundle is built already."]})
    kind = "preview" if preview else "final"
    return _request(
        kind=GitJob.Kind.EVIDENCE, key=f"evidence:{release.pk}:{kind}",
        component=release.component, actor=actor, release=release,
        params={"preview": preview},
    )  # fmt: skip


# --------------------------------------------------------------------------- running


def git_job_execute(*, job_id: int, owner: str | None = None) -> GitJob | None:
    """Run a queued job: claim it (a queued job, a running one whose lease expired, or
    one whose lease is ``owner``'s, a retry of the same task), run its service under a
    heartbeat, and record the outcome. Anything else (a live lease elsewhere, a finished
    job) is a duplicate delivery and does nothing. A refusal or a git error fails the
    job with the reasons; a lost database connection propagates, for the task to retry."""
    owner = owner or leases.new_owner()
    if not leases.claim(GitJob, job_id, owner=owner, waiting=Status.QUEUED, running=Status.RUNNING):
        return None
    GitJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=timezone.now())
    job = GitJob.objects.select_related("component", "release", "created_by").get(pk=job_id)
    hooks = JobHooks(job, owner)
    with leases.Heartbeat(GitJob, job_id, owner):
        try:
            _RUNNERS[job.kind](job, hooks)
        except LeaseLost:
            log.warning("git job #%s: lease lost; the attempt that holds it finishes", job_id)
            return None
        except ValidationError as exc:
            hooks.fail(exc.messages)
        except PermissionDenied as exc:
            hooks.fail([str(exc) or "Not allowed."])
        except vcs.VcsError as exc:
            hooks.fail([str(exc)])
        except SoftTimeLimitExceeded:
            hooks.fail([f"The job took longer than {settings.GATEHOUSE_SCAN_TIME_LIMIT:.0f} s."])
    job.refresh_from_db()
    log.info("git job #%s (%s): %s", job.pk, job.key, job.status)
    return job


def _publish(job: GitJob, hooks: JobHooks) -> None:
    from releases.sync import release_publish

    release_publish(release=job.release, actor=job.created_by, job=hooks)


def _sync(job: GitJob, hooks: JobHooks) -> None:
    from releases.sync import component_sync

    state = component_sync(
        component_id=job.component_id, trigger=job.params.get("trigger", "manual"),
        job=hooks, wait=True,
    )  # fmt: skip
    if state is None:
        raise ValidationError("The component no longer has both repositories set.")


def _backport(job: GitJob, hooks: JobHooks) -> None:
    from releases.sync import backport_create

    backport_create(
        component=job.component, actor=job.created_by, commit=job.params["commit"],
        first=job.params.get("first", ""), job=hooks,
    )  # fmt: skip


def _evidence(job: GitJob, hooks: JobHooks) -> None:
    from releases.evidence.build import evidence_build

    evidence_build(
        release=job.release, actor=job.created_by, preview=job.params.get("preview", False),
        job=hooks,
    )  # fmt: skip


_RUNNERS = {
    GitJob.Kind.PUBLISH: _publish,
    GitJob.Kind.SYNC: _sync,
    GitJob.Kind.BACKPORT: _backport,
    GitJob.Kind.EVIDENCE: _evidence,
}


def git_jobs_requeue_stalled() -> dict[str, int]:
    """Beat, every minute: jobs whose worker died are queued again, or failed with the
    reason after GATEHOUSE_JOB_MAX_ATTEMPTS; lost messages are sent again. Finished
    scheduled syncs older than GATEHOUSE_GIT_JOB_KEEP_SECONDS are deleted (the sync
    history itself is in SyncState); jobs someone asked for are kept."""

    def failure(attempts: int) -> dict:
        return {"errors": [
            f"The job's worker stopped {attempts} times before it finished (its lease "
            "expired each time); not tried again. Ask again to retry."
        ], "step": ""}  # fmt: skip

    counts = leases.requeue_stalled(
        GitJob, waiting=Status.QUEUED, running=Status.RUNNING, failed=Status.FAILED,
        failure=failure, send=_send,
    )  # fmt: skip
    old = timezone.now() - timedelta(seconds=settings.GATEHOUSE_GIT_JOB_KEEP_SECONDS)
    pruned = GitJob.objects.filter(
        kind=GitJob.Kind.SYNC, created_by=None, finished_at__lt=old,
        status__in=[Status.SUCCEEDED, Status.FAILED],
    )  # fmt: skip
    batch = list(pruned.values_list("pk", flat=True)[:10000])
    counts["pruned"] = GitJob.objects.filter(pk__in=batch).delete()[0] if batch else 0
    counts["evidence"] = _request_missing_evidence()
    return counts


def _request_missing_evidence(limit: int = 20) -> int:
    """Published releases with no final bundle and no evidence job at all (the publish
    committed, its worker died before queueing the job): queue it. A job that failed
    stays failed, with its reasons on the release page, until someone asks again."""
    from releases.models import EvidenceBundle

    jobs = GitJob.objects.filter(kind=GitJob.Kind.EVIDENCE, release=OuterRef("pk"))
    bundles = EvidenceBundle.objects.filter(release=OuterRef("pk"), preview=False)
    missing = (
        Release.objects.filter(state=ReleaseState.PUBLISHED)
        .exclude(external_commit="")
        .exclude(Exists(jobs))
        .exclude(Exists(bundles))
        .select_related("component")
        .order_by("published_at")[:limit]
    )
    queued = 0
    for release in missing:
        try:
            evidence_request(release=release, actor=None, preview=False)
        except (ValidationError, PermissionDenied) as exc:
            log.warning("release #%s: no evidence bundle can be built: %s", release.pk, exc)
            continue
        queued += 1
    return queued
