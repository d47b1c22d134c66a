"""The Open Core endpoints: a component's external repository, its sync, back-ports,
publishing a release, and the Sync column of the dashboard. Real repositories (an internal
working one, a bare external one), real services; bodies and rows asserted."""

# The `approved` and `policy` fixtures come from tests/releases/conftest.py and the sync
# fixtures from tests/releases/test_sync_views.py, which pytest does not load for this
# folder; the tests' parameters then "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import AuditEvent
from governance.models import Component
from governance.services import ComponentDraft, component_create
from releases.enums import ReleaseState
from releases.models import Backport, GitJob, Release, SyncState
from reviews.services import component_set_external
from scans.models import Finding
from tests.api.conftest import counts
from tests.conftest import OPEN_PATHS, make_user
from tests.releases.conftest import (  # noqa: F401 - fixtures
    _sync_dir,
    approved,
    community_commit,
    external,
    external_log,
    policy,
    ready,
)
from tests.releases.test_sync_views import FILES, HOST, SPDX, commit_json

SYNC_KEYS = {
    "status", "checked_at", "trigger", "internal_head", "external_head", "last_exported_rev",
    "pending", "community", "tags_missing_externally", "tags_unknown_internally",
    "external_tags", "error",
}  # fmt: skip


def sync_url(component) -> str:
    return f"/api/components/{component.slug}/sync/"


def backports_url(component) -> str:
    return f"/api/components/{component.slug}/backports/"


@pytest.fixture
def run_job(django_capture_on_commit_callbacks):
    """What an API client does: POST, get 202 and the job's URL in Location, then poll it
    (here once, after the worker ran the job: eager, at commit). Returns the job."""

    def post(client, url, data=None) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, data, format="json")
        assert response.status_code == 202, response.json()
        assert response.json()["status"] == "queued"
        job = client.get(response["Location"])
        assert job.status_code == 200
        assert job.json()["status"] in ("succeeded", "failed")
        return job.json()

    return post


# --------------------------------------------------------------------------- components


def test_component_shows_its_external_repository_and_branch(approved, api, external):
    state = approved()
    client = api(state.world.alice)
    body = client.get("/api/components/mq-core/").json()
    assert (body["external_repository"], body["external_branch"]) == (None, None)
    assert body["open_paths"] == OPEN_PATHS

    component_set_external(component=state.component, actor=state.world.alice,
                           url=f"file://{external}", branch="stable")  # fmt: skip

    body = client.get("/api/components/mq-core/").json()
    assert body["external_repository"] == f"file://{external}"
    assert body["external_branch"] == "stable"
    listed = client.get("/api/components/").json()["results"]
    assert listed[0]["external_repository"] == f"file://{external}"


# --------------------------------------------------------------------------- sync


def test_sync_reads_empty_before_the_first_sync_then_runs_on_post(approved, api, external, run_job):
    state = approved()
    component_set_external(component=state.component, actor=state.world.admin,
                           url=f"file://{external}")  # fmt: skip
    client = api(state.world.alice)

    empty = client.get(sync_url(state.component))
    assert empty.status_code == 200
    assert empty.json() == {
        "status": None, "checked_at": None, "trigger": "", "internal_head": "",
        "external_head": "", "last_exported_rev": "", "pending": [], "community": [],
        "tags_missing_externally": [], "tags_unknown_internally": [], "external_tags": {},
        "error": "",
    }  # fmt: skip

    job = run_job(client, sync_url(state.component))

    assert job["status"] == "succeeded" and job["kind"] == "sync"
    body = job["sync"]
    assert set(body) == SYNC_KEYS
    row = SyncState.objects.get(component=state.component)
    assert (row.status, row.trigger) == ("export_pending", "manual")
    assert body["status"] == "export_pending" and body["trigger"] == "manual"
    assert body["internal_head"] == state.repo.head() and body["external_head"] == ""
    assert [c["sha"] for c in body["pending"]] == [state.repo.head()]
    assert set(body["pending"][0]) == {"sha", "subject", "author", "email", "date", "files"}
    assert client.get(sync_url(state.component)).json() == body


