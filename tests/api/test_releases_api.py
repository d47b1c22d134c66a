"""Releases, waivers, community roles and the portfolio through the REST API: real
services, real scans of real git repositories; bodies and database rows asserted."""

# The `approved` and `policy` fixtures are imported from tests/releases/conftest.py, which
# pytest does not load for this folder; the tests' parameters then "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import AuditEvent
from governance.models import ComponentRole
from governance.services import ComponentDraft, component_create
from releases.enums import ReleaseState
from releases.models import GateEvaluation, GatePolicy, Release, Waiver
from releases.services import release_create, waiver_grant, waiver_revoke
from reviews.enums import Decision
from reviews.services import signoff_create
from scans.models import Finding, ScanRun
from tests.api.conftest import counts, tickets_by_slug
from tests.api.test_bad_input import ODD_VALUES
from tests.conftest import approve, submit
from tests.releases.conftest import CLEAN_FILES, approved, policy  # noqa: F401

GATE_KEYS = ["reviews", "scan", "licensing", "community", "maintainers", "versions"]
NO_SECURITY = {k: v for k, v in CLEAN_FILES.items() if k != "SECURITY.md"}
INTERNAL_HOST = {"core/hosts.py": 'URL = "https://wiki.corp.example-internal.net/x"\n'}


def gate(body: dict, key: str) -> dict:
    return next(g for g in body["gates"] if g["gate"] == key)


def in_days(days: float) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


# --------------------------------------------------------------------------- releases


def test_owner_creates_a_release_and_gets_its_gates(approved, api):
    state = approved(NO_SECURITY)

    response = api(state.world.alice).post(
        "/api/releases/", {"component": "mq-core", "version": "v1.0.0", "notes": " First. "}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    release = Release.objects.get()
    assert body["id"] == release.pk
    assert body["component"] == "mq-core"
    assert body["version"] == release.version == "1.0.0"
    assert body["commit"] == release.commit == state.submission.commit
    assert body["notes"] == "First."
    assert body["created_by"] == "alice"
    assert body["state"] == release.state == ReleaseState.BLOCKED
    assert [g["gate"] for g in body["gates"]] == GATE_KEYS
    assert set(body["gates"][0]) == {"gate", "title", "status", "reason", "evidence"}
    assert gate(body, "community")["status"] == "blocked"
    assert gate(body, "community")["reason"].startswith("Missing community files: SECURITY.")
    assert gate(body, "reviews")["status"] == "pass"
    assert all(set(e) == {"label", "url"} for g in body["gates"] for e in g["evidence"])
    assert body["gates"] == release.gates
    assert GateEvaluation.objects.get(release=release).trigger == "created"
    assert AuditEvent.objects.filter(action="release.created", object_id=str(release.pk)).exists()
    # The same release, read back.
    detail = api(state.world.alice).get(f"/api/releases/{release.pk}/").json()
    assert detail == body


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"version": "1.0"}, "version", "is not a semantic version"),
        ({"version": "banana"}, "version", "is not a semantic version"),
        ({"version": ""}, "version", "is not a semantic version"),
        ({"version": "1.0.0"}, "version", "already has a release 1.0.0"),
        ({"version": "1." * 40}, "version", "64"),
        ({"version": None}, "version", "null"),
        ({"commit": "abc123"}, "commit", "full 40-character commit"),
        ({"commit": "a" * 41}, "commit", "40"),
        ({"component": "no-such"}, "component", "No such component: 'no-such'."),
        ({"component": "not a slug"}, "component", "Give the component's slug."),
        ({"notes": "\x00"}, "notes", "Null characters"),
    ],
)
def test_bad_release_input_is_400_with_the_field_message_and_writes_nothing(
    approved, api, change, field, fragment
):
    state = approved()
    state.release("1.0.0")
    before = counts(Release, GateEvaluation, AuditEvent)

    response = api(state.world.alice).post(
        "/api/releases/", {"component": "mq-core", "version": "2.0.0", **change}
    )

    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert fragment in " ".join(body[field])
    assert counts(Release, GateEvaluation, AuditEvent) == before


