"""Push webhooks in, attacked and used the forge's way: each provider's proof, a wrong
one, a replay, a stranger's hook, a body that lies, and what a real push sets off on a
real repository."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.models import AuditEvent
from integrations.models import HookDelivery
from integrations.services import deliveries_requeue_stalled, hook_rotate
from releases.models import GitJob, SyncState
from reviews.enums import SubmissionState
from scans.models import ScanRun
from tests.conftest import approve, submit
from tests.integrations.forge import as_form, headers_for, push_body, send
from tests.releases.conftest import community_commit

PROVIDERS = ["github", "gitlab", "gitea", "forgejo"]


@pytest.fixture
def hooked(world, repo, scan_on_submit, django_capture_on_commit_callbacks):
    """A submission under review on ``main`` of a real repository, and its push hook."""
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(world, repo)
    hook, secret = hook_rotate(repository=submission.repository, actor=world.alice)
    return submission, hook, secret


def _url(hook, provider: str) -> str:
    return hook.path(provider)


def deliver(client, hook, provider: str, secret: str, body: bytes, **options):
    """``provider``'s delivery of ``body`` to ``hook``, signed with ``secret``."""
    return send(client, hook.path(provider), body, headers_for(provider, secret, body, **options))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_signed_push_refreshes_the_submission_and_scans_the_new_commit(
    provider, client, hooked, repo, django_capture_on_commit_callbacks
):
    submission, hook, secret = hooked
    new_head = repo.commit({"core/more.py": "X = 2\n"}, "more")
    body = push_body(after=new_head)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, _url(hook, provider), body, headers_for(provider, secret, body))
    assert response.status_code == 202, response.content
    submission.refresh_from_db()
    assert submission.commit == new_head
    assert ScanRun.objects.filter(commit=new_head, component=submission.component).exists()
    delivery = HookDelivery.objects.get(hook=hook)
    assert (delivery.provider, delivery.verified, delivery.status) == (provider, True, "done")
    assert delivery.triggered == [
        {"kind": "refresh", "submission": submission.pk, "moved": True, "commit": new_head}
    ]
    moved = AuditEvent.objects.get(action="submission.commit_moved")
    assert moved.actor_name == "system" and moved.after["commit"] == new_head
    assert AuditEvent.objects.get(action="hook.push").after["triggered"] == delivery.triggered


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_signature_or_token_is_refused_and_moves_nothing(
    provider, client, hooked, repo, django_capture_on_commit_callbacks
):
    submission, hook, secret = hooked
    old = submission.commit
    repo.commit({"core/more.py": "X = 2\n"}, "more")
    body = push_body()
    with django_capture_on_commit_callbacks(execute=True):
        wrong = send(client, _url(hook, provider), body, headers_for(provider, "not-it", body))
        unsigned = client.post(_url(hook, provider), body, content_type="application/json")
    assert (wrong.status_code, unsigned.status_code) == (403, 403)
    assert "secret" in wrong.json()["detail"]
    submission.refresh_from_db()
    assert submission.commit == old
    refused = HookDelivery.objects.filter(hook=hook)
    assert [(d.status, d.verified) for d in refused] == [("refused", False)] * 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_replayed_delivery_is_refused_by_its_id(
    provider, client, hooked, repo, django_capture_on_commit_callbacks
):
    _submission, hook, secret = hooked
    body = push_body(after=repo.head())
    headers = headers_for(provider, secret, body, delivery="d-1")
    with django_capture_on_commit_callbacks(execute=True):
        first = send(client, _url(hook, provider), body, headers)
        again = send(client, _url(hook, provider), body, headers)
    assert (first.status_code, again.status_code) == (202, 409)
    assert "replay" in again.json()["detail"]
    assert HookDelivery.objects.filter(hook=hook, verified=True).count() == 1


def test_a_body_naming_another_commit_is_not_believed(
    client, hooked, repo, django_capture_on_commit_callbacks
):
    """The body's commit is the sender's word: Gatehouse resolves the branch itself."""
    submission, hook, secret = hooked
    body = push_body(after="f" * 40)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, hook, "github", secret, body).status_code == 202
    submission.refresh_from_db()
    assert submission.commit == repo.head()
    assert HookDelivery.objects.get().triggered[0]["moved"] is False


@pytest.mark.parametrize("provider", ["github", "gitea"])
def test_a_push_sent_as_a_form_is_read_like_json(
    provider, client, hooked, repo, django_capture_on_commit_callbacks
):
    """GitHub and Gitea may send ``payload=<json>`` as a form; the proof covers the raw body."""
    submission, hook, secret = hooked
    new_head = repo.commit({"core/form.py": "F = 1\n"}, "form")
    body = as_form(push_body(after=new_head))
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, _url(hook, provider), body, headers_for(provider, secret, body),
                        form=True)  # fmt: skip
    assert response.status_code == 202, response.content
    submission.refresh_from_db()
    assert submission.commit == new_head
    # The form is no way round the proof or the replay check.
    forged = send(client, _url(hook, provider), body, headers_for(provider, "not-it", body),
                  form=True)  # fmt: skip
    assert forged.status_code == 403
    delivery = HookDelivery.objects.get(hook=hook, verified=True).delivery_id
    again = send(client, _url(hook, provider), body,
                 headers_for(provider, secret, body, delivery=delivery), form=True)  # fmt: skip
    assert again.status_code == 409
    for bad, reason in ((b"payload=%7Bnot", "not JSON"), (b"zen=1", "no payload")):
        response = send(client, _url(hook, provider), bad, headers_for(provider, secret, bad),
                        form=True)  # fmt: skip
        assert response.status_code == 400 and reason in response.json()["detail"]


