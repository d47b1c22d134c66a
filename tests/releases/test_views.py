"""The release pages, the roles form and the portfolio, through the test client."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import ComponentRole
from releases.enums import ReleaseState
from releases.models import Release, Waiver
from tests.conftest import PASSWORD, submit
from tests.releases.conftest import CLEAN_FILES


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_release_form_creates_and_shows_the_gates(client, approved):
    state = approved({k: v for k, v in CLEAN_FILES.items() if k != "SECURITY.md"})
    login(client, state.world.alice)
    url = reverse("releases:release-create", args=[state.component.slug])
    bad = client.post(url, {"version": "1.0", "commit": ""})
    assert bad.status_code == 400
    assert "is not a semantic version" in bad.content.decode()
    assert not Release.objects.exists()
    response = client.post(url, {"version": "1.0.0", "commit": "", "notes": "First."}, follow=True)
    release = Release.objects.get()
    assert response.redirect_chain[-1][0] == release.get_absolute_url()
    page = response.content.decode()
    assert "Path to ready" in page
    assert "Missing community files: SECURITY." in page
    assert release.state == ReleaseState.BLOCKED


def test_strangers_cannot_create_releases_or_see_them(client, approved):
    state = approved()
    release = state.release()
    login(client, state.world.bob)
    assert (
        client.get(reverse("releases:release-create", args=[state.component.slug])).status_code
        == 404
    )
    assert client.get(release.get_absolute_url()).status_code == 404


def test_admin_grants_a_gate_waiver_from_the_release_page(
    client, approved, django_capture_on_commit_callbacks
):
    state = approved({k: v for k, v in CLEAN_FILES.items() if k != "SECURITY.md"})
    release = state.release()
    login(client, state.world.admin)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "Grant a waiver" in page
    url = reverse("releases:waiver-create", args=[release.pk])
    expires = (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    bad = client.post(url, {"gate": "community", "reason": "", "owner": state.world.alice.pk,
                            "expires_at": expires})  # fmt: skip
    assert bad.status_code == 400 and not Waiver.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        good = client.post(url, {"gate": "community", "reason": "Policy next week.",
                                 "owner": state.world.alice.pk, "expires_at": expires})  # fmt: skip
    assert good.status_code == 302, good.content.decode()[-3000:]
    release.refresh_from_db()
    assert release.state == ReleaseState.READY
    login(client, state.world.alice)
    assert "Grant a waiver" not in client.get(release.get_absolute_url()).content.decode()
    assert client.post(url, {"gate": "community", "reason": "x", "owner": state.world.alice.pk,
                             "expires_at": expires}).status_code == 403  # fmt: skip


def test_pmc_member_sets_roles_on_the_component_page(client, approved):
    state = approved()
    url = reverse("governance:component-roles", args=[state.component.slug])
    login(client, state.world.bob)
    assert client.post(url, {"username": "alice", "role": "committer"}).status_code == 404
    login(client, state.world.alice)  # an owner, not a PMC member
    assert client.post(url, {"username": "alice", "role": "committer"}).status_code == 403
    login(client, state.pmc)  # named PMC member: may see the component and manage roles
    bad = client.post(url, {"username": "nobody", "role": "committer"})
    assert bad.status_code == 400 and "No active user" in bad.content.decode()
    client.post(url, {"username": "alice", "role": "committer"})
    assert ComponentRole.objects.get(user=state.world.alice).role == "committer"
    page = client.get(state.component.get_absolute_url()).content.decode()
    assert "Committer" in page and 'data-testid="role-form"' in page


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_portfolio_rows_counters_filters_and_constant_queries(client, world, make_repo):
    login(client, world.admin)
    for i in range(2):
        submit(world, make_repo(), slug=f"small-{i}")
    urls = [
        reverse("home"),
        reverse("home") + "?waiting_on=legal&sort=-updated",
        reverse("home") + "?blocked=1",
        reverse("home") + "?q=small&stage=in_review",
    ]
    [_queries(client, url) for url in urls]
    small = [_queries(client, url) for url in urls]
    for i in range(6):
        submit(world, make_repo(), slug=f"large-{i}")
    large = [_queries(client, url) for url in urls]
    assert small == large
    page = client.get(reverse("home")).content.decode()
    assert page.count('data-component="') == 8
    assert 'data-department="legal"' in page and "chip-pending" in page
    assert (
        client.get(reverse("home") + "?q=large-3").content.decode().count('data-component="') == 1
    )
    filtered = client.get(reverse("home") + "?blocked=1").content.decode()
    assert "No component matches." in filtered


def test_portfolio_shows_only_what_the_user_may_see(client, world, make_repo):
    submit(world, make_repo(), slug="alices")
    submit(world, make_repo(), slug="bobs", actor=world.bob)
    page = login(client, world.alice).get(reverse("home")).content.decode()
    assert 'data-component="alices"' in page and 'data-component="bobs"' not in page


def test_release_and_component_pages_query_count_does_not_grow(client, approved):
    state = approved()
    release = state.release()
    login(client, state.world.admin)
    urls = [release.get_absolute_url(), reverse("releases:component-releases",
                                                 args=[state.component.slug])]  # fmt: skip
    [_queries(client, u) for u in urls]
    small = [_queries(client, u) for u in urls]
    for i in range(5):
        state.release(f"1.0.{i + 1}")
    from releases.services import release_evaluate

    for _ in range(3):
        release_evaluate(release_id=release.pk, trigger=f"t{_}")
    large = [_queries(client, u) for u in urls]
    assert small == large


def test_gate_policy_admin_refuses_unknown_gates(client, world):
    login(client, world.admin)
    url = reverse("admin:releases_gatepolicy_add")
    bad = client.post(url, {"component": "", "gates": '["reviews", "vibes"]'})
    assert bad.status_code == 200 and "Unknown gate(s): vibes" in bad.content.decode()
    from releases.models import GatePolicy

    assert not GatePolicy.objects.exists()
    client.post(url, {"component": "", "gates": '["reviews", "scan"]'})
    assert GatePolicy.objects.get().gates == ["reviews", "scan"]