def test_strangers_do_not_see_releases_and_their_component_reads_as_missing(approved, api):
    state = approved()
    release = state.release()
    bob = api(state.world.bob)

    # Naming a component one may not see in a body reads exactly like naming none
    # (as POST /api/submissions/ does); a release one may not see is a 404.
    response = bob.post("/api/releases/", {"component": "mq-core", "version": "2.0.0"})
    assert response.status_code == 400
    assert response.json() == {"component": ["No such component: 'mq-core'."]}
    assert bob.get(f"/api/releases/{release.pk}/").status_code == 404
    assert bob.post(f"/api/releases/{release.pk}/evaluate/").status_code == 404
    assert bob.post(f"/api/releases/{release.pk}/cancel/", {"reason": "x"}).status_code == 404
    assert bob.get("/api/releases/").json()["results"] == []
    assert Release.objects.count() == 1
    assert Release.objects.get().state == ReleaseState.READY


def test_someone_who_sees_but_does_not_own_the_component_gets_403(approved, api):
    state = approved()
    release = state.release()
    reviewer = api(state.world.reviewers["legal"])
    before = counts(Release, AuditEvent)

    created = reviewer.post("/api/releases/", {"component": "mq-core", "version": "2.0.0"})
    cancelled = reviewer.post(f"/api/releases/{release.pk}/cancel/", {"reason": "No."})

    assert created.status_code == 403
    assert created.json() == {
        "detail": "Only the component's owners and admins create its releases."
    }
    assert cancelled.status_code == 403
    assert "cancel its releases" in cancelled.json()["detail"]
    assert reviewer.get(f"/api/releases/{release.pk}/").status_code == 200
    assert counts(Release, AuditEvent) == before
    assert Release.objects.get().state == ReleaseState.READY


def test_admin_creates_a_release_at_a_named_commit(approved, api):
    state = approved()
    commit = state.submission.commit.upper()

    response = api(state.world.admin).post(
        "/api/releases/", {"component": "mq-core", "version": "0.9.0-rc.1", "commit": commit}
    )

    assert response.status_code == 201, response.json()
    assert response.json()["commit"] == state.submission.commit
    assert Release.objects.get().created_by == state.world.admin


def test_evaluate_reruns_the_gates_and_returns_the_release(approved, api):
    state = approved(NO_SECURITY)
    release = state.release()
    assert release.state == ReleaseState.BLOCKED
    # Policy is data: dropping the community gate changes nothing until an evaluation.
    GatePolicy.objects.create(component=state.component, gates=["reviews", "scan"])

    response = api(state.world.reviewers["legal"]).post(f"/api/releases/{release.pk}/evaluate/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["state"] == ReleaseState.READY
    assert [g["gate"] for g in body["gates"]] == ["reviews", "scan"]
    release.refresh_from_db()
    assert release.state == ReleaseState.READY
    assert release.evaluations.first().trigger == "manual"
    assert release.evaluations.count() == 2
    # Nothing changed since: a second evaluation stores no history entry.
    api(state.world.alice).post(f"/api/releases/{release.pk}/evaluate/")
    assert release.evaluations.count() == 2


def test_owner_cancels_with_a_reason(approved, api):
    state = approved()
    release = state.release()
    alice = api(state.world.alice)

    blank = alice.post(f"/api/releases/{release.pk}/cancel/", {"reason": "  "})
    assert blank.status_code == 400
    assert blank.json() == {"reason": ["Say why the release is cancelled."]}
    assert alice.post(f"/api/releases/{release.pk}/cancel/", {}).json() == {
        "reason": ["This field is required."]
    }
    release.refresh_from_db()
    assert release.state == ReleaseState.READY

    response = alice.post(f"/api/releases/{release.pk}/cancel/", {"reason": "Wrong commit."})

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == ReleaseState.CANCELLED
    release.refresh_from_db()
    assert release.state == ReleaseState.CANCELLED
    event = AuditEvent.objects.get(action="release.cancelled")
    assert event.after == {"state": "cancelled", "reason": "Wrong commit."}
    # Idempotent; and a cancelled release is evaluated no more.
    again = alice.post(f"/api/releases/{release.pk}/cancel/", {"reason": "Again."})
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="release.cancelled").count() == 1
    evaluated = alice.post(f"/api/releases/{release.pk}/evaluate/")
    assert evaluated.json()["state"] == ReleaseState.CANCELLED


