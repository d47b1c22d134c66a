"""A component that passes every gate, built through the real services: a repository
with every community file and license headers, a real scan, four approvals and roles."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from governance.enums import CommunityRole
from governance.services import component_role_set
from releases.models import Release
from releases.services import release_create
from releases.sync import component_sync, release_publish
from reviews.models import ReviewTicket
from reviews.services import component_set_external
from scans.models import ScanPolicy
from tests.conftest import approve, make_user, submit

APACHE_NOTICE = (
    'Licensed under the Apache License, Version 2.0 (the "License"); you may not use this\n'
    "file except in compliance with the License. You may obtain a copy of the License at\n"
    "http://www.apache.org/licenses/LICENSE-2.0\n"
)
CLEAN_FILES = {
    "README.md": "# mq core\n",
    "LICENSE": APACHE_NOTICE,
    "CONTRIBUTING.md": "Send a pull request.\n",
    "CODE_OF_CONDUCT.md": "Be kind.\n",
    "SECURITY.md": "Report to the security team.\n",
    "core/api.py": "# SPDX-License-Identifier: Apache-2.0\ndef ping():\n    return 1\n",
}


#: The community files of CLEAN_FILES: published at the top by the tests' open scope.
COMMUNITY = {"README.md", "LICENSE", "CONTRIBUTING.md", "CODE_OF_CONDUCT.md", "SECURITY.md"}


@pytest.fixture
def policy(db):
    return ScanPolicy.objects.create(
        pk=1, internal_domains=["corp.example-internal.net"], licenses_denied=["GPL-3.0-only"]
    )


class Approved:
    """An approved, scanned component with roles, ready for a release."""

    def __init__(self, world, repo, submission):
        self.world = world
        self.repo = repo
        self.submission = submission
        self.component = submission.component
        self.pmc = make_user("petra")
        self.committer = make_user("carl")

    def tickets(self):
        return ReviewTicket.objects.filter(submission=self.submission).select_related(
            "department", "submission"
        )

    def approve_all(self):
        for ticket in self.tickets():
            approve(ticket, self.world.reviewers[ticket.department.slug])

    def name_maintainers(self):
        admin = self.world.admin
        component_role_set(component=self.component, user=self.pmc, role=CommunityRole.PMC,
                           actor=admin)  # fmt: skip
        component_role_set(component=self.component, user=self.committer,
                           role=CommunityRole.COMMITTER, actor=admin)  # fmt: skip

    def release(self, version="1.0.0", **kwargs):
        return release_create(
            component=self.component, actor=self.world.alice, version=version, **kwargs
        )


@pytest.fixture
def approved(world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks):
    """Submitted and scanned (clean), all four departments approved, PMC and committer named.
    With ``external``, the destination is set before the reviews (it is part of what they
    approve)."""

    def build(
        files=None, external: str | None = None, open_paths=None, **external_options
    ) -> Approved:
        repo = make_repo(files or CLEAN_FILES)
        with django_capture_on_commit_callbacks(execute=True):
            submission = submit(world, repo, **({"open_paths": open_paths} if open_paths else {}))
            if external is not None:
                component_set_external(
                    component=submission.component, actor=world.alice, url=external,
                    **external_options,
                )  # fmt: skip
        submission.refresh_from_db()
        state = Approved(world, repo, submission)
        with django_capture_on_commit_callbacks(execute=True):
            state.approve_all()
            state.name_maintainers()
        return state

    return build


# --------------------------------------------------------------------------- Open Core


@pytest.fixture(autouse=True)
def _sync_dir(settings, tmp_path):
    settings.GATEHOUSE_SYNC_DIR = tmp_path / "sync"


def git(path: Path, *args: str) -> str:
    """git as a contributor runs it (their identity), in ``path``."""
    return subprocess.run(
        ["git", "-c", "user.name=Community Dev", "-c", "user.email=dev@example.org",
         "-c", "commit.gpgsign=false", *args],
        cwd=path, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


@pytest.fixture
def external(tmp_path) -> Path:
    """A bare external repository, empty."""
    path = tmp_path / "external.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(path))
    return path


def community_commit(tmp_path: Path, external: Path, files: dict[str, str], message: str) -> str:
    """What a contributor does outside: clone, change, push."""
    work = tmp_path / f"contrib-{len(list(tmp_path.glob('contrib-*')))}"
    git(tmp_path, "clone", "-q", str(external), str(work))
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def external_log(external: Path) -> list[str]:
    try:
        return git(external, "log", "--format=%H", "main").splitlines()
    except subprocess.CalledProcessError:
        return []


def external_files(external: Path, ref: str = "main") -> set[str]:
    return set(git(external, "ls-tree", "-r", "--name-only", ref).splitlines())


SYNC_FILES = {
    **CLEAN_FILES,
    "sharding/router.py": 'PEERS = ["wiki.corp.example-internal.net"]\n',
    "api/v1.py": "V = 1\n",
}


class Ready:
    """An approved component publishing to a bare external repository, synced once, with
    a release 1.0.0 (ready when the files are clean)."""

    def __init__(self, state: Approved, external: Path, release: Release):
        self.state, self.external, self.release = state, external, release
        self.component = state.component
        self.world = state.world
        self.repo = state.repo

    def publish(self) -> Release:
        return release_publish(release=self.release, actor=self.world.alice)


@pytest.fixture
def ready(approved, external, django_capture_on_commit_callbacks):
    def build(files=None, **external_options) -> Ready:
        state = approved(files or SYNC_FILES, external=f"file://{external}", **external_options)
        with django_capture_on_commit_callbacks(execute=True):
            component_sync(component_id=state.component.pk)
            release = state.release()
        release.refresh_from_db()
        return Ready(state, external, release)

    return build
