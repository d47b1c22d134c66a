"""A component that passes every gate, built through the real services: a repository
with every community file and license headers, a real scan, four approvals and roles."""

from __future__ import annotations

import pytest

from governance.enums import CommunityRole
from governance.services import component_role_set
from releases.services import release_create
from reviews.models import ReviewTicket
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
    """Submitted and scanned (clean), all four departments approved, PMC and committer named."""

    def build(files=None) -> Approved:
        repo = make_repo(files or CLEAN_FILES)
        with django_capture_on_commit_callbacks(execute=True):
            submission = submit(world, repo)
        state = Approved(world, repo, submission)
        with django_capture_on_commit_callbacks(execute=True):
            state.approve_all()
            state.name_maintainers()
        return state

    return build
