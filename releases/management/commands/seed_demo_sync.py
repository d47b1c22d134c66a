"""Publish the demo's ready releases and leave one component in each sync status.

Run by ``make setup`` after ``seed_demo`` and ``seed_demo_releases``. The external
repositories are real bare repositories under ``var/demo-repos/external/``, set by
``seed_demo`` before the departments reviewed (the destination is part of what they
approve). The demo's
queued scans are run here (a worker that picks them up later finds them claimed), so the
ready releases can be published through the real service. Then, after a sync:

* rpc-interfaces: 2.1.0 published, nothing moved since -- in sync; 2.2.0-rc.1 of the
  same code is ready to publish;
* mq-core: 1.0.0 published with its community gate waived, then a contributor documented
  the client API outside -- back-port needed;
* trade-gateway: never published yet, internal work waiting -- export pending;
* config-client: a contributor started the external repository before any export, and
  the internal side moved too -- diverged.

Then a contributor pushes an example to mq-core's external repository with a GitHub
token in it (made here at run time, never written in this source): the last sync's
watcher opens an external alert, and security's review of mq-core is open again.

Last, ``backdate_story`` dates the releases, the waiver, the scans and the syncs in the
demo's twelve-week story (see seed_demo.STORY), counted from each submission.

Idempotent: an existing external repository, a published release and a community commit
already there are left alone.
"""

from __future__ import annotations

import os
import random
import string
import subprocess
import tempfile
import zlib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils import timezone

import vcs
from core.management.demo import DemoCommand
from governance.models import Component
from releases.enums import ReleaseState
from releases.evidence.build import evidence_build
from releases.models import Release, SyncState, Waiver
from releases.services import release_create
from releases.sync import component_sync, release_publish
from reviews.models import Submission
from scans.enums import ScanStatus
from scans.models import ScanRun
from scans.services import scan_execute

PUBLISH = {"rpc-interfaces": "2.1.0", "mq-core": "1.0.0"}
RC = "2.2.0-rc.1"
# slug -> (files, message) a contributor pushes to the external repository.
COMMUNITY = {
    "mq-core": (
        {
            "api/README.md": "# Client API\n\nSee `api/client.py`; publish() retries on "
            "connection loss.\n"
        },
        "Document the client API's retry behaviour",
    ),
    "config-client": (
        {"README.md": "# config-client\n\nCommunity notes while the code is on its way.\n"},
        "Start the public README",
    ),
}


# A contributor's slip, found by the watcher (releases.watch) at the last sync.
LEAK_MESSAGE = "Add a CI example that publishes to the broker"
LEAK_PATH = "api/examples/ci_publish.py"


def _base62(number: int) -> str:
    digits = string.digits + string.ascii_uppercase + string.ascii_lowercase
    out = ""
    while number:
        number, rest = divmod(number, 62)
        out = digits[rest] + out
    return out.rjust(6, "0")


def demo_token(seed: str = "gatehouse demo") -> str:
    """A credential-shaped value in GitHub's format, checksum included, made at run time
    from a seed (the same on every run): the demo's leak, real enough for the detector,
    valid nowhere. Kept out of the source, so no scanner flags this repository."""
    rng = random.Random(seed)  # noqa: S311 - a made-up demo value, not a secret
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(30))
    return "ghp" + "_" + body + _base62(zlib.crc32(body.encode()))


def leak_files() -> dict[str, str]:
    return {
        LEAK_PATH: (
            '"""Publish one message from CI (see api/README.md)."""\n\n'
            "from mq_core.api import client\n\n"
            f'GITHUB_TOKEN = "{demo_token()}"  # to tag the build; TODO read from CI\n\n'
            'client.connect("localhost:5672").publish("ci", b"built")\n'
        )
    }


# The demo's history after the reviews (see seed_demo.STORY): days after each component's
# submission when its releases were created and published, its scan ran, and its syncs
# (in the order seed_demo_sync makes them) first found their status.
RELEASE_STORY = {
    # slug -> {version: (created, published or None)}
    "rpc-interfaces": {"2.1.0": (13, 18), RC: (75, None)},
    "mq-core": {"1.0.0": (25, 35)},
    "config-client": {"0.9.0": (10, None)},
    "trade-gateway": {"0.1.0": (4, None)},
}
SYNC_STORY = {
    "rpc-interfaces": [13.5, 18.01],  # export pending, then in sync once published
    "mq-core": [25.5, 50],  # export pending; back-port needed after a contributor's commit
    "config-client": [12],  # diverged
    "trade-gateway": [4.5],  # export pending
}
WAIVER_DAY = 26  # mq-core's community waiver, a day after its release was created
SCAN_MINUTES = 15  # the submission's scan ran this long after it was made


