"""The reviewer sees the code: the public tree of the reviewed commit, a file with its
findings on their lines, the changes since an approval (renames, binaries, huge files, a
force-push), carried-forward approvals, and the query counts of the new pages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

import vcs
from core.models import AuditEvent
from governance.models import Department
from reviews.enums import SignOffStatus, SubmissionState, TicketState
from reviews.models import SignOff
from reviews.services import submission_refresh
from scans.models import Finding, ScanPolicy
from scans.services import scan_execute, scan_request
from tests.conftest import approve, submit

INTERNAL_URL = 'URL = "https://build.corp.example-internal.net/x"\n'
API = "import os\n\n" + INTERNAL_URL + "\n\ndef answer():\n    return 42\n"
UTIL = "".join(f"def helper_{i}():\n    return {i}\n\n" for i in range(12))


def write_bytes(repo, name: str, data: bytes) -> None:
    target = repo.path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


@pytest.fixture
def code_repo(make_repo):
    repo = make_repo(
        {
            "README.md": "# demo\n",
            "LICENSE": "Apache License 2.0\n",
            "core/api.py": API,
            "core/util.py": UTIL,
            "core/huge.txt": "a line of text\n" * 2000,
            "sharding/shard.py": "SHARDS = 4\n",
            "docs/guide.md": "How to run it.\n",
        }
    )
    write_bytes(repo, "core/logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)))
    repo.commit({}, "a logo")
    return repo


def scan(submission):
    """Scan the submission's commit now (fetching the mirror), as the worker would."""
    run = scan_request(
        repository=submission.repository, commit=submission.commit,
        component=submission.component, force=True,
    )  # fmt: skip
    return scan_execute(scan_id=run.pk)


@pytest.fixture
def reviewed(world, code_repo, settings):
    """A submission whose commit was scanned (so the mirror holds it) with one finding."""
    settings.GATEHOUSE_CODE_VIEW_MAX_BYTES = 10_000
    ScanPolicy.objects.create(pk=1, internal_domains=["corp.example-internal.net"])
    submission = submit(world, code_repo)
    assert scan(submission).status == "done"
    assert Finding.objects.filter(scan__commit=submission.commit, path="core/api.py").exists()
    return submission


def client_for(client, user):
    client.force_login(user)
    return client


def tickets(submission):
    return {t.department.slug: t for t in submission.tickets.select_related("department")}


def mirror_path(repo) -> Path:
    return vcs.mirror_dir_for(Path(settings.GATEHOUSE_MIRRORS_DIR), repo.url)


# --------------------------------------------------------------------------- the tree


