"""Fill the database with a large synthetic portfolio, fast, for the dashboard benchmark.

    python manage.py seed_scale --components 1000 [--findings 100] [--seed 1]

Each component gets an owner, a repository row, a submission with one ticket per active
department (states and sign-offs drawn at random, ages spread over six months), a finished
scan with about ``--findings`` findings (mostly informational, a few blocking, some
triaged), for most components a release with stored gate results, and for most an
external repository row with a few sync state changes over three months. Rows are written
with bulk inserts, bypassing the services: this is load for measuring pages, not a
workflow, and it says so in every component's description. Audit events are not written.
Components are named ``scale-<n>``; re-running adds the missing ones only.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from governance.defaults import ensure_default_departments
from governance.enums import Stage
from governance.models import Component, ComponentRole, Repository
from releases import gates
from releases.enums import ReleaseState, SyncStatus
from releases.models import Release, SyncState
from reviews.enums import Decision, SignOffStatus, SubmissionState, TicketState
from reviews.models import ReviewTicket, SignOff, Submission
from scans.enums import FindingKind, ScanStatus, Severity, TriageState
from scans.models import Finding, ScanRun

BATCH = 5000
KINDS = [
    (FindingKind.LICENSE, "spdx-tag", Severity.INFO, 30),
    (FindingKind.COPYRIGHT, "copyright", Severity.INFO, 30),
    (FindingKind.DEPENDENCY, "declared-dependency", Severity.INFO, 20),
    (FindingKind.HYGIENE, "missing-license-header", Severity.WARNING, 14),
    (FindingKind.INTERNAL_REF, "internal-host", Severity.BLOCKING, 3),
    (FindingKind.SECRET, "keyword-secret", Severity.BLOCKING, 1),
    (FindingKind.LICENSE, "denied-license", Severity.BLOCKING, 2),
]
TICKET_STATES = [
    (TicketState.APPROVED, 55),
    (TicketState.OPEN, 25),
    (TicketState.IN_REVIEW, 8),
    (TicketState.CHANGES_REQUESTED, 10),
    (TicketState.REJECTED, 2),
]


def _pick(rng: random.Random, weighted) -> tuple:
    """One row of ``weighted`` (its last item is the weight), without the weight."""
    return rng.choices([w[:-1] for w in weighted], weights=[w[-1] for w in weighted])[0]


class Command(BaseCommand):
    help = "Bulk-create N synthetic components with tickets, scans, findings and releases."

    def add_arguments(self, parser):
        parser.add_argument("--components", type=int, required=True)
        parser.add_argument("--findings", type=int, default=100)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        n, per = options["components"], options["findings"]
        if n < 1 or n > 100_000 or per < 0 or per > 10_000:
            raise CommandError("--components must be 1..100000 and --findings 0..10000.")
        started = time.perf_counter()
        rng = random.Random(options["seed"])  # noqa: S311 - synthetic data, not secrets
        with transaction.atomic():
            made = self._seed(rng, n, per)
        self.stdout.write(
            f"seed_scale: {made['components']} components, {made['tickets']} tickets, "
            f"{made['findings']} findings, {made['releases']} releases "
            f"in {time.perf_counter() - started:.1f} s"
        )

    def _seed(self, rng: random.Random, n: int, per: int) -> dict[str, int]:
        User = get_user_model()
        departments = ensure_default_departments()
        owners = []
        for i in range(20):
            user, _ = User.objects.get_or_create(
                username=f"scale-owner-{i}", defaults={"email": f"scale-owner-{i}@example.com"}
            )
            owners.append(user)
        reviewers = {}
        for dept in departments:
            user, _ = User.objects.get_or_create(
                username=f"scale-{dept.slug}", defaults={"email": f"scale-{dept.slug}@example.com"}
            )
            user.groups.add(dept.reviewer_group)
            reviewers[dept.pk] = user
        existing = set(
            Component.objects.filter(slug__startswith="scale-").values_list("slug", flat=True)
        )
        slugs = [f"scale-{i:05d}" for i in range(n) if f"scale-{i:05d}" not in existing]
        now = timezone.now()

        repos = Repository.objects.bulk_create(
            [
                Repository(url=f"file:///srv/scale/{slug}.git", key=f"file:///srv/scale/{slug}")
                for slug in slugs
            ],
            batch_size=BATCH,
        )
        stages = [Stage.IN_REVIEW] * 5 + [Stage.APPROVED] * 3 + [Stage.RELEASED, Stage.DRAFT]
        components = Component.objects.bulk_create(
            [
                Component(
                    name=f"Scale component {slug[6:]}",
                    slug=slug,
                    license="Apache-2.0",
                    description="Synthetic load from seed_scale (not a real component).",
                    stage=rng.choice(stages),
                    internal_repository=repo,
                    created_by=owner,
                    open_paths=["src/**"],
                    internal_paths=["internal/**"],
                )  # fmt: skip
                for slug, repo, owner in zip(
                    slugs, repos, rng.choices(owners, k=len(slugs)), strict=True
                )
            ],
            batch_size=BATCH,
        )
        Owners = Component.owners.through
        Owners.objects.bulk_create(
            [Owners(component=c, user_id=c.created_by_id) for c in components], batch_size=BATCH
        )
        ComponentRole.objects.bulk_create(
            [
                ComponentRole(component=c, user=rng.choice(owners), role="pmc")
                for c in components
                if rng.random() < 0.7
            ],
            batch_size=BATCH,
        )

        submissions = Submission.objects.bulk_create(
            [
                Submission(
                    component=c,
                    repository=c.internal_repository,
                    branch="main",
                    commit=f"{rng.getrandbits(160):040x}",
                    justification="Synthetic load.",
                    submitted_by=rng.choice(owners),
                    state=SubmissionState.IN_REVIEW,
                )  # fmt: skip
                for c in components
            ],
            batch_size=BATCH,
        )
        # Spread the submissions over six months, so week-by-week charts have a shape.
        created = {s.pk: now - timedelta(days=rng.uniform(0, 180)) for s in submissions}
        for s in submissions:
            s.created_at = created[s.pk]
        Submission.objects.bulk_update(submissions, ["created_at"], batch_size=BATCH)

        tickets = []
        for s in submissions:
            for dept in departments:
                (state,) = _pick(rng, TICKET_STATES)
                decided = created[s.pk] + timedelta(days=rng.uniform(0.2, 20))
                tickets.append(ReviewTicket(
                    submission=s, department=dept, state=state,
                    decided_at=decided if state not in (TicketState.OPEN, TicketState.IN_REVIEW)
                    and decided < now else None,
                ))  # fmt: skip
        tickets = ReviewTicket.objects.bulk_create(tickets, batch_size=BATCH)
        for t in tickets:
            t.created_at = created[t.submission_id]
        ReviewTicket.objects.bulk_update(tickets, ["created_at"], batch_size=BATCH)
        decisions = {
            TicketState.APPROVED: Decision.APPROVE,
            TicketState.CHANGES_REQUESTED: Decision.REQUEST_CHANGES,
            TicketState.REJECTED: Decision.REJECT,
        }
        by_submission = {s.pk: s for s in submissions}
        SignOff.objects.bulk_create(
            [
                SignOff(
                    ticket=t,
                    reviewer=reviewers[t.department_id],
                    decision=decisions[t.state],
                    commit=by_submission[t.submission_id].commit,
                    status=SignOffStatus.CURRENT,
                )  # fmt: skip
                for t in tickets
                if t.state in decisions
            ],
            batch_size=BATCH,
        )
        states: dict[int, set[str]] = {}
        for t in tickets:
            states.setdefault(t.submission_id, set()).add(t.state)
        for s in submissions:
            found = states[s.pk]
            if TicketState.REJECTED in found:
                s.state = SubmissionState.REJECTED
            elif TicketState.CHANGES_REQUESTED in found:
                s.state = SubmissionState.CHANGES_REQUESTED
            elif found == {TicketState.APPROVED}:
                s.state = SubmissionState.APPROVED
        Submission.objects.bulk_update(submissions, ["state"], batch_size=BATCH)

        scans = ScanRun.objects.bulk_create(
            [
                ScanRun(
                    repository=s.repository,
                    component_id=s.component_id,
                    commit=s.commit,
                    status=ScanStatus.DONE,
                    engine_version="scale",
                    policy_version="scale",
                    files_total=per * 3,
                    files_done=per * 3,
                    seconds=rng.uniform(0.2, 4),
                    started_at=now,
                    finished_at=now - timedelta(days=rng.uniform(0, 30)),
                )  # fmt: skip
                for s in submissions
            ],
            batch_size=BATCH,
        )
        findings = 0
        rows = []
        for scan in scans:
            for i in range(max(0, per + rng.randint(-per // 10, per // 10))):
                kind, rule, severity = _pick(rng, KINDS)
                rows.append(Finding(
                    scan=scan, kind=kind, rule=rule, severity=severity,
                    path=f"src/module_{i % 40}/file_{i}.py", line=rng.randint(1, 400),
                    message=f"Synthetic {kind} finding", fingerprint=f"{rng.getrandbits(256):064x}",
                    state=TriageState.FALSE_POSITIVE if rng.random() < 0.1 else TriageState.OPEN,
                ))  # fmt: skip
            if len(rows) >= BATCH:
                Finding.objects.bulk_create(rows, batch_size=BATCH)
                findings += len(rows)
                rows = []
        Finding.objects.bulk_create(rows, batch_size=BATCH)
        findings += len(rows)

        releases = []
        keys = list(gates.GATES)
        for s in submissions:
            if rng.random() < 0.4:
                continue
            results = [
                {"gate": key, "title": gates.GATES[key].title,
                 "status": "pass" if rng.random() < 0.7 else "blocked",
                 "reason": "Synthetic gate result from seed_scale.", "evidence": []}
                for key in keys
            ]  # fmt: skip
            blocked = any(r["status"] == "blocked" for r in results)
            releases.append(Release(
                component_id=s.component_id, version=f"1.{rng.randint(0, 9)}.0", commit=s.commit,
                state=ReleaseState.BLOCKED if blocked else ReleaseState.READY, gates=results,
                evaluated_at=now,
            ))  # fmt: skip
        Release.objects.bulk_create(releases, batch_size=BATCH)

        # Most components publish: an external repository row and a few sync changes each.
        publishing = [c for c in components if rng.random() < 0.8]
        externals = Repository.objects.bulk_create(
            [Repository(url=f"file:///srv/scale/{c.slug}-public.git", kind="external",
                        key=f"file:///srv/scale/{c.slug}-public")
             for c in publishing],
            batch_size=BATCH,
        )  # fmt: skip
        for component, repository in zip(publishing, externals, strict=True):
            component.external_repository = repository
        Component.objects.bulk_update(publishing, ["external_repository"], batch_size=BATCH)
        statuses = [SyncStatus.IN_SYNC] * 5 + [SyncStatus.EXPORT_PENDING] * 3 + [
            SyncStatus.BACKPORT_NEEDED, SyncStatus.DIVERGED]  # fmt: skip
        syncs = SyncState.objects.bulk_create(
            [
                SyncState(component=c, trigger="seed_scale", status=rng.choice(statuses))
                for c in publishing
                for _ in range(rng.randint(1, 4))
            ],
            batch_size=BATCH,
        )
        for sync in syncs:  # changes spread over the last three months
            sync.created_at = sync.checked_at = now - timedelta(days=rng.uniform(0, 90))
        SyncState.objects.bulk_update(syncs, ["created_at", "checked_at"], batch_size=BATCH)
        return {
            "components": len(components),
            "tickets": len(tickets),
            "findings": findings,
            "releases": len(releases),
        }