def test_another_repositorys_secret_does_not_open_this_hook(
    client, world, hooked, make_repo, django_capture_on_commit_callbacks
):
    _submission, hook, _secret = hooked
    other = submit(world, make_repo({"core/a.py": "A = 1\n"}), actor=world.bob, slug="bobs")
    _other_hook, bobs_secret = hook_rotate(repository=other.repository, actor=world.bob)
    body = push_body()
    response = send(client, _url(hook, "github"), body, headers_for("github", bobs_secret, body))
    assert response.status_code == 403


def test_a_ping_is_logged_and_sets_nothing_off(client, hooked):
    _submission, hook, secret = hooked
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = deliver(client, hook, "github", secret, body, event="ping")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert HookDelivery.objects.get().triggered == []


def test_bad_requests_get_a_reason_and_never_a_500(client, settings, hooked):
    _submission, hook, secret = hooked
    url = _url(hook, "github")
    for unknown in ("/api/hooks/github/no-such-hook/", hook.path("bitbucket")):
        assert client.post(unknown, b"{}", content_type="application/json").status_code == 404
    assert client.get(url).status_code == 405
    not_json = b"{not json"
    response = send(client, url, not_json, headers_for("github", secret, not_json))
    assert response.status_code == 400 and response.json()["detail"] == "The body is not JSON."
    no_ref = b'{"zen": 1}'
    response = send(client, url, no_ref, headers_for("github", secret, no_ref))
    assert response.status_code == 400 and "ref" in response.json()["detail"]
    body = push_body()
    headers = headers_for("github", secret, body)
    del headers["HTTP_X_GITHUB_DELIVERY"]
    assert send(client, url, body, headers).status_code == 400
    settings.GATEHOUSE_HOOK_MAX_BYTES = 100
    big = push_body() + b" " * 200
    response = send(client, url, big, headers_for("github", secret, big))
    assert response.status_code == 413
    # Nothing malformed counts as received: the same delivery id, well formed, is accepted.
    assert not HookDelivery.objects.filter(verified=True).exists()


def test_a_burst_of_pushes_is_not_throttled_like_an_anonymous_client(
    client, hooked, django_capture_on_commit_callbacks
):
    """A forge sends a push per branch at once; the API's anonymous rate is 30 a minute."""
    _submission, hook, secret = hooked
    codes = set()
    for n in range(40):
        body = push_body(ref=f"refs/heads/topic-{n}")
        with django_capture_on_commit_callbacks(execute=True):
            codes.add(deliver(client, hook, "gitea", secret, body).status_code)
    assert codes == {202}


def test_a_settled_submission_is_not_moved_by_a_push(
    client, world, hooked, repo, django_capture_on_commit_callbacks
):
    """An approval is not undone by a push: its people refresh it by hand."""
    submission, hook, secret = hooked
    with django_capture_on_commit_callbacks(execute=True):
        for ticket in submission.tickets.all():
            approve(ticket, world.reviewers[ticket.department.slug])
    submission.refresh_from_db()
    assert submission.state == SubmissionState.APPROVED
    old = submission.commit
    repo.commit({"core/more.py": "X = 2\n"}, "more")
    body = push_body()
    with django_capture_on_commit_callbacks(execute=True):
        send(client, _url(hook, "github"), body, headers_for("github", secret, body))
    submission.refresh_from_db()
    assert submission.commit == old
    assert HookDelivery.objects.get().triggered == []  # no live submission on the branch


def test_a_push_to_another_branch_leaves_the_submission(
    client, hooked, repo, django_capture_on_commit_callbacks
):
    submission, hook, secret = hooked
    old = submission.commit
    repo.git("checkout", "-q", "-b", "topic")
    repo.commit({"core/more.py": "X = 2\n"}, "more")
    body = push_body(ref="refs/heads/topic")
    with django_capture_on_commit_callbacks(execute=True):
        send(client, _url(hook, "github"), body, headers_for("github", secret, body))
    submission.refresh_from_db()
    assert submission.commit == old