def test_public_tree_lists_each_file_with_its_fate_size_and_findings(client, world, reviewed):
    page = client_for(client, world.reviewers["security"]).get(
        reverse("reviews:submission-tree", args=[reviewed.pk])
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-path="core/api.py" data-fate="published"' in body
    assert 'data-path="sharding/shard.py" data-fate="internal"' in body
    assert 'data-path="docs/guide.md" data-fate="excluded"' in body
    assert "Kept internal (sharding/**)" in body
    # Counts per fate: 6 published (README, LICENSE, four under core/), 1 internal, 1 left out.
    counts = re.findall(r'<tr data-fate="(\w+)"><td>.*?</td><td>(\d+)</td>', body)
    assert dict(counts) == {"published": "6", "internal": "1", "excluded": "1"}
    # The internal hostname is a finding on line 3 of core/api.py, linked to that line.
    link = reverse("reviews:submission-file", args=[reviewed.pk]) + "?path=core/api.py#L3"
    assert link in body.replace("%2F", "/")
    assert "style=" not in body


def test_tree_filter_keeps_exported_files_with_findings(client, world, reviewed):
    page = client_for(client, world.reviewers["security"]).get(
        reverse("reviews:submission-tree", args=[reviewed.pk]), {"filter": "findings"}
    )
    body = page.content.decode()
    assert 'data-path="core/api.py"' in body
    assert 'data-path="README.md"' not in body
    assert 'data-path="sharding/shard.py"' not in body


def test_submission_ticket_and_release_pages_summarise_and_link_the_tree(client, world, reviewed):
    reviewer = client_for(client, world.reviewers["security"])
    ticket = tickets(reviewed)["security"]
    tree = reverse("reviews:submission-tree", args=[reviewed.pk])
    for url in (reviewed.get_absolute_url(), ticket.get_absolute_url()):
        body = reviewer.get(url).content.decode()
        assert 'data-testid="export-summary"' in body
        assert tree in body
        assert "6 published" in body and "1 kept internal" in body
    from releases.services import release_create

    release = release_create(
        component=reviewed.component, actor=world.alice, version="1.0.0", commit=reviewed.commit
    )
    body = client_for(client, world.alice).get(release.get_absolute_url()).content.decode()
    assert 'data-testid="export-summary"' in body and tree in body


# --------------------------------------------------------------------------- one file


def test_file_view_numbers_highlights_and_annotates_lines(client, world, reviewed):
    page = client_for(client, world.reviewers["security"]).get(
        reverse("reviews:submission-file", args=[reviewed.pk]), {"path": "core/api.py"}
    )
    body = page.content.decode()
    assert page.status_code == 200
    for n in range(1, 8):
        assert f'<tr id="L{n}"' in body and f'href="#L{n}"' in body
    assert '<tr id="L8"' not in body
    # Pygments classes, no inline styles (the CSP forbids them).
    assert '<span class="kn">import</span>' in body
    assert "style=" not in body
    assert 'data-testid="annotation" data-line="3"' in body
    assert "reviews/code.css" in body


def test_binary_and_oversized_files_say_so(client, world, reviewed):
    reviewer = client_for(client, world.reviewers["security"])
    url = reverse("reviews:submission-file", args=[reviewed.pk])
    binary = reviewer.get(url, {"path": "core/logo.png"}).content.decode()
    assert 'data-testid="binary"' in binary and 'data-testid="code"' not in binary
    huge = reviewer.get(url, {"path": "core/huge.txt"}).content.decode()
    assert 'data-testid="too-large"' in huge and "29.3" in huge  # 30,000 bytes


@pytest.mark.parametrize(
    "path", ["nope.py", "core", "../etc/passwd", "/etc/passwd", "core/../README.md", "", "a\0b"]
)
def test_a_path_not_in_the_commit_is_a_404(client, world, reviewed, path):
    page = client_for(client, world.reviewers["security"]).get(
        reverse("reviews:submission-file", args=[reviewed.pk]), {"path": path}
    )
    assert page.status_code == 404


def test_a_finding_links_to_its_line(client, world, reviewed):
    finding = Finding.objects.filter(scan__commit=reviewed.commit, path="core/api.py", line=3)[0]
    reviewer = client_for(client, world.reviewers["security"])
    page = reviewer.get(reverse("reviews:finding-line", args=[finding.pk]))
    assert page.status_code == 302
    assert page["Location"].endswith("?path=core%2Fapi.py#L3")
    scan_page = reviewer.get(reverse("scans:scan", args=[finding.scan_id])).content.decode()
    assert reverse("reviews:finding-line", args=[finding.pk]) in scan_page


def test_code_pages_of_another_teams_submission_are_404(client, world, reviewed):
    outsider = client_for(client, world.bob)
    finding = Finding.objects.filter(scan__commit=reviewed.commit).first()
    for url, params in (
        (reverse("reviews:submission-tree", args=[reviewed.pk]), {}),
        (reverse("reviews:submission-file", args=[reviewed.pk]), {"path": "core/api.py"}),
        (reverse("reviews:submission-diff", args=[reviewed.pk]), {"from": reviewed.commit}),
        (reverse("reviews:finding-line", args=[finding.pk]), {}),
    ):
        page = outsider.get(url, params)
        assert page.status_code == 404, url
        assert b"core/api.py" not in page.content and b"example-internal" not in page.content


# --------------------------------------------------------------------------- changes


def move(world, code_repo, submission, files, message="change", *, scanned=True):
    code_repo.commit(files, message)
    result = submission_refresh(submission=submission, actor=world.alice)
    assert result.moved
    submission.refresh_from_db()
    if scanned:
        scan(submission)
    return result


def test_diff_since_approval_lists_files_hunks_and_fates(client, world, code_repo, reviewed):
    old = reviewed.commit
    approve(tickets(reviewed)["technical"], world.reviewers["technical"])
    code_repo.git("mv", "core/util.py", "core/helpers.py")
    write_bytes(code_repo, "core/logo.png", b"\x89PNG\0\0" + bytes(range(200)))
    move(world, code_repo, reviewed, {"core/api.py": API + "\n\ndef more():\n    return 1\n",
                                      "sharding/shard.py": "SHARDS = 8\n"})  # fmt: skip
    view = client_for(client, world.reviewers["technical"])
    ticket_page = view.get(tickets(reviewed)["technical"].get_absolute_url()).content.decode()
    assert 'data-testid="changes-since-approval"' in ticket_page
    diff_url = reverse("reviews:submission-diff", args=[reviewed.pk])
    assert f"{diff_url}?from={old}" in ticket_page

    body = view.get(diff_url, {"from": old}).content.decode()
    assert 'data-path="core/helpers.py" data-status="renamed" data-fate="published"' in body
    assert "core/util.py → core/helpers.py" in body
    assert 'data-path="core/api.py" data-status="modified" data-fate="published"' in body
    assert 'data-path="sharding/shard.py" data-status="modified" data-fate="internal"' in body
    assert 'data-path="core/logo.png" data-status="modified"' in body
    assert 'data-testid="binary"' in body
    assert "def more():" in body and "@@ -" in body
    assert 'data-testid="force-push"' not in body

    submission_page = view.get(reviewed.get_absolute_url()).content.decode()
    assert 'data-testid="commit-moves"' in submission_page
    assert f"{diff_url}?from={old}&amp;to={reviewed.commit}" in submission_page


def test_diff_across_a_force_push_and_after_the_old_commit_is_gone(
    client, world, code_repo, reviewed
):
    old = reviewed.commit
    code_repo.git("reset", "-q", "--hard", "HEAD~1")  # drop the logo commit
    move(world, code_repo, reviewed, {"core/api.py": "x = 3\n"}, "rewritten")
    view = client_for(client, world.reviewers["security"])
    url = reverse("reviews:submission-diff", args=[reviewed.pk])
    body = view.get(url, {"from": old}).content.decode()
    assert 'data-testid="force-push"' in body
    assert 'data-path="core/logo.png" data-status="deleted"' in body

    mirror = mirror_path(code_repo)
    for args in (["reflog", "expire", "--expire=now", "--all"], ["gc", "-q", "--prune=now"]):
        subprocess.run(["git", f"--git-dir={mirror}", *args], check=True)
    gone = view.get(url, {"from": old})
    assert gone.status_code == 400
    assert b"no longer in the repository" in gone.content


@pytest.mark.parametrize("sha", ["", "abc", "G" * 40, "--output=/tmp/x", "1" * 64, "0" * 40])
def test_a_bad_or_unknown_from_commit_is_a_400_with_the_reason(client, world, reviewed, sha):
    page = client_for(client, world.reviewers["security"]).get(
        reverse("reviews:submission-diff", args=[reviewed.pk]), {"from": sha}
    )
    assert page.status_code == 400
    assert b'data-testid="code-unavailable"' in page.content


def test_a_commit_not_fetched_yet_says_so(client, world, code_repo):
    submission = submit(world, code_repo)  # scans off: no mirror
    page = client_for(client, world.reviewers["security"]).get(
        reverse("reviews:submission-tree", args=[submission.pk])
    )
    assert page.status_code == 200 and b"first scan" in page.content


# --------------------------------------------------------------------------- carry forward


def approve_all(world, submission):
    for slug, ticket in tickets(submission).items():
        approve(ticket, world.reviewers[slug])


def test_approvals_go_stale_on_any_change_by_default(world, code_repo, reviewed):
    approve_all(world, reviewed)
    result = move(world, code_repo, reviewed, {"docs/guide.md": "Updated.\n"})
    assert result.stale_signoffs == 4
    assert not AuditEvent.objects.filter(action="signoff.carried_forward").exists()
    assert set(reviewed.tickets.values_list("state", flat=True)) == {TicketState.OPEN}


def test_a_department_carries_approvals_over_a_change_to_unexported_files(
    world, code_repo, reviewed
):
    Department.objects.filter(slug="legal").update(carry_forward_unexported=True)
    approve_all(world, reviewed)
    old = reviewed.commit
    legal_before = SignOff.objects.get(ticket__department__slug="legal")
    result = move(world, code_repo, reviewed, {"docs/guide.md": "Updated.\n",
                                               "sharding/shard.py": "SHARDS = 9\n"},
                  scanned=False)  # fmt: skip
    assert result.stale_signoffs == 3
    carried = SignOff.objects.get(ticket__department__slug="legal", status=SignOffStatus.CURRENT)
    assert carried.commit == reviewed.commit and carried.reviewer == legal_before.reviewer
    assert carried.answers.count() == legal_before.answers.count() > 0
    legal_before.refresh_from_db()
    assert legal_before.status == SignOffStatus.SUPERSEDED
    event = AuditEvent.objects.get(action="signoff.carried_forward")
    assert event.object_id == str(carried.pk)
    assert event.before == {"signoff": legal_before.pk, "commit": old}
    assert event.after["commit"] == reviewed.commit
    states = {t.department.slug: t.state for t in reviewed.tickets.select_related("department")}
    assert states["legal"] == TicketState.APPROVED
    assert states["technical"] == TicketState.OPEN
    reviewed.refresh_from_db()
    assert reviewed.state == SubmissionState.IN_REVIEW

    # The gates see one current approval on the new commit and no stale one for legal.
    from releases.selectors import _review_state

    review = _review_state(reviewed.component, reviewed.commit)
    legal = next(d for d in review.departments if d.name == "Legal")
    assert legal.approvers == (legal_before.reviewer.username,) and legal.stale == 0


def test_every_department_carrying_keeps_the_submission_approved(world, code_repo, reviewed):
    Department.objects.update(carry_forward_unexported=True)
    approve_all(world, reviewed)
    reviewed.refresh_from_db()
    assert reviewed.state == SubmissionState.APPROVED
    result = move(world, code_repo, reviewed, {"docs/guide.md": "Updated.\n"})
    assert result.stale_signoffs == 0
    assert reviewed.state == SubmissionState.APPROVED
    assert AuditEvent.objects.filter(action="signoff.carried_forward").count() == 4


@pytest.mark.parametrize(
    "files",
    [
        {"core/api.py": "x = 2\n"},  # an exported file changed
        {"docs/guide.md": "Updated.\n", "core/new.py": "y = 1\n"},  # one added
    ],
)
def test_a_change_to_an_exported_file_carries_nothing(world, code_repo, reviewed, files):
    Department.objects.update(carry_forward_unexported=True)
    approve_all(world, reviewed)
    result = move(world, code_repo, reviewed, files)
    assert result.stale_signoffs == 4
    assert not AuditEvent.objects.filter(action="signoff.carried_forward").exists()


def test_removing_an_exported_file_carries_nothing(world, code_repo, reviewed):
    Department.objects.update(carry_forward_unexported=True)
    approve_all(world, reviewed)
    code_repo.git("rm", "-q", "core/util.py")
    result = move(world, code_repo, reviewed, {})
    assert result.stale_signoffs == 4


# --------------------------------------------------------------------------- query counts


def grown(world, make_repo, slug: str, n: int):
    """A scanned submission with ``n`` extra published files, each with a finding, moved
    once (so there is a diff)."""
    repo = make_repo({"README.md": "# demo\n", "core/api.py": API, "sharding/s.py": "S = 1\n"})
    repo.commit(
        {f"core/gen/mod_{i}.py": f"HOST_{i} = 'https://h{i}.corp.example-internal.net'\n"
         for i in range(n)},
        f"{n} more files",
    )  # fmt: skip
    submission = submit(world, repo, slug=slug)
    scan(submission)
    old = submission.commit
    move(world, repo, submission, {f"core/gen/mod_{i}.py": "changed = 1\n" for i in range(n)})
    return submission, old


def test_code_pages_query_count_does_not_grow_with_files_or_findings(
    client, world, make_repo, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ScanPolicy.objects.create(pk=1, internal_domains=["corp.example-internal.net"])
    reviewer = client_for(client, world.reviewers["security"])
    measured = {}
    for n, slug in ((3, "small"), (60, "large")):
        submission, old = grown(world, make_repo, slug, n)
        assert Finding.objects.filter(scan__commit=submission.commit,
                                      path__startswith="core/gen/").count() >= n  # fmt: skip
        pages = {
            "tree": (reverse("reviews:submission-tree", args=[submission.pk]), {}),
            "tree?filter": (
                reverse("reviews:submission-tree", args=[submission.pk]),
                {"filter": "findings"},
            ),  # fmt: skip
            "file": (
                reverse("reviews:submission-file", args=[submission.pk]),
                {"path": "core/gen/mod_0.py"},
            ),  # fmt: skip
            "diff": (reverse("reviews:submission-diff", args=[submission.pk]), {"from": old}),
            "ticket": (tickets(submission)["security"].get_absolute_url(), {}),
            "submission": (submission.get_absolute_url(), {}),
            "api tree": (f"/api/submissions/{submission.pk}/tree/", {"limit": 500}),
            "api diff": (f"/api/submissions/{submission.pk}/diff/", {"from": old}),
        }
        for name, (url, params) in pages.items():
            reviewer.get(url, params)  # warm: the first request of a session loads more
            # The larger portfolio may ask no more queries than the small one did.
            limit = measured[name][0] if name in measured else 1000
            with django_assert_max_num_queries(limit), CaptureQueriesContext(connection) as q:
                answer = reviewer.get(url, params)
            assert answer.status_code == 200, (name, answer.content[:300])
            measured.setdefault(name, []).append(len(q))
    print("queries per page (3 files, 60 files):", measured)
