"""Evidence benchmark: the time to build a release's evidence bundle for a real codebase
of about 4,000 published files, and the bundle's parts and sizes.

    .venv/bin/python benchmarks/evidence_bench.py [--repeat 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/evidence_bench.py

It builds a throwaway test database and, in a temporary folder, a git repository of
Django 5.2.19's source distribution from PyPI (cached in var/bench-corpora) with the
community files a release needs, and a bare external repository. Through the real
services: the component is submitted with the open scope ``django/**`` (3,662 files),
its manifests and the community files, scanned (the real engine),
approved by the four departments, given its roles, synced; a release is created, its
blocked gates (if any) waived by the office, and it is published, which builds the final
bundle. Then the bundle is built again ``--repeat`` times (the stored one deleted each
time), timed whole (``evidence_build``: fetching both sides, reading and hashing every
exported blob, the parts, the zip, the signature, the store) and by phase, and
``evidence_verify`` runs on it in a process of its own with no database.

Printed: the files published, the scan's time, the build's median and worst seconds with
the phases of the last, the bundle's files and sizes, and the verification's result and
time.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.common import ROOT, git, markdown_table, sdist_repo  # noqa: E402

COMMUNITY = {
    "CONTRIBUTING.md": "Send a pull request.\n",
    "CODE_OF_CONDUCT.md": "Be kind.\n",
    "SECURITY.md": "Report to the security team.\n",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from celery import current_app

    current_app.conf.task_always_eager = True  # the publish's evidence job runs in-process
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    work = Path(tempfile.mkdtemp(prefix="gatehouse-evidence-bench-"))
    settings.GATEHOUSE_SYNC_DIR = work / "sync"
    settings.GATEHOUSE_MIRRORS_DIR = work / "mirrors"
    settings.GATEHOUSE_GIT_ALLOW = [*settings.GATEHOUSE_GIT_ALLOW, f"file://{work}/"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        return run(work, args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(work: Path, args) -> int:
    from governance.enums import CommunityRole
    from governance.services import ComponentDraft, component_role_set
    from releases.enums import ReleaseState
    from releases.evidence import build as evidence
    from releases.models import EvidenceBundle
    from releases.services import release_create, release_evaluate, waiver_grant
    from releases.sync import component_sync, release_publish, workspace_for
    from reviews.models import ReviewTicket
    from reviews.services import component_set_external, submission_create
    from scans.models import ScanRun
    from tests.conftest import approve, make_user

    call_command("seed_demo", "--force", verbosity=0)
    from django.contrib.auth import get_user_model

    User = get_user_model()
    alice, admin = User.objects.get(username="alice"), User.objects.get(username="admin")
    reviewers = {
        ticket_dept: User.objects.filter(groups__department__slug=ticket_dept)
        .exclude(pk=alice.pk)
        .first()
        for ticket_dept in ("technical", "compliance", "legal", "security")
    }

    repo = sdist_repo("django", "5.2.19", work)
    for name, text in COMMUNITY.items():
        (repo / name).write_text(text)
    git("add", "-A", cwd=repo)
    git("-c", "user.name=Bench", "-c", "user.email=b@example.com", "commit", "-qm",
        "Community files", cwd=repo)  # fmt: skip
    external = work / "external.git"
    git("init", "-q", "--bare", "-b", "main", str(external), cwd=work)

    began = time.perf_counter()
    submission = submission_create(
        actor=alice, repository_url=f"file://{repo}", branch="main",
        justification="Benchmark", new_component=ComponentDraft(
            name="Django", slug="django", license="BSD-3-Clause",
            open_paths=["django/**", "LICENSE", "README.rst", "AUTHORS", "pyproject.toml",
                        "package.json", *COMMUNITY],
            internal_paths=["tests/**"],
        ),
    ).submission  # fmt: skip
    component = submission.component
    component_set_external(component=component, actor=alice, url=f"file://{external}")
    scan = ScanRun.objects.filter(component=component).order_by("-pk").first()
    from scans.services import scan_execute

    if scan is not None and scan.status == "queued":
        scan_execute(scan_id=scan.pk)
    scan.refresh_from_db()
    scanned = time.perf_counter() - began
    print(f"submitted and scanned in {scanned:.1f} s: scan #{scan.pk} {scan.status}, "
          f"{scan.findings.count()} findings", flush=True)  # fmt: skip
    for ticket in ReviewTicket.objects.filter(submission__component=component).select_related(
        "department"
    ):
        approve(ticket, reviewers[ticket.department.slug])
    component_role_set(component=component, user=make_user("petra"), role=CommunityRole.PMC,
                       actor=admin)  # fmt: skip
    component_role_set(component=component, user=make_user("carl"),
                       role=CommunityRole.COMMITTER, actor=admin)  # fmt: skip
    component_sync(component_id=component.pk)
    release = release_create(component=component, actor=alice, version="5.2.19")
    for gate in release.blocking_gates:
        waiver_grant(actor=admin, release=release, gate=gate["gate"], owner=alice,
                     reason="Benchmark: " + gate["reason"][:200],
                     expires_at=timezone.now() + timedelta(days=30))  # fmt: skip
    release = release_evaluate(release_id=release.pk, trigger="manual", actor=alice)
    if release.state != ReleaseState.READY:
        print(f"the release is {release.state}: {release.blocking_gates}")
        return 1
    began = time.perf_counter()
    release = release_publish(release=release, actor=alice)
    published = time.perf_counter() - began
    first = EvidenceBundle.objects.filter(release=release, preview=False).first()
    print(f"published in {published:.1f} s (the final bundle built with it: "
          f"{'yes' if first else 'NO'})", flush=True)  # fmt: skip

    times, phases = [], {}
    for _ in range(args.repeat):
        EvidenceBundle.objects.filter(release=release).delete()
        began = time.perf_counter()
        evidence.evidence_build(release=release, actor=alice, preview=False)
        times.append(time.perf_counter() - began)
    # The phases of one more build, timed apart.
    component.refresh_from_db()
    workspace = workspace_for(component)
    t0 = time.perf_counter()
    exported = evidence.exported_tree(component, release, workspace, preview=False)
    t1 = time.perf_counter()
    built = evidence.bundle_contents(release, exported, preview=False, now=timezone.now())
    t2 = time.perf_counter()
    phases = {"read and hash the exported tree": t1 - t0, "parts, zip and signature": t2 - t1}

    bundle = EvidenceBundle.objects.get(release=release, preview=False)
    with zipfile.ZipFile(io.BytesIO(bytes(bundle.archive))) as archive:
        rows = [[i.filename, f"{i.file_size:,}", f"{i.compress_size:,}"]
                for i in archive.infolist()]  # fmt: skip
    print(f"\n== evidence bundle of {len(exported.files):,} published files "
          f"({sum(r.size for _, _, r in exported.files) / 1e6:.1f} MB) ==")  # fmt: skip
    print(f"build (evidence_build, {args.repeat} runs): median {statistics.median(times):.2f} s, "
          f"worst {max(times):.2f} s")  # fmt: skip
    for name, seconds in phases.items():
        print(f"  {name}: {seconds:.2f} s")
    print(f"archive: {bundle.size:,} bytes, SHA-256 {bundle.sha256[:16]}…, key {bundle.key_id}")
    print(markdown_table(["file", "bytes", "compressed"], rows))
    path = work / bundle.filename
    path.write_bytes(bytes(bundle.archive))
    from releases.evidence import signing

    key, _ = signing.configured_keys()
    env = {"PATH": os.environ["PATH"], "HOME": str(work), "DEBUG": "1",
           "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",
           "GATEHOUSE_VAR_DIR": str(work / "verify-var")}  # fmt: skip
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "evidence_verify", str(path), "--repository",
         f"file://{external}", "--public-key", signing.public_text(signing.raw_public(key))],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    took = time.perf_counter() - began
    print(f"evidence_verify (no database, with --repository): exit {done.returncode} "
          f"in {took:.1f} s")  # fmt: skip
    print("  " + (done.stdout.strip() or done.stderr.strip()).replace("\n", "\n  "))
    assert len(built.parts) == len(evidence.PARTS)
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