def test_a_published_release_cannot_be_cancelled(approved, api):
    state = approved()
    release = state.release()
    Release.objects.filter(pk=release.pk).update(state=ReleaseState.PUBLISHED)

    response = api(state.world.alice).post(
        f"/api/releases/{release.pk}/cancel/", {"reason": "Too late."}
    )

    assert response.status_code == 400
    assert response.json() == {"state": ["A published release cannot be cancelled."]}
    release.refresh_from_db()
    assert release.state == ReleaseState.PUBLISHED


def test_release_list_filters_by_component_and_state(approved, api):
    state = approved()
    first = state.release("1.0.0")
    second = state.release("1.1.0")
    api(state.world.alice).post(f"/api/releases/{first.pk}/cancel/", {"reason": "Superseded."})
    alice = api(state.world.alice)

    def ids(query=""):
        response = alice.get("/api/releases/" + query)
        assert response.status_code == 200, response.json()
        return [r["id"] for r in response.json()["results"]]

    assert ids() == [second.pk, first.pk]
    assert ids("?component=mq-core") == [second.pk, first.pk]
    assert ids("?component=other") == []
    assert ids("?state=cancelled") == [first.pk]
    assert ids("?state=ready&component=mq-core") == [second.pk]
    bad = alice.get("/api/releases/?state=shipped")
    assert bad.status_code == 400
    assert "state" in bad.json()


# --------------------------------------------------------------------------- waivers


def test_admin_waives_a_gate_and_the_release_becomes_ready(
    approved, api, django_capture_on_commit_callbacks
):
    state = approved(NO_SECURITY)
    release = state.release()
    expires = timezone.now() + timedelta(days=7)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(state.world.admin).post(
            "/api/waivers/",
            {"release": release.pk, "gate": "community", "reason": "Policy lands next sprint.",
             "owner": "alice", "expires_at": expires.isoformat()},
        )  # fmt: skip

    assert response.status_code == 201, response.json()
    body = response.json()
    waiver = Waiver.objects.get()
    assert body["id"] == waiver.pk
    assert body["component"] == "mq-core"
    assert body["release"] == release.pk
    assert body["gate"] == "community"
    assert body["owner"] == "alice"
    assert body["granted_by"] == "admin"
    assert body["active"] is True
    assert body["revoked_at"] is None
    assert waiver.owner == state.world.alice
    assert waiver.expires_at == expires
    release.refresh_from_db()
    assert release.state == ReleaseState.READY
    detail = api(state.world.alice).get(f"/api/releases/{release.pk}/").json()
    assert detail["state"] == ReleaseState.READY
    assert gate(detail, "community")["status"] == "waived"
    assert "Policy lands next sprint." in gate(detail, "community")["reason"]


def test_admin_waives_a_finding_by_its_id(approved, api, django_capture_on_commit_callbacks):
    state = approved({**CLEAN_FILES, **INTERNAL_HOST})
    release = state.release()
    assert release.state == ReleaseState.BLOCKED
    finding = Finding.objects.get(kind="internal_ref")

    with django_capture_on_commit_callbacks(execute=True):
        response = api(state.world.admin).post(
            "/api/waivers/",
            {"finding": finding.pk, "reason": "Host is being renamed.", "owner": "bob",
             "expires_at": in_days(30)},
        )  # fmt: skip

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["release"] is None
    assert body["gate"] == ""
    assert body["fingerprint"] == finding.fingerprint
    assert body["finding_label"].startswith("internal_ref/")
    assert "core/hosts.py:1" in body["finding_label"]
    release.refresh_from_db()
    assert release.state == ReleaseState.READY


