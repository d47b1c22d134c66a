"""Sync benchmark: 200 components with local repositories, a first sync and a no-change
rerun, against the cost of the fetches alone.

    .venv/bin/python benchmarks/sync_bench.py [--components 200]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/sync_bench.py

It builds a throwaway test database and, in a temporary folder, per component: an internal
working repository (about 40 files over a few commits, an internal-only folder) and a bare
external repository holding an export made the way publishing makes one (the open scope
as a commit with Gatehouse's trailers, pushed). A third of the components then get an
internal change in the open scope, a third a community commit outside, a sixth both.

Printed: the first sync of all components (workspaces created, both sides fetched,
statuses computed and stored), the no-change rerun, and the fetches alone on a second
no-change pass (vcs.workspace_update only) -- the floor the rerun is compared with --
in seconds, per component (median / p95 ms) and peak RSS, with the statuses found.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

import vcs  # noqa: E402
from governance.enums import RepositoryKind  # noqa: E402
from governance.models import Component, Repository  # noqa: E402
from releases import sync  # noqa: E402

IDENT = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com",
         "-c", "commit.gpgsign=false"]  # fmt: skip


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *IDENT, *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_internal(path: Path, n: int) -> None:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for commit in range(3):
        for i in range(13):
            folder = ("core", "api", "internal")[i % 3]
            target = path / folder / f"module_{i}.py"
            target.parent.mkdir(exist_ok=True)
            target.write_text(f"# component {n}, revision {commit}\nVALUE_{i} = {commit}\n" * 5)
        git(path, "add", "-A")
        git(path, "-c", "gc.auto=0", "commit", "-q", "-m", f"revision {commit}")


def export_into(component: Component, external: Path, workspace: Path) -> None:
    """What publishing does, minus the gates: the open scope as a trailer commit, pushed."""
    allow = settings.GATEHOUSE_GIT_ALLOW
    vcs.workspace_update(workspace, internal_url=component.internal_repository.url,
                         external_url=component.external_repository.url, allow=allow)  # fmt: skip
    head = vcs.ref_commit(workspace, "refs/internal/heads/main")
    tree = vcs.build_export_tree(
        workspace, commit=head, paths=sync.export_pairs(component, vcs.list_tree(workspace, head))
    )
    trailers = f"{sync.TRAILER_REV}: {head}\n{sync.TRAILER_RELEASE}: {component.pk}\n"
    message = f"Release v1.0.0\n\n{trailers}"
    commit = vcs.commit_tree(workspace, tree=tree, parents=[], message=message,
                             author=sync.identity(), date="2026-01-05T10:00:00+00:00")  # fmt: skip
    vcs.push(workspace, url=f"file://{external}", allow=allow,
             refspecs=[(commit, "refs/heads/main")])  # fmt: skip


def build(root: Path, count: int) -> list[Component]:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "x")
    components = []
    for n in range(count):
        internal, external = root / f"internal-{n}", root / f"external-{n}.git"
        make_internal(internal, n)
        git(root, "init", "-q", "--bare", "-b", "main", str(external))
        component = Component.objects.create(
            name=f"Bench {n}", slug=f"bench-{n}", license="MIT", created_by=admin,
            open_paths=["core/**", "api/**"], internal_paths=["internal/**"],
            internal_repository=Repository.objects.create(
                url=f"file://{internal}", key=vcs.normalize_url(f"file://{internal}")
            ),
            external_repository=Repository.objects.create(
                url=f"file://{external}", key=vcs.normalize_url(f"file://{external}"),
                kind=RepositoryKind.EXTERNAL,
            ),
        )  # fmt: skip
        export_into(component, external, sync.workspace_for(component))
        if n % 3 == 0 or n % 6 == 1:  # internal work waiting for export
            (internal / "core" / "new.py").write_text(f"NEW = {n}\n")
            git(internal, "add", "-A")
            git(internal, "-c", "gc.auto=0", "commit", "-q", "-m", "internal change")
        if n % 3 == 1:  # a community commit outside
            work = root / f"contrib-{n}"
            git(root, "clone", "-q", str(external), str(work))
            (work / "api" / "community.py").write_text("THANKS = True\n")
            git(work, "add", "-A")
            git(work, "commit", "-q", "-m", "community fix")
            git(work, "push", "-q", "origin", "HEAD:main")
        components.append(component)
    return components


def timed(label: str, components, action) -> list[float]:
    times = []
    began = time.perf_counter()
    for component in components:
        start = time.perf_counter()
        action(component)
        times.append((time.perf_counter() - start) * 1000)
    total = time.perf_counter() - began
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    print(f"{label:<34}{total:>9.2f}{statistics.median(times):>12.1f}{p95:>9.1f}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=200)
    args = parser.parse_args()
    setup_test_environment()
    settings.DEBUG = False
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
            root = Path(tmp)
            settings.GATEHOUSE_GIT_ALLOW = [f"file://{root}/"]
            settings.GATEHOUSE_SYNC_DIR = root / "sync"
            began = time.perf_counter()
            components = build(root, args.components)
            built = time.perf_counter() - began
            print(f"database: {connection.vendor}; {os.cpu_count()} cores; "
                  f"{len(components)} components built in {built:.1f} s")  # fmt: skip
            # The first sync starts from empty workspaces, as a new deployment would.
            for component in components:
                subprocess.run(["rm", "-rf", str(sync.workspace_for(component))], check=True)
            print(f"\n{'pass':<34}{'total s':>9}{'median ms':>12}{'p95 ms':>9}")
            statuses = Counter()

            def sync_one(component):
                state = sync.component_sync(component_id=component.pk, trigger="bench")
                statuses[str(state.status)] += 1

            timed("first sync (empty workspaces)", components, sync_one)
            first = dict(statuses)
            statuses.clear()
            timed("no-change rerun", components, sync_one)

            def fetch_only(component):
                vcs.workspace_update(
                    sync.workspace_for(component), internal_url=component.internal_repository.url,
                    external_url=component.external_repository.url,
                    allow=settings.GATEHOUSE_GIT_ALLOW,
                )  # fmt: skip

            timed("fetches alone (no change)", components, fetch_only)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"\nstatuses, first sync: {first}; rerun: {dict(statuses)}")
            print(f"peak RSS of this process: {peak:.0f} MiB (git runs in child processes)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
