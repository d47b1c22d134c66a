"""The technical department's ticket lists the declared dependencies of the submission's
latest finished scan at its commit (denied ones first, with a chip), in one query however
many there are; the other departments' tickets do not."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scans.models import ScanPolicy, ScanRun
from scans.services import scan_request
from tests.conftest import PASSWORD, submit

pytestmark = pytest.mark.django_db

FILES = {
    "README.md": "# mq\n",
    "core/api.py": "# SPDX-License-Identifier: Apache-2.0\nx = 1\n",
    "core/package.json": json.dumps(
        {"dependencies": {"express": "^4.19.2"}, "devDependencies": {"left-pad": "1.3.0"}},
        indent=2,
    ),
    "core/requirements.txt": "requests==2.32.3\nPyCrypto\n",
}


@pytest.fixture
def policy(db):
    return ScanPolicy.objects.create(pk=1, dependencies_denied=["npm:left-pad", "pycrypto"])


def scanned(world, make_repo, capture, files=FILES, slug="mq-core"):
    with capture(execute=True):
        submission = submit(world, make_repo(files), slug=slug)
    scan = ScanRun.objects.get(commit=submission.commit, component=submission.component)
    assert scan.status == "done"
    return submission


def page(client, world, submission, department="technical") -> str:
    client.login(username=world.reviewers[department].username, password=PASSWORD)
    ticket = submission.tickets.get(department__slug=department)
    response = client.get(ticket.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def rows(html: str) -> list[list[str]]:
    """The dependency table's rows, as the text of their cells."""
    return [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]
        for cells in (
            re.findall(r"<td>(.*?)</td>", row, re.S)
            for row in re.findall(r'<tr[^>]*data-testid="dependency">(.*?)</tr>', html, re.S)
        )
    ]


def test_the_technical_ticket_lists_the_declared_dependencies(
    client, world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks
):
    submission = scanned(world, make_repo, django_capture_on_commit_callbacks)
    html = page(client, world, submission)
    assert "Declared dependencies" in html
    text = rows(html)
    # Denied first, then by manifest and line: ecosystem, name, version, scope, where, policy.
    assert [row[:5] for row in text] == [
        ["npm", "left-pad", "1.3.0", "dev", "core/package.json:6"],
        ["pypi", "pycrypto", "none", "runtime", "core/requirements.txt:2"],
        ["npm", "express", "^4.19.2", "runtime", "core/package.json:3"],
        ["pypi", "requests", "2.32.3", "runtime", "core/requirements.txt:1"],
    ]
    assert [row[5] for row in text] == ["denied", "denied", "", ""]
    # The chip says why.
    assert 'title="npm dependency left-pad 1.3.0 (dev) is denied by the policy: ' in html
    assert "left-pad is denied" in html


def test_other_departments_tickets_do_not_list_dependencies(
    client, world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks
):
    submission = scanned(world, make_repo, django_capture_on_commit_callbacks)
    for department in ("legal", "security", "compliance"):
        html = page(client, world, submission, department)
        assert "Declared dependencies" not in html
        assert 'data-testid="dependency"' not in html


def test_no_manifests_says_no_declared_dependencies(
    client, world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks
):
    submission = scanned(
        world, make_repo, django_capture_on_commit_callbacks, files={"README.md": "# mq\n"}
    )
    html = page(client, world, submission)
    assert "No declared dependencies found." in html
    assert 'data-testid="dependency"' not in html


def test_before_a_scan_has_finished_the_table_waits(
    client, world, make_repo, policy, django_capture_on_commit_callbacks
):
    submission = submit(world, make_repo(FILES))  # scanning on submit is off in the tests
    assert "Dependencies appear once the scan has finished." in page(client, world, submission)
    # A scan queued (its task not run yet): still waiting.
    with django_capture_on_commit_callbacks(execute=False):
        scan_request(repository=submission.repository, commit=submission.commit,
                     component=submission.component)  # fmt: skip
    html = page(client, world, submission)
    assert "Dependencies appear once the scan has finished." in html
    assert 'data-testid="dependency"' not in html


def test_while_a_rescan_runs_the_last_finished_scan_is_listed(
    client, world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks
):
    submission = scanned(world, make_repo, django_capture_on_commit_callbacks)
    finished = ScanRun.objects.get(commit=submission.commit)
    with django_capture_on_commit_callbacks(execute=False):
        newer = scan_request(repository=submission.repository, commit=submission.commit,
                             component=submission.component, force=True)  # fmt: skip
    html = page(client, world, submission)
    assert len(rows(html)) == 4
    assert f"scan #{finished.pk}</a>" in html
    assert f"The newer scan #{newer.pk} is queued." in html


def test_at_most_500_rows_with_a_note_of_the_rest(
    client, world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks
):
    many = {f"pkg-{i:03}": "1.0.0" for i in range(505)}
    files = {"README.md": "# mq\n", "core/package.json": json.dumps({"dependencies": many})}
    submission = scanned(world, make_repo, django_capture_on_commit_callbacks, files=files)
    html = page(client, world, submission)
    assert len(rows(html)) == 500
    assert "And 5 more not listed here" in html


def test_the_table_is_one_query_however_many_rows(
    client,
    world,
    make_repo,
    scan_on_submit,
    policy,
    django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    small = scanned(world, make_repo, django_capture_on_commit_callbacks, slug="small")
    many = {f"pkg-{i:03}": "1.0.0" for i in range(80)}
    large = scanned(
        world, make_repo, django_capture_on_commit_callbacks, slug="large",
        files={**FILES, "api/package.json": json.dumps({"dependencies": many})},
    )  # fmt: skip
    client.login(username=world.reviewers["technical"].username, password=PASSWORD)

    def count(submission) -> tuple[int, int]:
        url = submission.tickets.get(department__slug="technical").get_absolute_url()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200
        table = [q for q in queries.captured_queries if "declared-dependency" in q["sql"]]
        return len(queries.captured_queries), len(table)

    count(small)  # warm caches (content types, sessions)
    assert count(small) == count(large)
    assert count(large)[1] == 1
    url = large.tickets.get(department__slug="technical").get_absolute_url()
    with django_assert_max_num_queries(count(small)[0]):
        page_html = client.get(url).content.decode()
    assert len(rows(page_html)) == 84