def test_only_admins_grant_waivers(approved, api):
    state = approved(NO_SECURITY)
    release = state.release()
    good = {"release": release.pk, "gate": "community", "reason": "ok", "owner": "alice",
            "expires_at": in_days(3)}  # fmt: skip

    for user in (state.world.alice, state.world.reviewers["legal"]):
        response = api(user).post("/api/waivers/", good)
        assert response.status_code == 403
        assert response.json() == {"detail": "Only the open-source office (admins) grants waivers."}
    # Refused before the body is read: a bad body is a 403 too.
    assert api(state.world.bob).post("/api/waivers/", {}).status_code == 403
    assert not Waiver.objects.exists()
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"expires_at": "yesterday"}, "expires_at", "Datetime has wrong format"),
        ({"expires_at": -1}, "expires_at", "wrong format"),
        ({"expires_at": None}, "expires_at", "Give an expiry: waivers always expire."),
        ({"expires_at": "past"}, "expires_at", "The expiry must be in the future."),
        ({"expires_at": "far"}, "expires_at", "A waiver lasts at most 365 days."),
        ({"reason": " "}, "reason", "Say why the exception is acceptable."),
        ({"owner": ""}, "owner", "Name the person who owns the exception."),
        ({"owner": "nobody"}, "owner", "No active user is called 'nobody'."),
        ({"gate": "nonsense"}, "gate", "Choose one of this release's gates"),
        ({"release": 10**6}, "release", "No such release: 1000000."),
        ({"release": 10**30}, "release", "less than or equal"),
        ({"release": None}, "non_field_errors", "one gate of a release, or for one finding"),
        ({"finding": 10**6}, "finding", "No such finding: 1000000."),
        ({"finding": "both"}, "non_field_errors", "one gate of a release, or for one finding"),
    ],
)
def test_bad_waiver_input_is_400_with_the_field_message_and_writes_nothing(
    approved, api, change, field, fragment
):
    state = approved({**NO_SECURITY, **INTERNAL_HOST})
    release = state.release()
    finding = Finding.objects.get(kind="internal_ref")
    special = {"past": in_days(-1), "far": in_days(400), "both": finding.pk}
    change = {k: special.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
    body = {"release": release.pk, "gate": "community", "reason": "ok", "owner": "alice",
            "expires_at": in_days(3), **change}  # fmt: skip
    before = counts(Waiver, AuditEvent, GateEvaluation)

    response = api(state.world.admin).post("/api/waivers/", body)

    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert fragment in " ".join(errors[field])
    assert counts(Waiver, AuditEvent, GateEvaluation) == before


def test_admin_revokes_a_waiver_and_the_gate_blocks_again(
    approved, api, django_capture_on_commit_callbacks
):
    state = approved(NO_SECURITY)
    release = state.release()
    admin = api(state.world.admin)
    with django_capture_on_commit_callbacks(execute=True):
        waiver_id = admin.post(
            "/api/waivers/",
            {"release": release.pk, "gate": "community", "reason": "Next sprint.",
             "owner": "alice", "expires_at": in_days(7)},
        ).json()["id"]  # fmt: skip
    release.refresh_from_db()
    assert release.state == ReleaseState.READY

    # Whoever sees the component sees the waiver but may not revoke it; strangers see nothing.
    assert api(state.world.alice).post(f"/api/waivers/{waiver_id}/revoke/").status_code == 403
    assert api(state.world.bob).post(f"/api/waivers/{waiver_id}/revoke/").status_code == 404
    assert Waiver.objects.get().revoked_at is None
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/api/waivers/{waiver_id}/revoke/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["active"] is False
    assert body["revoked_by"] == "admin"
    assert body["revoked_at"] is not None
    waiver = Waiver.objects.get()
    assert waiver.revoked_by == state.world.admin
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED
    assert release.evaluations.first().trigger == "waiver revoked"
    # Idempotent: the second revocation records nothing.
    assert admin.post(f"/api/waivers/{waiver_id}/revoke/").status_code == 200
    assert AuditEvent.objects.filter(action="waiver.revoked").count() == 1


def test_waiver_list_shows_what_each_caller_may_see(approved, api, world, make_repo):
    state = approved(NO_SECURITY)
    release = state.release()
    admin = api(world.admin)
    waiver_ids = [
        admin.post(
            "/api/waivers/",
            {"release": release.pk, "gate": gate_key, "reason": "ok", "owner": "alice",
             "expires_at": in_days(3)},
        ).json()["id"]
        for gate_key in ("community", "scan")
    ]  # fmt: skip
    admin.post(f"/api/waivers/{waiver_ids[0]}/revoke/")
    # Bob's component, with a waiver of its own that only he and the admin see.
    bobs = submit(world, make_repo(), actor=world.bob, slug="kv-store")
    bobs_release = release_create(component=bobs.component, actor=world.bob, version="0.1.0",
                                  commit=bobs.commit)  # fmt: skip
    bobs_waiver = admin.post(
        "/api/waivers/",
        {"release": bobs_release.pk, "gate": "reviews", "reason": "ok", "owner": "bob",
         "expires_at": in_days(3)},
    ).json()["id"]  # fmt: skip

    def ids(client, query=""):
        response = client.get("/api/waivers/" + query)
        assert response.status_code == 200, response.json()
        return [w["id"] for w in response.json()["results"]]

    assert ids(admin) == [bobs_waiver, waiver_ids[1], waiver_ids[0]]
    assert ids(api(world.alice)) == [waiver_ids[1], waiver_ids[0]]
    assert ids(api(world.bob)) == [bobs_waiver]
    assert ids(admin, "?component=mq-core") == [waiver_ids[1], waiver_ids[0]]
    assert ids(admin, f"?release={bobs_release.pk}") == [bobs_waiver]
    assert ids(admin, "?active=true&component=mq-core") == [waiver_ids[1]]
    assert ids(admin, "?active=false") == [waiver_ids[0]]
    assert api(world.bob).get(f"/api/waivers/{waiver_ids[1]}/").status_code == 404
    assert api(world.alice).get(f"/api/waivers/{waiver_ids[1]}/").json()["gate"] == "scan"
    assert api(world.bob).get("/api/waivers/?release=abc").status_code == 400


@pytest.mark.parametrize("url", ["/api/releases/", "/api/waivers/"])
def test_release_and_waiver_lists_query_count_does_not_grow(approved, api, url):
    state = approved()
    world = state.world

    def add(versions):
        for version in versions:
            release = state.release(version)
            waiver = waiver_grant(
                actor=world.admin, reason="ok", owner=world.bob, release=release, gate="scan",
                expires_at=timezone.now() + timedelta(days=3),
            )  # fmt: skip
            waiver_revoke(waiver=waiver, actor=world.admin)

    client = api(world.alice)
    add(["1.0.0", "1.0.1"])
    client.get(url)  # warm per-process caches
    with CaptureQueriesContext(connection) as small:
        small_rows = client.get(url).json()["count"]

    add(["1.0.2", "1.0.3", "1.0.4", "1.0.5"])
    with CaptureQueriesContext(connection) as large:
        large_rows = client.get(url).json()["count"]

    assert (small_rows, large_rows) == (2, 6)
    assert len(large) == len(small)


# --------------------------------------------------------------------------- roles


def roles_of(body) -> list[tuple[str, str]]:
    return [(r["username"], r["role"]) for r in body]


def test_whoever_sees_the_component_reads_its_roles(approved, api):
    state = approved()

    response = api(state.world.alice).get("/api/components/mq-core/roles/")

    assert response.status_code == 200
    body = response.json()
    assert [{k: v for k, v in r.items() if k != "created_at"} for r in body] == [
        {"username": "petra", "role": "pmc", "added_by": "admin"},
        {"username": "carl", "role": "committer", "added_by": "admin"},
    ]
    assert all(r["created_at"] for r in body)
    assert api(state.pmc).get("/api/components/mq-core/roles/").status_code == 200
    assert api(state.world.bob).get("/api/components/mq-core/roles/").status_code == 404
    assert api(state.world.bob).post(
        "/api/components/mq-core/roles/", {"username": "bob", "role": "pmc"}
    ).status_code == 404  # fmt: skip


def test_pmc_member_names_and_removes_people(approved, api, django_capture_on_commit_callbacks):
    state = approved()
    release = state.release()
    petra = api(state.pmc)

    response = petra.post("/api/components/mq-core/roles/", {"username": "bob",
                                                             "role": "contributor"})  # fmt: skip

    assert response.status_code == 200, response.json()
    assert roles_of(response.json()) == [
        ("petra", "pmc"), ("bob", "contributor"), ("carl", "committer")
    ]  # fmt: skip
    row = ComponentRole.objects.get(user=state.world.bob)
    assert (row.role, row.added_by) == ("contributor", state.pmc)
    event = AuditEvent.objects.filter(action="component.role_changed").latest("seq")
    assert event.after == {"user": "bob", "role": "contributor"}
    assert event.actor == state.pmc

    # Taking the committer away blocks the release's maintainers gate, after commit.
    with django_capture_on_commit_callbacks(execute=True):
        removed = petra.post("/api/components/mq-core/roles/", {"username": "carl", "role": ""})
    assert removed.status_code == 200, removed.json()
    assert roles_of(removed.json()) == [("petra", "pmc"), ("bob", "contributor")]
    assert not ComponentRole.objects.filter(user=state.committer).exists()
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED
    assert release.evaluations.first().trigger == "roles changed"


def test_only_pmc_members_and_admins_change_roles(approved, api):
    state = approved()
    before = counts(ComponentRole, AuditEvent)

    # Alice owns the component but is not on its PMC: refused, whatever the body says.
    for body in ({"username": "alice", "role": "pmc"}, {"username": "nobody", "role": "pmc"}):
        response = api(state.world.alice).post("/api/components/mq-core/roles/", body)
        assert response.status_code == 403
        assert response.json() == {
            "detail": "Only the component's PMC members and admins manage its roles."
        }
    assert counts(ComponentRole, AuditEvent) == before

    response = api(state.world.admin).post(
        "/api/components/mq-core/roles/", {"username": "alice", "role": "committer"}
    )
    assert response.status_code == 200
    assert ComponentRole.objects.get(user=state.world.alice).added_by == state.world.admin


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"username": "nobody", "role": "committer"}, "username",
         "No active user is called 'nobody'."),
        ({"username": "bob", "role": "owner"}, "role", '"owner" is not a valid choice.'),
        ({"username": "bob"}, "role", "This field is required."),
        ({"username": "petra", "role": ""}, "role",
         "The last PMC member stays until another is named, or an admin changes it."),
        ({"username": "petra", "role": "committer"}, "role", "The last PMC member stays"),
    ],
)  # fmt: skip
def test_bad_role_changes_are_400_and_write_nothing(approved, api, body, field, message):
    state = approved()
    before = counts(ComponentRole, AuditEvent)

    response = api(state.pmc).post("/api/components/mq-core/roles/", body)

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert message in " ".join(response.json()[field])
    assert counts(ComponentRole, AuditEvent) == before
    assert ComponentRole.objects.get(user=state.pmc).role == "pmc"