def test_a_push_to_the_external_repository_queues_the_sync(
    client, tmp_path, ready, django_capture_on_commit_callbacks
):
    state = ready()
    component = state.component
    hook, secret = hook_rotate(repository=component.external_repository, actor=state.world.alice)
    sha = community_commit(tmp_path, state.external, {"core/fix.py": "FIX = 1\n"}, "A fix")
    body = push_body(after=sha)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(client, hook.path("gitlab"), body, headers_for("gitlab", secret, body))
    assert response.status_code == 202
    job = GitJob.objects.filter(component=component, kind="sync").latest("pk")
    assert job.params == {"trigger": "webhook"}
    assert HookDelivery.objects.get().triggered == [
        {"kind": "sync", "component": component.pk, "job": job.pk}
    ]
    newest = SyncState.objects.filter(component=component).first()
    assert newest.trigger == "webhook"
    assert [c["sha"] for c in newest.community] == [sha]


def test_rotating_shows_the_secret_once_and_the_old_one_stops_working(
    client, world, hooked, django_capture_on_commit_callbacks
):
    submission, hook, old_secret = hooked
    page = f"/repositories/{submission.repository_id}/hooks/"
    client.force_login(world.alice)
    shown = client.get(page).content.decode()
    assert hook.path("github") in shown and old_secret not in shown
    rotated = client.post(page + "rotate/")
    assert rotated.status_code == 201
    text = rotated.content.decode()
    new_secret = text.split('data-testid="secret-value">', 1)[1].split("<", 1)[0]
    assert len(new_secret) == 64 and new_secret != old_secret
    assert new_secret not in client.get(page).content.decode()
    body = push_body()
    with django_capture_on_commit_callbacks(execute=True):
        old = send(client, hook.path("github"), body, headers_for("github", old_secret, body))
        new = send(client, hook.path("github"), body, headers_for("github", new_secret, body))
    assert (old.status_code, new.status_code) == (403, 202)
    rotation = AuditEvent.objects.filter(action="hook.rotated").get()
    recorded = json.dumps(rotation.after)
    assert old_secret not in recorded and new_secret not in recorded


def test_only_owners_and_the_office_see_a_repositorys_hook(client, world, hooked):
    submission, _hook, _secret = hooked
    page = f"/repositories/{submission.repository_id}/hooks/"
    for outsider in (world.bob, world.reviewers["security"]):
        client.force_login(outsider)
        assert client.get(page).status_code == 404
        assert client.post(page + "rotate/").status_code == 404
    client.force_login(world.admin)
    assert client.get(page).status_code == 200
    client.logout()
    assert client.get(page).status_code == 302


def test_the_delivery_log_shows_what_each_push_set_off(
    client, world, hooked, repo, django_capture_on_commit_callbacks
):
    submission, hook, secret = hooked
    head = repo.commit({"core/more.py": "X = 2\n"}, "more")
    body = push_body(after=head)
    with django_capture_on_commit_callbacks(execute=True):
        send(client, hook.path("github"), body, headers_for("github", secret, body))
        send(client, hook.path("github"), body, headers_for("github", "wrong", body))
    client.force_login(world.alice)
    page = client.get(f"/repositories/{submission.repository_id}/hooks/").content.decode()
    assert page.count('data-testid="hook-delivery"') == 2
    assert f"submission #{submission.pk}" in page and head[:10] in page
    assert "The signature does not match" in page


def test_a_push_whose_task_was_lost_is_sent_again(client, hooked, repo):
    """The broker lost the task (no on-commit callbacks run here): the sweep sends it."""
    submission, hook, secret = hooked
    head = repo.commit({"core/more.py": "X = 2\n"}, "more")
    body = push_body(after=head)
    assert deliver(client, hook, "github", secret, body).status_code == 202
    delivery = HookDelivery.objects.get()
    assert delivery.status == "queued"
    assert deliveries_requeue_stalled() == 0  # not stalled yet
    HookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=11))
    assert deliveries_requeue_stalled() == 1
    delivery.refresh_from_db()
    submission.refresh_from_db()
    assert delivery.status == "done" and submission.commit == head
    assert deliveries_requeue_stalled() == 0


def test_the_command_prints_the_hook_url_and_a_new_secret(
    client, hooked, django_capture_on_commit_callbacks
):
    submission, hook, old_secret = hooked
    out = io.StringIO()
    call_command("webhook_secret", submission.repository.url, "--provider", "gitea", stdout=out)
    printed = json.loads(out.getvalue())
    assert set(printed) == {"url", "secret"}
    assert printed["url"].endswith(hook.path("gitea")) and printed["secret"] != old_secret
    body = push_body()
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, hook, "gitea", printed["secret"], body)
    assert response.status_code == 202
    with pytest.raises(CommandError, match="No registered repository"):
        call_command("webhook_secret", "https://git.example.org/nobody.git")


def test_the_component_page_links_its_owners_to_the_hook(client, world, hooked):
    submission, _hook, _secret = hooked
    page = submission.component.get_absolute_url()
    client.force_login(world.alice)
    assert 'data-testid="hook-link"' in client.get(page).content.decode()
    client.force_login(world.reviewers["security"])  # sees the component, owns nothing
    assert 'data-testid="hook-link"' not in client.get(page).content.decode()