def test_sync_shows_community_commits_and_tags(ready, api, tmp_path, run_job):
    p = ready()
    p.publish()
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2 API")

    body = run_job(api(p.world.alice), sync_url(p.component))["sync"]

    assert body["status"] == "backport_needed"
    assert [(c["sha"], c["subject"], c["author"], c["files"]) for c in body["community"]] == [
        (outside, "Add v2 API", "Community Dev", ["api/v2.py"])
    ]
    release = Release.objects.get(pk=p.release.pk)
    assert body["external_tags"] == {"v1.0.0": release.commit}
    assert body["last_exported_rev"] == release.commit
    assert body["tags_missing_externally"] == [] and body["tags_unknown_internally"] == []


def test_a_sync_asked_for_while_one_is_under_way_is_that_one(
    ready, api, django_capture_on_commit_callbacks
):
    p = ready()
    with django_capture_on_commit_callbacks() as sent:
        first = api(p.world.alice).post(sync_url(p.component))
        second = api(p.state.pmc).post(sync_url(p.component))
    assert (first.status_code, second.status_code) == (202, 202)
    assert first["Location"] == second["Location"] and len(sent) == 1


def test_sync_without_an_external_repository_is_400(approved, api):
    state = approved()
    response = api(state.world.alice).post(sync_url(state.component))
    assert response.status_code == 400
    assert response.json() == {"external_repository": ["Set the external repository first."]}
    assert not SyncState.objects.exists()


def test_who_may_read_and_run_a_sync(ready, api, django_capture_on_commit_callbacks):
    p = ready()
    reviewer = p.world.reviewers["legal"]
    for user, read, run in [(p.world.alice, 200, 202), (p.world.admin, 200, 202),
                            (p.state.pmc, 200, 202), (reviewer, 200, 403),
                            (p.state.committer, 200, 403), (p.world.bob, 404, 404)]:  # fmt: skip
        client = api(user)
        before = SyncState.objects.filter(component=p.component).first().checked_at
        assert client.get(sync_url(p.component)).status_code == read, user
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(sync_url(p.component))
        assert response.status_code == run, user
        after = SyncState.objects.filter(component=p.component).first().checked_at
        assert (after > before) == (run == 202)  # nothing moved: checked again
        if run == 403:
            assert response.json() == {
                "detail": "Only the component's owners, PMC members and admins sync and back-port."
            }
    assert api().get(sync_url(p.component)).status_code in (401, 403)


# --------------------------------------------------------------------------- back-ports


def test_backport_creates_a_branch_or_reports_the_conflict(ready, api, tmp_path, run_job):
    p = ready(from_prefix="core/", to_prefix="")
    p.publish()
    good = community_commit(
        tmp_path, p.external, {"api.py": SPDX + "def ping():\n    return 2\n"}, "Return 2"
    )  # api.py outside is core/api.py inside
    client = api(p.world.alice)

    job = run_job(client, backports_url(p.component), {"commit": good})

    assert job["status"] == "succeeded", job["errors"]
    backport = Backport.objects.get()
    assert job["params"] == {"commit": good, "first": ""}
    assert job["backport"] == {
        "id": backport.pk, "source_commit": good, "source_commits": [good], "state": "created",
        "branch": f"gatehouse/backport/{good[:12]}", "commit": backport.commit, "conflicts": [],
    }  # fmt: skip
    assert "return 2" in p.repo.git("show", f"{backport.branch}:core/api.py")
    assert p.repo.git("log", "-1", "--format=%an", backport.branch) == "Community Dev"

    p.repo.commit({"core/api.py": SPDX + "def ping():\n    return 'inside'\n"}, "inside")
    bad = community_commit(
        tmp_path, p.external, {"api.py": SPDX + "def ping():\n    return 'outside'\n"}, "outside"
    )
    job = run_job(client, backports_url(p.component), {"commit": bad})

    assert job["status"] == "succeeded"  # the job did its work: the outcome is a conflict
    body = job["backport"]
    conflict = Backport.objects.get(source_commit=bad)
    assert body["state"] == "conflict" and body["branch"] == "" and body["commit"] == ""
    assert body["conflicts"] == conflict.conflicts
    assert any("core/api.py" in c for c in body["conflicts"])
    assert f"gatehouse/backport/{bad[:12]}" not in p.repo.git("branch", "--list")
    assert AuditEvent.objects.filter(action="backport.conflict").count() == 1


