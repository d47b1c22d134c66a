"""The gates judge what will be published: the export plan of the release's commit (the
same plan publishing builds), not the repository. Community files and the LICENSE must be
in the published tree; an internal reference or a denied license blocks when its file is
published, whatever the scan's scope said; a secret blocks wherever it is. A release's
commit must exist on the reviewed branch; the external repository is checked when saved;
an empty open scope is refused; every change of the scope is judged again at once."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from governance.services import ComponentDraft, component_create
from releases.enums import ReleaseState
from releases.services import release_create
from reviews.services import component_scope_update, component_set_external
from tests.conftest import OPEN_PATHS
from tests.releases.conftest import CLEAN_FILES, external_files
from tests.tokens import github_token

pytestmark = pytest.mark.django_db

INTERFACE_ONLY = ["core/**", "api/**"]


def gate(release, key):
    release.refresh_from_db()
    return next(g for g in release.gates if g["gate"] == key)


def test_community_files_outside_the_open_scope_do_not_count(approved):
    release = approved(CLEAN_FILES, open_paths=INTERFACE_ONLY).release()
    community = gate(release, "community")
    assert community["status"] == "blocked"
    assert community["reason"].startswith(
        "Missing community files: README, LICENSE, CONTRIBUTING, CODE_OF_CONDUCT, SECURITY."
    )
    assert "in the repository but not published: add it to the open paths" in community["reason"]
    licensing = gate(release, "licensing")
    assert licensing["status"] == "blocked"
    assert (
        "no LICENSE file with a recognised license at the top of the published tree"
        in (licensing["reason"])
    )
    assert release.state == ReleaseState.BLOCKED


def test_a_prefix_mapping_publishes_the_community_files_at_the_top(approved, empty_remote):
    files = {f"pkg/{name}": text for name, text in CLEAN_FILES.items()}
    files["README.md"] = "# the internal monorepo\n"  # never published: outside pkg/
    state = approved(files, open_paths=["pkg/**"], external=empty_remote("mq"), from_prefix="pkg/")
    release = state.release()
    assert gate(release, "community")["status"] == "pass"
    assert gate(release, "licensing")["status"] == "pass", gate(release, "licensing")
    assert gate(release, "scan")["status"] == "pass"


def test_publishing_sends_exactly_the_files_the_gates_judged(ready):
    from tests.releases.conftest import SYNC_FILES

    p = ready(SYNC_FILES)
    assert p.release.state == ReleaseState.READY, p.release.blocking_gates
    published = {path for path, _ in p.release.component.export_plan(_tree(p)).pairs()}
    p.publish()
    assert external_files(p.external) == published


def _tree(p):
    from scans.services import commit_tree_entries

    return commit_tree_entries(p.release.component, p.release.commit)


INTERNAL_HOST = 'PEERS = ["wiki.corp.example-internal.net"]\n'


def test_an_internal_reference_blocks_only_when_its_file_is_published(
    approved, django_capture_on_commit_callbacks
):
    files = {**CLEAN_FILES, "tools/deploy.py": INTERNAL_HOST, "sharding/router.py": INTERNAL_HOST}
    state = approved(files)
    release = state.release()
    # tools/ is outside the open scope and sharding/ internal: neither is published.
    assert gate(release, "scan")["status"] == "pass", gate(release, "scan")
    # The owner widens the open scope to tools/: the finding the scan judged harmless
    # (outside the scope then) is published now, and blocks without a rescan.
    with django_capture_on_commit_callbacks(execute=True):
        component_scope_update(
            component=state.component, actor=state.world.alice,
            open_paths=[*OPEN_PATHS, "tools/**"],
        )  # fmt: skip
    scan = gate(release, "scan")
    assert scan["status"] == "blocked"
    assert "internal reference" in scan["reason"]
    assert any("tools/deploy.py" in e["label"] for e in scan["evidence"])


GPL = "# SPDX-License-Identifier: GPL-3.0-only\nx = 1\n"


def test_a_denied_license_outside_the_published_tree_does_not_block(approved):
    assert (
        gate(approved({**CLEAN_FILES, "tools/gpl.py": GPL}).release(), "licensing")["status"]
        == "pass"
    )


def test_a_denied_license_in_a_published_file_blocks(approved):
    blocked = gate(approved({**CLEAN_FILES, "core/gpl.py": GPL}).release(), "licensing")
    assert blocked["status"] == "blocked" and "denied license" in blocked["reason"]


def test_a_secret_blocks_wherever_it_is(approved):
    files = {**CLEAN_FILES, "sharding/settings.py": f'TOKEN = "{github_token("sharding")}"\n'}
    scan = gate(approved(files).release(), "scan")
    assert scan["status"] == "blocked"
    assert "secret" in scan["reason"]


# --------------------------------------------------------------------------- saving


def test_an_empty_open_scope_is_refused_when_saved(world, api, approved):
    with pytest.raises(ValidationError) as caught:
        component_create(
            actor=world.alice, draft=ComponentDraft(name="Empty", slug="empty", license="MIT")
        )
    assert "Name at least one open path" in caught.value.message_dict["open_paths"][0]
    response = api(world.alice).post(
        "/api/components/", {"name": "E", "slug": "e", "license": "MIT"}, format="json"
    )
    assert response.status_code == 400
    assert "nothing would be published" in response.json()["open_paths"][0]
    state = approved()
    response = api(world.alice).patch(
        f"/api/components/{state.component.slug}/scope/", {"open_paths": []}, format="json"
    )
    assert response.status_code == 400, response.json()
    assert "nothing would be published" in response.json()["open_paths"][0]
    state.component.refresh_from_db()
    assert state.component.open_paths == OPEN_PATHS  # nothing written


def test_the_external_repository_is_checked_when_saved(approved, tmp_path, api):
    state = approved()
    missing = f"file://{tmp_path}/nowhere.git"
    with pytest.raises(ValidationError) as caught:
        component_set_external(component=state.component, actor=state.world.alice, url=missing)
    assert "The external repository cannot be read" in caught.value.message_dict["external_url"][0]
    response = api(state.world.alice).patch(
        f"/api/components/{state.component.slug}/scope/",
        {"external_repository": missing},
        format="json",
    )
    assert response.status_code == 400
    assert "cannot be read" in response.json()["external_url"][0]
    state.component.refresh_from_db()
    assert state.component.external_repository is None


def test_setting_the_external_repository_judges_the_release_again(
    approved, empty_remote, django_capture_on_commit_callbacks
):
    state = approved()
    release = state.release()
    assert release.state == ReleaseState.READY, release.blocking_gates
    # No live review to reopen would still leave a stale verdict: the release is judged
    # again on the new destination (the approvals were of another one).
    with django_capture_on_commit_callbacks(execute=True):
        component_set_external(
            component=state.component, actor=state.world.alice, url=empty_remote("mq")
        )
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED
    assert "reviews" in {g["gate"] for g in release.blocking_gates}


# --------------------------------------------------------------------------- the commit


def test_a_release_commit_must_exist_on_the_reviewed_branch(approved, api):
    state = approved()
    with pytest.raises(ValidationError) as caught:
        state.release(commit="0" * 40)
    assert "is not in the internal repository" in caught.value.message_dict["commit"][0]
    repo = state.repo
    repo.git("checkout", "-q", "-b", "elsewhere")
    other = repo.commit({"core/other.py": "y = 2\n"}, "on another branch")
    repo.git("checkout", "-q", "main")
    with pytest.raises(ValidationError) as caught:
        state.release(commit=other)
    assert "is not on the reviewed branch main" in caught.value.message_dict["commit"][0]
    response = api(state.world.alice).post(
        "/api/releases/",
        {"component": state.component.slug, "version": "1.0.0", "commit": "0" * 40},
        format="json",
    )
    assert response.status_code == 400
    assert "not in the internal repository" in response.json()["commit"][0]
    assert not state.component.releases.exists()


def test_the_commits_to_release_are_offered_by_the_form_and_the_api(approved, api, client):
    state = approved()
    repo = state.repo
    repo.git("tag", "v0.9.0", state.submission.commit)
    head = repo.commit({"core/more.py": "z = 3\n"}, "after the review")
    repo.git("tag", "-a", "-m", "beta", "v1.0.0-beta", head)
    repo.git("checkout", "-q", "-b", "fork")
    repo.git("tag", "v-fork", repo.commit({"core/fork.py": "f = 1\n"}, "fork"))
    repo.git("checkout", "-q", "main")
    response = api(state.world.alice).get(
        f"/api/components/{state.component.slug}/release-commits/"
    )
    assert response.status_code == 200
    body = response.json()
    assert body[0] == {
        "commit": state.submission.commit, "label": "approved by the departments",
        "kind": "approved",
    }  # fmt: skip
    assert {"commit": head, "label": "head of main", "kind": "head"} in body
    assert {"commit": head, "label": "tag v1.0.0-beta", "kind": "tag"} not in body  # one row
    labels = [row["label"] for row in body]
    assert "tag v0.9.0" not in labels  # the approved commit's row already
    assert "tag v-fork" not in labels  # not on the reviewed branch
    client.force_login(state.world.alice)
    page = client.get(f"/components/{state.component.slug}/releases/new/").content.decode()
    assert f'value="{head}"' in page and "head of main" in page
    response = client.post(
        f"/components/{state.component.slug}/releases/new/",
        {"version": "1.1.0", "commit": "f" * 40},
    )
    assert response.status_code == 400  # not one of the choices
    assert not state.component.releases.exists()


def test_another_teams_engineer_cannot_list_the_commits(approved, api, world):
    state = approved()
    from tests.conftest import make_user

    response = api(make_user("mallory")).get(
        f"/api/components/{state.component.slug}/release-commits/"
    )
    assert response.status_code == 404


def test_release_create_without_a_commit_takes_the_approved_one(approved):
    state = approved()
    release = release_create(component=state.component, actor=state.world.alice, version="2.0.0")
    assert release.commit == state.submission.commit


def test_a_reviewer_who_sees_the_component_cannot_make_it_fetch_for_commits(approved, api):
    # Listing the commits fetches the internal repository: only those who release may.
    state = approved()
    reviewer = state.world.reviewers["legal"]
    url = f"/api/components/{state.component.slug}/release-commits/"
    assert api(reviewer).get(f"/api/components/{state.component.slug}/scope/").status_code == 200
    assert api(reviewer).get(url).status_code == 403
