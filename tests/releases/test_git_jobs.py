"""Publish, Sync now and Back-port as background jobs (releases.jobs): the request queues,
a worker runs (eager here: at commit), the page and the API show progress and outcome.
Leases, takeover and exactly-once against real git repositories; the killed real worker
is in tests/integration."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

import vcs
from core import leases
from releases.jobs import (
    JobHooks,
    LeaseLost,
    backport_request,
    git_job_execute,
    git_jobs_requeue_stalled,
    publish_request,
    sync_request,
)
from releases.models import Backport, GitJob, Release, SyncState
from releases.sync import backport_create, component_sync, release_publish, workspace_for
from tests.conftest import PASSWORD
from tests.releases.conftest import community_commit, external_log, git

SPDX = "# SPDX-License-Identifier: Apache-2.0\n"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def publish_url(release) -> str:
    return reverse("releases:release-publish", args=[release.pk])


def sync_url(component) -> str:
    return reverse("releases:component-sync", args=[component.slug])


def expire(job: GitJob) -> None:
    """What a killed worker leaves: the job running, its lease run out."""
    GitJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def claim_as(job: GitJob, owner: str) -> JobHooks:
    assert leases.claim(GitJob, job.pk, owner=owner, waiting="queued", running="running")
    job.refresh_from_db()
    return JobHooks(job, owner)


class Rollback(Exception):
    pass


# --------------------------------------------------------------------------- the browser


def test_publish_queues_a_job_the_page_shows_it_and_the_worker_publishes(
    client, ready, django_capture_on_commit_callbacks
):
    p = ready()
    login(client, p.world.alice)
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(publish_url(p.release))
    assert response.status_code == 302 and response["Location"] == p.release.get_absolute_url()
    job = GitJob.objects.get()
    assert (job.kind, job.status, job.release, job.created_by) == (
        "publish", "queued", p.release, p.world.alice,
    )  # fmt: skip
    assert len(sent) == 1 and external_log(p.external) == []  # nothing ran in the request

    page = client.get(p.release.get_absolute_url()).content.decode()
    box = page.split('data-testid="git-job"')[1].split("</div>")[0]
    assert f'hx-get="{reverse("releases:git-job", args=[job.pk])}"' in box  # it polls
    assert "Waiting for a worker" in box
    assert 'data-testid="publish-form"' not in page  # no second button while it runs
    # A second click while it is queued is the same job.
    with django_capture_on_commit_callbacks() as again:
        client.post(publish_url(p.release))
    assert GitJob.objects.count() == 1 and again == []

    sent[0]()  # the worker
    job.refresh_from_db()
    release = Release.objects.get(pk=p.release.pk)
    assert (job.status, release.state, job.attempts) == ("succeeded", "published", 1)
    assert job.finished_at and not job.lease_owner and job.lease_expires_at is None
    assert len(external_log(p.external)) == 1
    poll = client.get(reverse("releases:git-job", args=[job.pk]), headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"  # finished: the page reloads to show it
    assert f"<code>{release.external_tag}</code>" in poll.content.decode()
    page = client.get(p.release.get_absolute_url()).content.decode()
    assert 'data-testid="git-job"' not in page  # a success shows as the release itself
    assert 'data-testid="published"' in page


def test_publish_refused_at_once_without_git_and_without_a_job(client, approved, external):
    state = approved(external=f"file://{external}")
    release = state.release()
    Release.objects.filter(pk=release.pk).update(state="blocked")
    login(client, state.world.alice)
    response = client.post(publish_url(release))
    assert response.status_code == 400
    assert "Only a ready release is published" in response.content.decode()
    assert login(client, state.world.bob).post(publish_url(release)).status_code == 404
    assert login(client, state.pmc).post(publish_url(release)).status_code == 403
    assert not GitJob.objects.exists()


def test_a_failed_publish_shows_its_reasons_on_the_release_page(
    client, ready, django_capture_on_commit_callbacks, tmp_path
):
    p = ready()
    p.external.rename(tmp_path / "gone.git")  # the external repository is out of reach
    login(client, p.world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(publish_url(p.release))
    job = GitJob.objects.get()
    assert job.status == "failed" and job.errors
    page = client.get(p.release.get_absolute_url()).content.decode()
    errors = page.split('data-testid="git-job-errors"')[1].split("</div>")[0]
    assert job.errors[0][:40] in errors.replace("&#x27;", "'")
    assert 'data-testid="publish-form"' in page  # try again
    assert Release.objects.get(pk=p.release.pk).state == "ready"


def test_sync_now_and_backport_run_as_jobs_from_the_sync_panel(
    client, ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready(from_prefix="core/", to_prefix="")
    p.publish()
    outside = community_commit(
        tmp_path, p.external, {"api.py": SPDX + "def ping():\n    return 2\n"}, "Return 2"
    )
    login(client, p.state.pmc)
    with django_capture_on_commit_callbacks() as sent:
        response = client.post(sync_url(p.component), headers={"HX-Request": "true"})
    assert response.status_code == 200  # htmx: the panel, with the job's progress box
    job = GitJob.objects.get(kind="sync")
    assert f'data-job="{job.pk}"' in response.content.decode()
    sent[0]()
    job.refresh_from_db()
    assert job.status == "succeeded" and job.sync_state.status == "backport_needed"
    assert job.sync_state.trigger == "manual"

    url = reverse("releases:backport-create", args=[p.component.slug])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"commit": outside})
    assert response.status_code == 302
    job = GitJob.objects.get(kind="backport")
    backport = Backport.objects.get()
    assert (job.status, job.backport, job.params["commit"]) == ("succeeded", backport, outside)
    assert backport.branch == f"gatehouse/backport/{outside[:12]}"
    assert "return 2" in p.repo.git("show", f"{backport.branch}:core/api.py")
    page = client.get(p.component.get_absolute_url(), follow=True).content.decode()
    assert f"Back-port of {outside[:10]} queued" in page


def test_the_job_page_and_api_are_for_those_who_see_the_component(
    client, ready, django_capture_on_commit_callbacks
):
    p = ready()
    with django_capture_on_commit_callbacks(execute=True):
        job = api(p.world.alice).post(f"/api/components/{p.component.slug}/sync/").data
    outsider = p.world.bob
    assert (
        login(client, outsider).get(reverse("releases:git-job", args=[job["id"]])).status_code
        == 404
    )
    assert api(outsider).get(f"/api/jobs/{job['id']}/").status_code == 404
    assert api(outsider).get("/api/jobs/").data["results"] == []
    page = login(client, p.world.alice).get(reverse("releases:git-job", args=[job["id"]]))
    assert page.status_code == 200 and "Succeeded" in page.content.decode()


# --------------------------------------------------------------------------- the API


def test_api_publish_answers_202_with_a_job_to_poll(ready, django_capture_on_commit_callbacks):
    p = ready()
    client = api(p.world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/releases/{p.release.pk}/publish/")
    assert response.status_code == 202
    assert response["Location"] == response.data["url"]
    assert response.data["kind"] == "publish"
    job = client.get(response["Location"]).data
    assert job["status"] == "succeeded"
    assert job["release"]["state"] == "published" and job["release"]["external_tag"] == "v1.0.0"
    listed = client.get("/api/jobs/", {"component": p.component.slug, "kind": "publish"}).data
    assert [j["id"] for j in listed["results"]] == [job["id"]]


def test_api_sync_and_backport_answer_202_and_refuse_bad_input_with_400(
    ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready()
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    client = api(p.state.pmc)
    base = f"/api/components/{p.component.slug}"
    with django_capture_on_commit_callbacks(execute=True):
        synced = client.post(f"{base}/sync/")
    assert synced.status_code == 202
    assert client.get(synced["Location"]).data["sync"]["status"] == "diverged"  # not published
    bad = client.post(f"{base}/backports/", {"commit": "abc"}, format="json")
    assert bad.status_code == 400 and not GitJob.objects.filter(kind="backport").exists()
    assert api(p.state.committer).post(f"{base}/sync/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        made = client.post(f"{base}/backports/", {"commit": outside}, format="json")
    assert made.status_code == 202
    job = client.get(made["Location"]).data
    assert job["status"] == "succeeded" and job["backport"]["state"] == "created"


def test_an_api_publish_of_a_release_not_ready_is_a_400_naming_the_gates(approved, external):
    state = approved(external=f"file://{external}")
    release = state.release()
    Release.objects.filter(pk=release.pk).update(state="blocked")
    response = api(state.world.alice).post(f"/api/releases/{release.pk}/publish/")
    assert response.status_code == 400 and "ready" in str(response.data)
    assert not GitJob.objects.exists()


# --------------------------------------------------------------------------- leases


def test_a_live_lease_is_not_taken_and_an_expired_one_is(ready, django_capture_on_commit_callbacks):
    p = ready()
    with django_capture_on_commit_callbacks():
        job, created = sync_request(component=p.component, actor=p.world.alice)
    assert created
    first = claim_as(job, "worker-a")
    assert git_job_execute(job_id=job.pk, owner="worker-b") is None  # worker-a is alive
    job.refresh_from_db()
    assert (job.status, job.lease_owner, job.attempts) == ("running", "worker-a", 1)

    expire(job)  # worker-a was killed
    done = git_job_execute(job_id=job.pk, owner="worker-b")
    assert (done.status, done.attempts) == ("succeeded", 2)
    with pytest.raises(LeaseLost), transaction.atomic():
        first.finish()  # the dead attempt, had it lived on, records nothing
    assert GitJob.objects.get(pk=job.pk).status == "succeeded"


def test_a_publish_killed_after_its_push_is_finished_with_one_commit_and_tag(
    ready, django_capture_on_commit_callbacks
):
    p = ready()
    with django_capture_on_commit_callbacks():
        job, _ = publish_request(release=p.release, actor=p.world.alice)
    claim_as(job, "worker-a")
    # worker-a builds, scans and pushes, then dies before its transaction commits.
    with pytest.raises(Rollback), transaction.atomic():
        release_publish(release=p.release, actor=p.world.alice, job=JobHooks(job, "worker-a"))
        raise Rollback
    assert len(external_log(p.external)) == 1
    assert Release.objects.get(pk=p.release.pk).state == "ready"
    pushed = git(p.external, "rev-parse", "v1.0.0^{commit}")
    tag_object = git(p.external, "rev-parse", "v1.0.0")

    expire(job)
    assert git_jobs_requeue_stalled()["requeued"] == 1
    done = git_job_execute(job_id=job.pk, owner="worker-b")

    assert done.status == "succeeded"
    release = Release.objects.get(pk=p.release.pk)
    assert (release.state, release.external_commit) == ("published", pushed)
    assert len(external_log(p.external)) == 1  # one commit
    assert git(p.external, "rev-parse", "v1.0.0") == tag_object  # the very same tag
    assert git(p.external, "tag", "--list").splitlines() == ["v1.0.0"]


def test_a_backport_killed_after_its_push_pushes_the_same_branch_again(
    ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready(from_prefix="core/", to_prefix="")
    p.publish()
    outside = community_commit(
        tmp_path, p.external, {"api.py": SPDX + "def ping():\n    return 2\n"}, "Return 2"
    )
    with django_capture_on_commit_callbacks():
        job, _ = backport_request(component=p.component, actor=p.world.alice, commit=outside)
    hooks = claim_as(job, "worker-a")
    backport_create(component=p.component, actor=p.world.alice, commit=outside, job=hooks)
    # What worker-a leaves when it dies after the push, before its last transaction
    # commits: the commit it settled on kept in the job (written before the push), no
    # back-port recorded, the job running on a lease that runs out.
    Backport.objects.all().delete()
    GitJob.objects.filter(pk=job.pk).update(
        status="running", lease_owner="worker-a", finished_at=None, backport=None
    )
    branch = f"gatehouse/backport/{outside[:12]}"
    pushed = p.repo.git("rev-parse", branch)
    assert GitJob.objects.get(pk=job.pk).result["backport"]["commit"] == pushed
    assert not Backport.objects.exists()
    # Meanwhile the internal branch moves on: a fresh back-port would be another commit,
    # and pushing it onto the existing branch would be refused.
    p.repo.commit({"README.md": "# mq core, moved on\n"}, "internal work")

    expire(job)
    done = git_job_execute(job_id=job.pk, owner="worker-b")

    assert done.status == "succeeded", done.errors
    backport = Backport.objects.get()
    assert (backport.branch, backport.commit, backport.source_commits) == (
        branch, pushed, [outside],
    )  # fmt: skip
    assert p.repo.git("rev-parse", branch) == pushed  # one branch, as first pushed


def test_a_job_that_keeps_dying_is_failed_with_the_reason(
    ready, settings, django_capture_on_commit_callbacks
):
    p = ready()
    with django_capture_on_commit_callbacks():
        job, _ = sync_request(component=p.component, actor=p.world.alice)
    for attempt in range(settings.GATEHOUSE_JOB_MAX_ATTEMPTS):
        claim_as(job, f"worker-{attempt}")
        expire(job)
        counts = git_jobs_requeue_stalled()
    assert counts["failed"] == 1
    job.refresh_from_db()
    assert job.status == "failed" and "stopped 3 times" in job.errors[0]
    assert git_job_execute(job_id=job.pk) is None  # not tried again
    again, created = sync_request(component=p.component, actor=p.world.alice)
    assert created and again.pk != job.pk  # the key is free: asking again is a new job


def test_a_queued_job_whose_message_was_lost_is_sent_again(
    ready, django_capture_on_commit_callbacks
):
    p = ready()
    with django_capture_on_commit_callbacks():  # sent, and the message lost
        job, _ = sync_request(component=p.component, actor=None, trigger="schedule")
    GitJob.objects.filter(pk=job.pk).update(sent_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert git_jobs_requeue_stalled()["resent"] == 1
    assert GitJob.objects.get(pk=job.pk).status == "succeeded"


# --------------------------------------------------------------------------- the schedule


def test_scheduled_syncs_are_jobs_that_coalesce_with_a_live_one_and_are_pruned(
    ready, approved, django_capture_on_commit_callbacks
):
    from releases.tasks import sync_all_components

    p = ready()
    with django_capture_on_commit_callbacks():
        manual, _ = sync_request(component=p.component, actor=p.world.alice)
        assert sync_all_components() == 0  # the live manual sync stands for it
    assert GitJob.objects.count() == 1
    git_job_execute(job_id=manual.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_all_components() == 1
    scheduled = GitJob.objects.get(params__trigger="schedule")
    assert scheduled.status == "succeeded" and scheduled.created_by is None
    assert SyncState.objects.filter(component=p.component).first().trigger == "schedule"

    GitJob.objects.update(finished_at=timezone.now() - timedelta(days=2))
    assert git_jobs_requeue_stalled()["pruned"] == 1
    assert list(GitJob.objects.all()) == [manual]  # what a person asked for is kept


def test_a_sync_job_waits_for_a_publish_holding_the_workspace(ready):
    """A sync run by a person must not come back empty because a publish held the lock:
    as a job it waits for the lock (a direct call still skips)."""
    p = ready()
    with vcs.workspace_lock(workspace_for(p.component), wait=True):
        assert component_sync(component_id=p.component.pk) is None
    # Held by another thread for a moment, the job's sync waits and runs.
    held = threading.Event()

    def hold():
        with vcs.workspace_lock(workspace_for(p.component), wait=True):
            held.set()
            threading.Event().wait(0.5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    state = component_sync(component_id=p.component.pk, wait=True)
    thread.join()
    assert state is not None
