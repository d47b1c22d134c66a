"""Fill the database with a large synthetic portfolio, fast, for the dashboard benchmark.

    python manage.py seed_scale --components 10000 [--findings 100] [--seed 1]

Each component gets an owner, a repository row, a submission with one ticket per active
department (states and sign-offs drawn at random, ages spread over six months), a finished
scan with about ``--findings`` findings (mostly informational, a few blocking, some
triaged), for most components a release with stored gate results, and for most an
external repository row with a few sync state changes over three months. Rows are written
with bulk inserts, bypassing the services: this is load for measuring pages, not a
workflow, and it says so in every component's description. Audit events are not written.

Components are named ``scale-<n>`` and written ``--chunk`` at a time, one transaction per
chunk, with a progress line after each: re-running adds the missing ones only, and a run
cut short keeps the chunks it finished. Each chunk writes its components' finding
tallies, and the charts summary is recomputed at the end (releases.summaries: what the
counters and charts read); on PostgreSQL the findings go in with COPY, and the tables
are analysed at the end.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from governance.defaults import ensure_default_departments
from governance.enums import Stage
from governance.models import Component, ComponentRole, Repository
from releases import gates
from releases.enums import ReleaseState, SyncStatus
from releases.models import Release, SyncState
from releases.summaries import chart_summary_refresh, finding_tallies_refresh
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
STAGES = [Stage.IN_REVIEW] * 5 + [Stage.APPROVED] * 3 + [Stage.RELEASED, Stage.DRAFT]
SYNC_STATUSES = [SyncStatus.IN_SYNC] * 5 + [SyncStatus.EXPORT_PENDING] * 3 + [
    SyncStatus.BACKPORT_NEEDED, SyncStatus.DIVERGED]  # fmt: skip
DECISIONS = {
    TicketState.APPROVED: Decision.APPROVE,
    TicketState.CHANGES_REQUESTED: Decision.REQUEST_CHANGES,
    TicketState.REJECTED: Decision.REJECT,
}


def _weighted(weighted) -> tuple[list, list]:
    """The rows of ``weighted`` without their weight (the last item), and the weights."""
    return [w[:-1] for w in weighted], [w[-1] for w in weighted]


@contextmanager
def _dates_as_given(*models) -> Iterator[None]:
    """Let bulk inserts keep the ``created_at`` set on each row (spread over months, so
    the charts have a shape) instead of stamping now: otherwise every table would need a
    second pass of updates, the slowest part of the load."""
    fields = [m._meta.get_field("created_at") for m in models]
    for f in fields:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f in fields:
            f.auto_now_add = True


class Command(BaseCommand):
    help = "Bulk-create N synthetic components with tickets, scans, findings and releases."

    def add_arguments(self, parser):
        parser.add_argument("--components", type=int, required=True)
        parser.add_argument("--findings", type=int, default=100)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--chunk", type=int, default=500, help="Components per transaction (default 500)."
        )

    def handle(self, *args, **options):
        n, per, chunk = options["components"], options["findings"], options["chunk"]
        if n < 1 or n > 100_000 or per < 0 or per > 10_000 or chunk < 1:
            raise CommandError(
                "--components must be 1..100000, --findings 0..10000 and --chunk at least 1."
            )
        started = time.perf_counter()
        rng = random.Random(options["seed"])  # noqa: S311 - synthetic data, not secrets
        with transaction.atomic():
            people = self._people()
        existing = set(
            Component.objects.filter(slug__startswith="scale-").values_list("slug", flat=True)
        )
        slugs = [f"scale-{i:05d}" for i in range(n) if f"scale-{i:05d}" not in existing]
        made = {"components": 0, "tickets": 0, "findings": 0, "releases": 0}
        for start in range(0, len(slugs), chunk):
            with (
                transaction.atomic(),
                _dates_as_given(Submission, ReviewTicket, SignOff, SyncState),
            ):
                for key, count in self._seed(rng, slugs[start : start + chunk], per, people):
                    made[key] += count
            if len(slugs) > chunk:
                self.stdout.write(
                    f"  {made['components']}/{len(slugs)} components, {made['findings']} "
                    f"findings, {time.perf_counter() - started:.0f} s"
                )
        if connection.vendor == "postgresql" and made["components"]:
            # Fresh statistics after a bulk load, as PostgreSQL advises: without them the
            # planner can take the big tables for empty until autovacuum comes round.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        chart_summary_refresh()  # the bulk inserts told nobody
        self.stdout.write(
            f"seed_scale: {made['components']} components, {made['tickets']} tickets, "
            f"{made['findings']} findings, {made['releases']} releases "
            f"in {time.perf_counter() - started:.1f} s"
        )

    def _people(self) -> dict:
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
        return {"departments": departments, "owners": owners, "reviewers": reviewers}

    def _seed(self, rng: random.Random, slugs: list[str], per: int, people: dict):
        """One chunk of components with everything that hangs off them; yields counts.
        Every value is drawn before the rows that need it are written, so each table is
        written once, by one bulk insert, with no updates after."""
        departments, owners, reviewers = (
            people["departments"],
            people["owners"],
            people["reviewers"],
        )
        now = timezone.now()

        publishing = {slug for slug in slugs if rng.random() < 0.8}
        repos = Repository.objects.bulk_create(
            [Repository(url=f"file:///srv/scale/{slug}.git", key=f"file:///srv/scale/{slug}")
             for slug in slugs]
            + [Repository(url=f"file:///srv/scale/{slug}-public.git", kind="external",
                          key=f"file:///srv/scale/{slug}-public")
               for slug in slugs if slug in publishing],
            batch_size=BATCH,
        )  # fmt: skip
        internal = dict(zip(slugs, repos[: len(slugs)], strict=True))
        external = dict(
            zip([s for s in slugs if s in publishing], repos[len(slugs) :], strict=True)
        )
        components = Component.objects.bulk_create(
            [
                Component(
                    name=f"Scale component {slug[6:]}",
                    slug=slug,
                    license="Apache-2.0",
                    description="Synthetic load from seed_scale (not a real component).",
                    stage=rng.choice(STAGES),
                    internal_repository=internal[slug],
                    external_repository=external.get(slug),
                    created_by=rng.choice(owners),
                    open_paths=["src/**"],
                    internal_paths=["internal/**"],
                )  # fmt: skip
                for slug in slugs
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

        # Ticket states first: the submission's state follows from them.
        states, weights = _weighted(TICKET_STATES)
        ticket_states = [
            [rng.choices(states, weights)[0][0] for _ in departments] for _ in components
        ]
        submissions = []
        for c, drawn in zip(components, ticket_states, strict=True):
            found = set(drawn)
            if TicketState.REJECTED in found:
                state = SubmissionState.REJECTED
            elif TicketState.CHANGES_REQUESTED in found:
                state = SubmissionState.CHANGES_REQUESTED
            elif found == {TicketState.APPROVED}:
                state = SubmissionState.APPROVED
            else:
                state = SubmissionState.IN_REVIEW
            submissions.append(Submission(
                component=c, repository=c.internal_repository, branch="main",
                commit=f"{rng.getrandbits(160):040x}", justification="Synthetic load.",
                submitted_by=rng.choice(owners), state=state,
                # Spread over six months, so week-by-week charts have a shape.
                created_at=now - timedelta(days=rng.uniform(0, 180)),
            ))  # fmt: skip
        submissions = Submission.objects.bulk_create(submissions, batch_size=BATCH)

        tickets = []
        for s, drawn in zip(submissions, ticket_states, strict=True):
            for dept, state in zip(departments, drawn, strict=True):
                decided = s.created_at + timedelta(days=rng.uniform(0.2, 20))
                tickets.append(ReviewTicket(
                    submission=s, department=dept, state=state, created_at=s.created_at,
                    decided_at=decided if state not in (TicketState.OPEN, TicketState.IN_REVIEW)
                    and decided < now else None,
                ))  # fmt: skip
        tickets = ReviewTicket.objects.bulk_create(tickets, batch_size=BATCH)
        by_submission = {s.pk: s for s in submissions}
        SignOff.objects.bulk_create(
            [
                SignOff(
                    ticket=t,
                    reviewer=reviewers[t.department_id],
                    decision=DECISIONS[t.state],
                    commit=by_submission[t.submission_id].commit,
                    status=SignOffStatus.CURRENT,
                    created_at=t.decided_at or t.created_at,
                )  # fmt: skip
                for t in tickets
                if t.state in DECISIONS
            ],
            batch_size=BATCH,
        )

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
        yield "findings", self._findings(rng, scans, per)

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

        # The publishing components: a few sync changes each, over the last three months.
        syncs = []
        for c in components:
            if c.external_repository_id is None:
                continue
            for _ in range(rng.randint(1, 4)):
                when = now - timedelta(days=rng.uniform(0, 90))
                syncs.append(SyncState(component=c, trigger="seed_scale",
                                       status=rng.choice(SYNC_STATUSES), created_at=when,
                                       checked_at=when))  # fmt: skip
        SyncState.objects.bulk_create(syncs, batch_size=BATCH)
        finding_tallies_refresh(component_ids=[c.pk for c in components])
        yield "components", len(components)
        yield "tickets", len(tickets)
        yield "releases", len(releases)

    def _findings(self, rng: random.Random, scans: list[ScanRun], per: int) -> int:
        kinds, weights = _weighted(KINDS)
        rows = []
        for scan in scans:
            count = max(0, per + rng.randint(-per // 10, per // 10))
            for i, (kind, rule, severity) in enumerate(rng.choices(kinds, weights, k=count)):
                rows.append({
                    "scan_id": scan.pk, "kind": kind, "rule": rule, "severity": severity,
                    "path": f"src/module_{i % 40}/file_{i}.py", "line": rng.randint(1, 400),
                    "message": f"Synthetic {kind} finding",
                    "fingerprint": f"{rng.getrandbits(256):064x}",
                    "state": TriageState.FALSE_POSITIVE if rng.random() < 0.1
                    else TriageState.OPEN,
                })  # fmt: skip
        if connection.vendor == "postgresql":
            _copy(Finding, rows)
        else:
            Finding.objects.bulk_create([Finding(**row) for row in rows], batch_size=BATCH)
        return len(rows)


def _copy(model, rows: list[dict]) -> None:
    """Insert ``rows`` (attname → value) with PostgreSQL's COPY: about five times the
    speed of bulk_create for the million findings of a 10,000-component load. Every other
    column gets its model default, so a column added later needs no change here."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    blank = model()
    defaults = [f.get_db_prep_save(getattr(blank, f.attname), connection) for f in fields]
    names = [f.attname for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row.get(n, d) for n, d in zip(names, defaults, strict=True)])
