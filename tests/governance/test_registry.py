"""Repositories have owners. Performed as an ordinary engineer would: through the API and
the pages, with real repositories, a real database. Attack 1 (read another team's secrets
by submitting their repository), attack 2 (push a back-port into another team's internal
repository) and attack 4 (publish into another component's public repository)."""

from __future__ import annotations

import os
import subprocess

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.models import AuditEvent
from governance.models import Component, Repository
from governance.repositories import TAKEN, repository_reassign, repository_unbind
from reviews.models import Submission
from reviews.services import (
    component_set_external,
    submission_create,
    submission_refresh,
    submission_withdraw,
)
from scans.models import Finding, ScanRun
from tests.conftest import submit

SECRET = 'DB_PASSWORD = "Vq3!mR8#zT2pL9wK"\nHOST = "db1.corp.example.internal"\n'


@pytest.fixture
def team_x(world, make_repo, scan_on_submit, django_capture_on_commit_callbacks):
    """Bob's component, submitted and scanned: its findings name a password."""
    repo = make_repo({"README.md": "# x\n", "core/settings.py": SECRET})
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(world, repo, actor=world.bob, slug="team-x")
    assert Finding.objects.filter(scan__component=submission.component, kind="secret").exists()
    return repo, submission


def _nothing_of(text: str, component) -> None:
    assert component.slug not in text and component.name not in text


def aliases(repo) -> list[str]:
    path = str(repo.path)
    link = repo.path.parent / "alias"
    if not link.exists():
        os.symlink(repo.path, link)
    return [repo.url, f"file://{path}/", f"file://{path}/.git", f"file://{link}"]


def test_another_teams_repository_cannot_be_submitted_under_any_spelling(
    world, team_x, api, scan_on_submit
):
    repo, theirs = team_x
    client = api(world.alice)
    assert client.post("/api/components/", {"name": "Mine", "slug": "mine", "license": "MIT",
                                            "open_paths": ["**"]}).status_code == 201  # fmt: skip
    scans_before, submissions_before = ScanRun.objects.count(), Submission.objects.count()
    for url in aliases(repo):
        response = client.post("/api/submissions/", {
            "component": "mine", "repository_url": url, "branch": "main",
            "justification": "Looks handy.",
        })  # fmt: skip
        assert response.status_code == 400, url
        assert response.json() == {"repository_url": [TAKEN]}
        _nothing_of(response.content.decode(), theirs.component)
    assert (ScanRun.objects.count(), Submission.objects.count()) == (
        scans_before,
        submissions_before,
    )
    # Nothing of X is readable to alice, whichever way she asks.
    assert client.get("/api/scans/").json()["count"] == 0
    assert client.get("/api/findings/").json()["count"] == 0
    secret = Finding.objects.filter(kind="secret").first()
    assert client.get(f"/api/findings/{secret.pk}/").status_code == 404


def test_the_submit_page_refuses_it_and_creates_no_component(world, team_x, client):
    repo, theirs = team_x
    client.force_login(world.alice)
    components = Component.objects.count()
    response = client.post("/submit/", {
        "name": "Copy of X", "slug": "copy-x", "license": "MIT", "repository_url": repo.url,
        "branch": "main", "justification": "Mine now.",
    })  # fmt: skip
    assert response.status_code == 400
    page = response.content.decode()
    assert "already registered in Gatehouse for another component" in page
    _nothing_of(page, theirs.component)
    assert Component.objects.count() == components  # the half-made component rolled back


def test_a_repository_of_its_own_can_be_submitted_again_by_its_component(world, team_x):
    repo, theirs = team_x
    submission_withdraw(submission=theirs, actor=world.bob, reason="Start over.")
    again = submission_create(
        actor=world.bob, component=theirs.component, repository_url=f"file://{repo.path}/",
        branch="main", justification="Again.",
    ).submission  # fmt: skip
    assert again.repository_id == theirs.repository_id  # the alias is the same repository


def test_another_teams_repository_cannot_become_your_external_destination(
    world, team_x, make_repo, external_repo
):
    """Attack 2's first step: make X's internal repository the place you sync and
    back-port against, or publish into."""
    repo, theirs = team_x
    mine = submit(world, make_repo(), actor=world.alice, slug="mine").component
    with pytest.raises(ValidationError) as caught:
        component_set_external(component=mine, actor=world.alice, url=repo.url)
    assert caught.value.message_dict == {"external_url": [TAKEN]}
    mine.refresh_from_db()
    assert mine.external_repository is None