def test_bad_backport_requests_are_refused_and_write_nothing(ready, api, tmp_path, run_job):
    p = ready()
    p.publish()
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    own_export = Release.objects.get(pk=p.release.pk).external_commit
    client = api(p.world.alice)
    # What needs no git is refused at once, with a 400 and no job.
    for body, message in [({"commit": "abc"}, "Give the full commit id"),
                          ({}, "required"), ({"commit": "x" * 65}, "no more than 64")]:  # fmt: skip
        response = client.post(backports_url(p.component), body, format="json")
        assert response.status_code == 400, body
        assert message in " ".join(response.json()["commit"]), response.json()
    assert not GitJob.objects.exists()
    # What the external branch decides fails the job with the reason.
    for body, message in [({"commit": "f" * 40}, "Not a commit of the external branch"),
                          ({"commit": own_export}, "Gatehouse's own export")]:  # fmt: skip
        job = run_job(client, backports_url(p.component), body)
        assert job["status"] == "failed" and job["backport"] is None
        assert message in " ".join(job["errors"]), job["errors"]
    reviewer = api(p.world.reviewers["legal"])
    assert reviewer.post(backports_url(p.component), {"commit": outside}).status_code == 403
    # Refused before the body is read: a bad body is still a 403.
    assert reviewer.post(backports_url(p.component), {"commit": 1}).status_code == 403
    assert api(p.world.bob).post(backports_url(p.component), {"commit": outside}).status_code == 404
    assert not Backport.objects.exists()


def test_a_push_git_refuses_fails_the_job_with_the_reason_and_records_nothing(
    ready, api, tmp_path, run_job
):
    p = ready(from_prefix="core/", to_prefix="")
    p.publish()
    outside = community_commit(
        tmp_path, p.external, {"api.py": SPDX + "def ping():\n    return 2\n"}, "Return 2"
    )
    client = api(p.world.alice)
    assert run_job(client, backports_url(p.component), {"commit": outside})["backport"]
    p.repo.commit({"sharding/x.py": "y = 1\n"}, "internal only")
    # Again, onto the moved head: the branch exists with another commit; never forced.
    job = run_job(client, backports_url(p.component), {"commit": outside})

    assert job["status"] == "failed"
    assert "refused the push" in job["errors"][0]
    assert Backport.objects.count() == 1


# --------------------------------------------------------------------------- publish


def test_owner_publishes_a_ready_release(ready, api, run_job):
    p = ready()
    url = f"/api/releases/{p.release.pk}/publish/"
    assert api(p.world.reviewers["legal"]).post(url).status_code == 403
    assert api(p.state.pmc).post(url).status_code == 403
    assert api(p.world.bob).post(url).status_code == 404
    assert external_log(p.external) == []

    job = run_job(api(p.world.alice), url)

    assert job["status"] == "succeeded", job["errors"]
    body = job["release"]
    release = Release.objects.get(pk=p.release.pk)
    assert body["state"] == "published" == release.state
    assert body["external_tag"] == "v1.0.0"
    assert body["external_commit"] == release.external_commit == external_log(p.external)[0]
    assert body["published_at"] is not None
    # Again: nothing new is built or pushed.
    again = run_job(api(p.world.admin), url)
    assert again["status"] == "succeeded" and again["id"] != job["id"]
    assert again["release"]["external_commit"] == body["external_commit"]
    assert len(external_log(p.external)) == 1


