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

Idempotent: an existing external repository, a published release and a community commit
already there are left alone.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

import vcs
from governance.models import Component
from releases.enums import ReleaseState
from releases.models import Release
from releases.services import release_create
from releases.sync import component_sync, release_publish
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


class Command(BaseCommand):
    help = "External repositories, publishing and sync states for the demo (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("DEBUG is off: this is demo data. Pass --force to seed anyway.")
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
            self.stdout.write(f"  {slug} {release.version}: published as {release.external_tag}")
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
        for slug, component in components.items():
            state = component_sync(component_id=component.pk, trigger="demo")
            self.stdout.write(f"  {slug}: {state.status if state else 'sync skipped'}")

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