# --------------------------------------------------------------------------- dashboard


@pytest.fixture
def portfolio(world, make_repo, scan_on_submit, policy, django_capture_on_commit_callbacks):
    """Components in review, each scanned (one blocking finding) with a blocked release."""

    def add(slugs, *, actor=None):
        components = []
        for slug in slugs:
            with django_capture_on_commit_callbacks(execute=True):
                submission = submit(world, make_repo({**CLEAN_FILES, **INTERNAL_HOST}),
                                    slug=slug, actor=actor or world.alice)  # fmt: skip
                release_create(component=submission.component, actor=actor or world.alice,
                               version="1.0.0", commit=submission.commit)  # fmt: skip
            components.append(submission.component)
        return components

    return add


def rows_by_slug(body) -> dict[str, dict]:
    return {row["slug"]: row for row in body["results"]}


def test_dashboard_rows_and_counters(world, api, portfolio):
    (mq,) = portfolio(["mq-core"])
    component_create(
        actor=world.alice,
        draft=ComponentDraft(name="Bare Tool", slug="bare-tool", license="MIT", open_paths=["**"]),
    )

    response = api(world.alice).get("/api/dashboard/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 2
    assert body["next"] is None and body["previous"] is None
    assert body["counters"] == {
        "components": 2,
        "by_stage": {"draft": 1, "in_review": 1, "approved": 0, "released": 0, "archived": 0,
                     "rejected": 0, "withdrawn": 0},
        "releases_blocked": 1,
        "releases_ready": 0,
        "open_blocking_findings": 1,
        "pending_tickets": 4,
    }  # fmt: skip
    rows = rows_by_slug(body)
    assert [r["slug"] for r in body["results"]] == ["bare-tool", "mq-core"]  # by name
    release = Release.objects.get(component=mq)
    scan = ScanRun.objects.get(component=mq)
    row = rows["mq-core"]
    assert row["name"] == "Mq Core"
    assert row["stage"] == "in_review"
    assert row["departments"] == [
        {"department": d.slug, "name": d.name, "state": "pending"}
        for d in sorted(world.departments.values(), key=lambda d: (d.position, d.name))
    ]
    assert row["blocking"] == {"internal_ref": 1}
    assert row["blocking_total"] == 1
    assert row["latest_release"] == {"id": release.pk, "version": "1.0.0", "state": "blocked"}
    assert row["last_scan"]["id"] == scan.pk
    assert row["last_scan"]["status"] == "done"
    assert row["last_scan"]["finished_at"] is not None
    assert rows["bare-tool"] == {
        "slug": "bare-tool", "name": "Bare Tool", "stage": "draft", "departments": [],
        "blocking": {}, "blocking_total": 0, "latest_release": None, "last_scan": None,
        "sync": None,
    }  # fmt: skip


def test_dashboard_filters_sorting_and_paging(world, api, portfolio):
    mq, kv, _ = portfolio(["mq-core", "kv-store", "log-agent"])
    portfolio(["bobs-cache"], actor=world.bob)
    # mq-core: legal approved, and its release cancelled (so not blocked any more).
    approve(tickets_by_slug(mq.submissions.get())["legal"], world.reviewers["legal"])
    Release.objects.filter(component=mq).update(state=ReleaseState.CANCELLED)
    admin = api(world.admin)

    def slugs(query=""):
        response = admin.get("/api/dashboard/" + query)
        assert response.status_code == 200, response.json()
        return [row["slug"] for row in response.json()["results"]]

    assert slugs() == ["bobs-cache", "kv-store", "log-agent", "mq-core"]
    assert slugs("?sort=-name") == ["mq-core", "log-agent", "kv-store", "bobs-cache"]
    assert slugs("?blocked=1") == ["bobs-cache", "kv-store", "log-agent"]
    assert slugs("?blocked=true&owner=bob") == ["bobs-cache"]
    assert slugs("?owner=alice&waiting_on=legal") == ["kv-store", "log-agent"]
    assert slugs("?waiting_on=technical&q=-") == ["bobs-cache", "kv-store", "log-agent", "mq-core"]
    assert slugs("?q=STORE") == ["kv-store"]
    assert slugs("?stage=in_review&q=") == ["bobs-cache", "kv-store", "log-agent", "mq-core"]
    assert slugs("?stage=draft") == []
    assert slugs("?stage=&sort=&owner=&waiting_on=") == slugs()
    rows = rows_by_slug(admin.get("/api/dashboard/").json())
    assert rows["mq-core"]["latest_release"] is None  # cancelled releases are not shown
    legal = next(d for d in rows["mq-core"]["departments"] if d["department"] == "legal")
    assert legal["state"] == "approved"

    page = admin.get("/api/dashboard/?limit=2&offset=1").json()
    assert [row["slug"] for row in page["results"]] == ["kv-store", "log-agent"]
    assert page["count"] == 4
    assert "offset=3" in page["next"] and page["previous"] is not None
    # The counters are over everything the caller sees, whatever the filters.
    assert page["counters"]["components"] == 4
    assert page["counters"]["releases_blocked"] == 3
    # Alice sees her three components only.
    alice = api(world.alice).get("/api/dashboard/").json()
    assert sorted(rows_by_slug(alice)) == ["kv-store", "log-agent", "mq-core"]
    assert alice["counters"]["components"] == 3


def test_a_rejected_submission_waits_on_no_department(world, api, portfolio):
    """Its tickets still open are closed with it: neither "reviews pending" nor "waiting
    on" counts them, as the department pages and the reviewers' queues do not."""
    mq, kv = portfolio(["mq-core", "kv-store"])
    signoff_create(
        ticket=tickets_by_slug(mq.submissions.get())["legal"],
        actor=world.reviewers["legal"],
        decision=Decision.REJECT,
        comment="Contains code licensed from a vendor under NDA.",
    )
    admin = api(world.admin)

    body = admin.get("/api/dashboard/").json()

    assert body["counters"]["pending_tickets"] == 4  # kv-store's four; none of mq-core's
    assert [row["slug"] for row in admin.get("/api/dashboard/?waiting_on=technical").json()[
        "results"]] == ["kv-store"]  # fmt: skip
    page = admin.get("/?waiting_on=technical")
    assert [row.component.slug for row in page.context["rows"]] == ["kv-store"]
    assert page.context["counters"].pending_tickets == 4


@pytest.mark.parametrize(
    ("query", "field"),
    [("?stage=shipped", "stage"), ("?sort=size", "sort"), ("?q=" + "x" * 101, "q"),
     ("?waiting_on=no%20slug", "waiting_on"), ("?blocked=maybe", "blocked")],
)  # fmt: skip
def test_dashboard_refuses_unknown_filters(world, api, query, field):
    response = api(world.alice).get("/api/dashboard/" + query)

    assert response.status_code == 400
    assert field in response.json()


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.json()
    return len(queries)


@pytest.mark.parametrize("role", ["admin", "alice"])
def test_dashboard_query_count_does_not_grow_with_components(world, api, portfolio, role):
    client = api(world.admin if role == "admin" else world.alice)
    urls = [
        "/api/dashboard/",
        "/api/dashboard/?waiting_on=legal&sort=-updated",
        "/api/dashboard/?blocked=1&owner=alice",
        "/api/dashboard/?q=c&stage=in_review&limit=3",
    ]
    portfolio(["c-0", "c-1"])
    [count_queries(client, url) for url in urls]  # warm per-process caches
    small = [count_queries(client, url) for url in urls]

    portfolio([f"c-{n}" for n in range(2, 7)])
    large = [count_queries(client, url) for url in urls]

    assert client.get("/api/dashboard/").json()["count"] == 7
    assert large == small


# --------------------------------------------------------------------------- any input


def test_odd_values_in_any_field_are_4xx_and_write_nothing(approved, api):
    state = approved(NO_SECURITY)
    release = state.release()
    endpoints = [
        (state.world.alice, "/api/releases/", ["component", "version", "commit", "notes"]),
        (state.world.admin, "/api/waivers/",
         ["release", "gate", "finding", "reason", "owner", "expires_at"]),
        (state.pmc, "/api/components/mq-core/roles/", ["username", "role"]),
    ]  # fmt: skip
    models = (Release, GateEvaluation, Waiver, ComponentRole, AuditEvent)
    before = counts(*models)
    for user, url, fields in endpoints:
        client = api(user)
        for field, value in itertools.product(fields, ODD_VALUES):
            body = dict.fromkeys(fields, "x") | {field: value}
            response = client.post(url, body, format="json")
            assert 400 <= response.status_code < 500, (url, field, value, response.content)
            assert response.json()
    assert counts(*models) == before
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED


def test_schema_lists_the_release_endpoints(world, api):
    text = api(world.alice).get("/api/schema/").content.decode()

    for path in [
        "/api/releases/",
        "/api/releases/{id}/",
        "/api/releases/{id}/evaluate/",
        "/api/releases/{id}/cancel/",
        "/api/waivers/",
        "/api/waivers/{id}/revoke/",
        "/api/components/{slug}/roles/",
        "/api/dashboard/",
    ]:
        assert f"{path}:" in text, path
    for name in ["ReleaseStateEnum", "GateStatusEnum", "CommunityRoleEnum", "DepartmentChipEnum"]:
        assert f"{name}:" in text, name