def backdate_story(components: dict[str, Component], *, now=None) -> None:
    """Date the releases, the waiver, the scans and the syncs of the demo in its story,
    counted from each component's (already backdated) first submission, so that the
    charts and every age show twelve weeks of history.

    Idempotent: every date is a fixed offset from the submission, and only rows the demo
    made are moved (releases by version, syncs triggered by the demo in the order they
    were made, never past the first ones a later real sync adds). Model timestamps only:
    the audit events keep their real time, which their seals cover (core/audit.py).
    """
    now = now or timezone.now()
    latest = now - timedelta(minutes=1)
    for slug, component in components.items():
        submission = (
            Submission.objects.filter(component=component).order_by("created_at", "pk").first()
        )
        if submission is None:
            continue
        start = submission.created_at

        def at(days: float, start=start):
            return min(start + timedelta(days=days), latest)

        for version, (created, published) in RELEASE_STORY.get(slug, {}).items():
            release = Release.objects.filter(component=component, version=version).first()
            if release is None:
                continue
            changes = {"created_at": at(created)}
            if published is not None and release.published_at:
                changes["published_at"] = at(published)
            Release.objects.filter(pk=release.pk).update(**changes)
        if slug == "mq-core":
            Waiver.objects.filter(release__component=component, gate="community").update(
                created_at=at(WAIVER_DAY)
            )
        for scan in ScanRun.objects.filter(component=component, finished_at__isnull=False):
            sub = (
                Submission.objects.filter(component=component, commit=scan.commit)
                .order_by("created_at")
                .first()
            )
            if sub is None or scan.created_at > sub.created_at + timedelta(days=1):
                continue  # a rescan of its own, not the demo's
            began = sub.created_at + timedelta(minutes=SCAN_MINUTES)
            took = (scan.finished_at - scan.started_at) if scan.started_at else timedelta(0)
            ScanRun.objects.filter(pk=scan.pk).update(started_at=began, finished_at=began + took)
        demo_syncs = SyncState.objects.filter(component=component, trigger="demo").order_by("id")
        for days, sync in zip(SYNC_STORY.get(slug, []), demo_syncs, strict=False):
            SyncState.objects.filter(pk=sync.pk).update(created_at=at(days))


def _git(cwd: Path, *args: str) -> str:
    env = {**vcs.git_env(), "GIT_AUTHOR_NAME": "Dana Contributor",
           "GIT_AUTHOR_EMAIL": "dana@example.org", "GIT_COMMITTER_NAME": "Dana Contributor",
           "GIT_COMMITTER_EMAIL": "dana@example.org"}  # fmt: skip
    result = subprocess.run(  # a fixed argument list, no shell
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise CommandError(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout.strip()


class Command(DemoCommand):
    help = "External repositories, publishing and sync states for the demo (idempotent)."

    def handle(self, *args, **options):
        admin = get_user_model().objects.filter(username="admin", is_superuser=True).first()
        components = {c.slug: c for c in Component.objects.filter(slug__in=[
            "rpc-interfaces", "mq-core", "config-client", "trade-gateway"])}  # fmt: skip
        if admin is None or len(components) < 4:
            raise CommandError("Run seed_demo and seed_demo_releases first.")
        for scan in ScanRun.objects.filter(
            component__in=components.values(), status=ScanStatus.QUEUED
        ):
            scan_execute(scan_id=scan.pk)  # the worker would; claimed once either way
        root = Path(os.path.abspath(settings.GATEHOUSE_DEMO_REPOS_DIR)) / "external"
        root.mkdir(parents=True, exist_ok=True)
        for slug, component in components.items():
            bare = root / f"{slug}.git"
            if component.external_repository is None:  # seed_demo sets it before the reviews
                raise CommandError(f"{slug} has no external repository: run seed_demo first.")
            if slug == "config-client":
                self._community(bare, *COMMUNITY[slug])  # before any export
            component_sync(component_id=component.pk, trigger="demo")  # the versions gate reads it
        for slug, version in PUBLISH.items():
            release = Release.objects.filter(component=components[slug], version=version).first()
            if release is None or release.state == ReleaseState.PUBLISHED:
                continue
            release = release_publish(release=release, actor=admin)
            # Its evidence at once (the job publishing queued finds it built).
            bundle = evidence_build(release=release, actor=admin, preview=False)
            self.stdout.write(f"  {slug} {release.version}: published as {release.external_tag}, "
                              f"evidence bundle of {bundle.size:,} bytes")  # fmt: skip
        # A release candidate of the published rpc-interfaces code, for partners to test:
        # ready, waiting for someone to press Publish.
        rpc = components["rpc-interfaces"]
        published = Release.objects.filter(component=rpc, state=ReleaseState.PUBLISHED).first()
        if published and not Release.objects.filter(component=rpc, version=RC).exists():
            component_sync(component_id=rpc.pk, trigger="demo")
            candidate = release_create(
                component=rpc, actor=admin, version=RC, commit=published.commit,
                notes="Release candidate for the partners' interoperability tests.",
            )  # fmt: skip
            self.stdout.write(f"  rpc-interfaces {RC}: {candidate.state}")
        self._community(root / "mq-core.git", *COMMUNITY["mq-core"])
        self._community(root / "mq-core.git", leak_files(), LEAK_MESSAGE)
        for slug, component in components.items():
            state = component_sync(component_id=component.pk, trigger="demo")
            self.stdout.write(f"  {slug}: {state.status if state else 'sync skipped'}")
        backdate_story(components)

    def _community(self, bare: Path, files: dict[str, str], message: str) -> None:
        """Clone, change, push, as a contributor would; once (the subject is the marker)."""
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "work"
            _git(Path(tmp), "clone", "-q", "--template=", str(bare), str(work))
            if message in _git(work, "log", "--format=%s", "--all"):
                return
            for name, text in files.items():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_text(text)
            _git(work, "add", "-A")
            _git(work, "commit", "-q", "-m", message)
            _git(work, "push", "-q", "origin", "HEAD:main")