def test_publish_aborted_fails_the_job_with_the_reasons_and_changes_nothing(
    ready, api, django_capture_on_commit_callbacks, run_job
):
    p = ready({**FILES, "core/hosts.py": f'WIKI = "https://{HOST}/x"\n'})
    finding = Finding.objects.get(kind="internal_ref", path="core/hosts.py")
    with django_capture_on_commit_callbacks(execute=True):
        p.world.set_aside(finding, reason="Checked by hand.")
    before = counts(Release, AuditEvent)

    job = run_job(api(p.world.alice), f"/api/releases/{p.release.pk}/publish/")

    assert job["status"] == "failed"
    assert any(reason.startswith("core/hosts.py:1: ") for reason in job["errors"]), job
    release = Release.objects.get(pk=p.release.pk)
    assert release.state == ReleaseState.READY and release.external_commit == ""
    assert external_log(p.external) == []
    assert counts(Release, AuditEvent) == before


def test_publish_refusals_are_400_with_the_field(empty_remote, approved, api):
    state = approved({k: v for k, v in FILES.items() if k != "SECURITY.md"})
    release = state.release()
    client = api(state.world.alice)
    response = client.post(f"/api/releases/{release.pk}/publish/")
    assert response.status_code == 400
    assert response.json() == {"external_repository": ["Set the external repository first."]}
    component_set_external(component=state.component, actor=state.world.alice,
                           url=empty_remote("mq"))  # fmt: skip
    response = client.post(f"/api/releases/{release.pk}/publish/")
    assert response.status_code == 400
    assert "Only a ready release is published" in response.json()["state"][0]
    release.refresh_from_db()
    assert release.state == ReleaseState.BLOCKED


# --------------------------------------------------------------------------- dashboard


def make_components(empty_remote, owner, slugs, *, external: bool):
    for slug in slugs:
        component = component_create(
            actor=owner,
            draft=ComponentDraft(name=slug, slug=slug, license="MIT", open_paths=["**"]),
        )
        if external:
            component_set_external(component=component, actor=owner,
                                   url=empty_remote(slug))  # fmt: skip
            SyncState.objects.create(component=component, trigger="beat", status="in_sync")
            SyncState.objects.create(
                component=component, trigger="beat", status="diverged",
                pending=[commit_json(1)], community=[commit_json(2)],
            )  # fmt: skip


def test_dashboard_rows_carry_the_latest_sync(empty_remote, db, api):
    owner = make_user("olga")
    make_components(empty_remote, owner, ["a-plain"], external=False)
    make_components(empty_remote, owner, ["b-synced"], external=True)
    make_components(empty_remote, owner, ["c-waiting"], external=False)
    component_set_external(component=Component.objects.get(slug="c-waiting"), actor=owner,
                           url=empty_remote("c"))  # fmt: skip

    rows = {r["slug"]: r for r in api(owner).get("/api/dashboard/").json()["results"]}

    assert rows["a-plain"]["sync"] is None
    assert rows["c-waiting"]["sync"] is None  # not synced yet
    latest = SyncState.objects.filter(component__slug="b-synced").first()
    assert rows["b-synced"]["sync"]["status"] == "diverged"
    checked = rows["b-synced"]["sync"]["checked_at"]
    assert checked.startswith(latest.created_at.isoformat()[:19])
    assert set(rows["b-synced"]["sync"]) == {"status", "checked_at"}


def test_dashboard_query_count_does_not_grow_with_synced_components(empty_remote, db, api):
    owner = make_user("olga")
    client = api(owner)
    make_components(empty_remote, owner, ["a-0"], external=False)
    make_components(empty_remote, owner, ["s-0"], external=True)
    count_queries(client, "/api/dashboard/")
    small = count_queries(client, "/api/dashboard/")
    make_components(empty_remote, owner, ["a-1", "a-2"], external=False)
    make_components(empty_remote, owner, [f"s-{n}" for n in range(1, 6)], external=True)
    large = count_queries(client, "/api/dashboard/")
    assert client.get("/api/dashboard/").json()["count"] == 9
    assert large == small


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.json()
    return len(queries)


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    "path",
    ["/api/components/{slug}/sync/", "/api/components/{slug}/backports/",
     "/api/releases/{id}/publish/"],
)  # fmt: skip
def test_schema_lists_the_sync_endpoints(world, api, path):
    text = api(world.alice).get("/api/schema/").content.decode()
    assert f"{path}:" in text
    assert "SyncStatusEnum:" in text and "BackportStateEnum:" in text