@pytest.fixture
def external_repo(tmp_path_factory):
    def make(name: str) -> str:
        path = tmp_path_factory.mktemp("ext") / f"{name}.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
        return f"file://{path}"

    return make


def test_publishing_into_another_components_public_repository_is_refused(
    world, make_repo, external_repo, api
):
    """Attack 4: point your external repository at someone else's and publish into it."""
    theirs = submit(world, make_repo(), actor=world.bob, slug="theirs").component
    public = external_repo("theirs-public")
    component_set_external(component=theirs, actor=world.bob, url=public)
    mine = submit(world, make_repo(), actor=world.alice, slug="mine").component
    for spelling in [public, public + "/", public.removesuffix(".git")]:
        with pytest.raises(ValidationError) as caught:
            component_set_external(component=mine, actor=world.alice, url=spelling)
        assert caught.value.message_dict == {"external_url": [TAKEN]}
    # Through the API too, with nothing written.
    before = AuditEvent.objects.count()
    answer = api(world.alice).patch(
        "/api/components/mine/scope/", {"external_repository": public}, format="json"
    )
    assert answer.status_code == 400 and answer.json() == {"external_url": [TAKEN]}
    assert AuditEvent.objects.count() == before


def test_the_office_reassigns_a_squatted_repository_and_the_squatter_loses_it(
    world, make_repo, scan_on_submit, django_capture_on_commit_callbacks, api
):
    """Alice registered X's repository before X's team did: the office gives it back."""
    repo = make_repo({"README.md": "# x\n", "core/settings.py": SECRET})
    with django_capture_on_commit_callbacks(execute=True):
        squat = submit(world, repo, actor=world.alice, slug="squat")
    rightful = submit(world, make_repo(), actor=world.bob, slug="team-x").component
    repository = Repository.objects.get(pk=squat.repository_id)
    with pytest.raises(PermissionDenied):
        repository_reassign(repository=repository, component=rightful, role="internal",
                            actor=world.alice, reason="mine")  # fmt: skip
    with pytest.raises(ValidationError, match="Say why"):
        repository_reassign(repository=repository, component=rightful, role="internal",
                            actor=world.admin, reason="")  # fmt: skip
    repository_reassign(repository=repository, component=rightful, role="internal",
                        actor=world.admin, reason="Belongs to team X.")  # fmt: skip
    rightful.refresh_from_db()
    assert rightful.internal_repository_id == repository.pk
    assert Component.objects.get(slug="squat").internal_repository is None
    # The squatter's submission reaches the repository no more, and its scans are hidden.
    with pytest.raises(ValidationError, match="no longer registered"):
        submission_refresh(submission=squat, actor=world.alice)
    client = api(world.alice)
    scans = ScanRun.objects.count()
    rescan = client.post(f"/api/submissions/{squat.pk}/scan/")
    assert rescan.status_code == 400 and "no longer registered" in str(rescan.json())
    assert ScanRun.objects.count() == scans
    assert client.get("/api/scans/").json()["count"] == 0
    assert client.get("/api/findings/").json()["count"] == 0
    actions = list(AuditEvent.objects.filter(object_type="governance.repository")
                   .values_list("action", flat=True))  # fmt: skip
    assert actions[-2:] == ["repository.unbound", "repository.bound"]


def test_only_the_office_sees_and_changes_the_registry(world, team_x, api, client):
    repo, theirs = team_x
    assert api(world.alice).get("/api/repositories/").status_code == 403
    repository = theirs.repository
    refused = api(world.alice).post(f"/api/repositories/{repository.pk}/change/",
                                    {"reason": "mine"}, format="json")  # fmt: skip
    assert refused.status_code == 403
    listed = api(world.admin).get("/api/repositories/").json()
    assert [(r["component"], r["role"]) for r in listed["results"]] == [("team-x", "internal")]
    client.force_login(world.alice)
    assert client.get("/repositories/").status_code == 403
    client.force_login(world.admin)
    page = client.get("/repositories/").content.decode()
    assert repository.url in page and "Team X" in page
    unbound = api(world.admin).post(f"/api/repositories/{repository.pk}/change/",
                                    {"reason": "Audit."}, format="json")  # fmt: skip
    assert unbound.status_code == 200 and unbound.json()["component"] is None
    theirs.component.refresh_from_db()
    assert theirs.component.internal_repository is None
    repository_unbind(repository=repository, actor=world.admin, reason="again")  # idempotent
