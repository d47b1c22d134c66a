"""What was reviewed stays what is published: the license, the Open Core boundary, the
prefix mapping and the destination are approved with the commit. Changing any of them
after the sign-offs makes them stale, reopens the review, shows what changed and is
audited -- through the API and the pages, as an owner would; and the reviews gate holds
even against a change that went around the service."""

from __future__ import annotations

import subprocess

import pytest

from core.models import AuditEvent
from governance.models import Component
from releases.models import Release
from reviews.models import ReviewTicket, SignOff, Submission
from tests.releases.conftest import SYNC_FILES


@pytest.fixture
def bare(tmp_path_factory):
    def make(name: str) -> str:
        path = tmp_path_factory.mktemp("ext") / f"{name}.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
        return f"file://{path}"

    return make


@pytest.fixture
def released(approved, bare, django_capture_on_commit_callbacks):
    """Approved with a destination, a ready release."""
    state = approved(SYNC_FILES, external=bare("first"))
    from releases.sync import component_sync

    with django_capture_on_commit_callbacks(execute=True):
        component_sync(component_id=state.component.pk)
        release = state.release()
    assert release.state == "ready", release.blocking_gates
    return state, release


CHANGES = [
    {"open_paths": ["core/**"]},
    {"internal_paths": ["sharding/**", "core/secret/**"]},
    {"export_from_prefix": "core/", "export_to_prefix": "src/"},
    {"external_branch": "stable"},
    {"license": "MIT"},
]


@pytest.mark.parametrize("change", CHANGES, ids=lambda c: ",".join(c))
def test_any_change_after_approval_reopens_the_review(
    released, api, change, django_capture_on_commit_callbacks
):
    state, release = released
    with django_capture_on_commit_callbacks(execute=True):
        response = api(state.world.alice).patch(
            f"/api/components/{state.component.slug}/scope/", change, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["stale_signoffs"] == 4
    submission = Submission.objects.get(pk=state.submission.pk)
    assert submission.state == "in_review"
    assert Component.objects.get(pk=state.component.pk).stage == "in_review"
    assert not SignOff.objects.filter(ticket__submission=submission, status="current").exists()
    assert set(
        ReviewTicket.objects.filter(submission=submission).values_list("state", flat=True)
    ) == {"open"}
    key = next(iter(change))
    assert submission.scope[key] != submission.previous_scope[key]
    event = AuditEvent.objects.filter(action="component.scope_changed").last()
    assert event.actor == state.world.alice and key in event.before and key in event.after
    # One when the destination was first set (before the reviews), one now.
    assert AuditEvent.objects.filter(action="submission.scope_changed").count() == 2
    release = Release.objects.get(pk=release.pk)
    assert release.state == "blocked"
    assert "reviews" in {g["gate"] for g in release.blocking_gates}


def test_the_destination_moved_after_approval_reopens_and_shows_before_and_after(
    released, bare, client, django_capture_on_commit_callbacks
):
    """Attack 4's other half: a destination changed after approval is reviewed again."""
    state, release = released
    before = state.component.external_repository.url
    elsewhere = bare("elsewhere")
    from reviews.services import component_set_external

    with django_capture_on_commit_callbacks(execute=True):
        stale = component_set_external(
            component=state.component, actor=state.world.alice, url=elsewhere
        )
    assert stale == 4
    ticket = ReviewTicket.objects.get(submission=state.submission, department__slug="legal")
    client.force_login(state.world.reviewers["legal"])
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert 'data-testid="scope-changed"' in page
    assert before in page and elsewhere in page
    # The publish button is gone with the readiness: nothing goes out unreviewed.
    release.refresh_from_db()
    assert release.state == "blocked"


def test_saving_the_same_scope_changes_nothing(released, api):
    state, _ = released
    events = AuditEvent.objects.count()
    scope = api(state.world.alice).get(f"/api/components/{state.component.slug}/scope/").json()
    same = {
        "license": scope["scope"]["license"],
        "open_paths": scope["scope"]["open_paths"],
        "external_repository": scope["scope"]["external_repository"],
    }
    response = api(state.world.alice).patch(
        f"/api/components/{state.component.slug}/scope/", same, format="json"
    )
    assert response.status_code == 200 and response.json()["stale_signoffs"] == 0
    assert AuditEvent.objects.count() == events
    assert Submission.objects.get(pk=state.submission.pk).state == "approved"


def test_only_owners_and_admins_change_the_scope_and_bad_input_writes_nothing(released, api):
    state, _ = released
    url = f"/api/components/{state.component.slug}/scope/"
    events = AuditEvent.objects.count()
    assert (
        api(state.world.reviewers["legal"])
        .patch(url, {"license": "MIT"}, format="json")
        .status_code
        == 403
    )
    assert api(state.world.bob).patch(url, {"license": "MIT"}, format="json").status_code == 404
    bad = api(state.world.alice).patch(
        url, {"license": "MIT", "open_paths": ["../etc/**"]}, format="json"
    )
    assert bad.status_code == 400 and "open_paths" in bad.json()
    assert AuditEvent.objects.count() == events
    assert Component.objects.get(pk=state.component.pk).license == "Apache-2.0"


def test_the_reviews_gate_holds_against_a_change_around_the_service(released):
    """Someone edits the boundary straight in the database: the approvals were made on
    another scope, and the gate says so."""
    state, release = released
    Component.objects.filter(pk=state.component.pk).update(open_paths=["**"])
    from releases.services import release_evaluate

    release = release_evaluate(release_id=release.pk, trigger="test")
    reviews = next(g for g in release.gates if g["gate"] == "reviews")
    assert reviews["status"] == "blocked"
    assert "made before the license, paths or destination changed" in reviews["reason"]
