from __future__ import annotations

import subprocess
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command

from core.audit import verify_chain
from core.models import AuditEvent
from governance.enums import Stage
from governance.models import Component, Department
from governance.repositories import repository_unbind
from notifications.models import Notification
from reviews.enums import Decision, SignOffStatus, SubmissionState, TicketState
from reviews.models import Comment, SignOff, Submission


@pytest.fixture
def demo_settings(settings, tmp_path):
    settings.DEBUG = True
    settings.GATEHOUSE_DEMO_REPOS_DIR = tmp_path / "demo-repos"
    settings.GATEHOUSE_GIT_ALLOW = ["https://", f"file://{tmp_path}/"]
    return settings


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "departments": Department.objects.count(),
        "components": Component.objects.count(),
        "submissions": Submission.objects.count(),
        "signoffs": SignOff.objects.count(),
        "comments": Comment.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def git_head(path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_seed_demo_leaves_four_components_in_different_states_and_runs_twice(db, demo_settings):
    first = seed()
    after_first = counts()
    second = seed()

    assert counts() == after_first
    assert "skipped" in second and "created" in first
    assert after_first["users"] == 7
    assert after_first["components"] == 4

    departments = Department.objects.prefetch_related("questions")
    assert {d.slug for d in departments} == {"technical", "compliance", "legal", "security"}
    assert all(4 <= len(d.questions.all()) <= 6 for d in departments)

    mq = Submission.objects.get(component__slug="mq-core")
    assert mq.state == SubmissionState.APPROVED
    assert mq.component.stage == Stage.APPROVED
    assert sorted(mq.tickets.values_list("state", flat=True)) == [TicketState.APPROVED] * 4
    assert set(
        SignOff.objects.filter(ticket__submission=mq).values_list("reviewer__username", flat=True)
    ) == {"tina", "cora", "leo", "sam"}

    config = Submission.objects.get(component__slug="config-client")
    assert config.state == SubmissionState.IN_REVIEW
    assert dict(config.tickets.values_list("department__slug", "state")) == {
        "technical": TicketState.APPROVED,
        "legal": TicketState.APPROVED,
        "compliance": TicketState.OPEN,
        "security": TicketState.OPEN,
    }
    assert config.comments.filter(author__username="cora", body__contains="FX-LDN-01").exists()

    gateway = Submission.objects.get(component__slug="trade-gateway")
    assert gateway.state == SubmissionState.CHANGES_REQUESTED
    assert gateway.submitted_by.username == "bob"
    assert gateway.tickets.get(department__slug="technical").state == TicketState.APPROVED
    request = SignOff.objects.get(ticket__submission=gateway, reviewer__username="sam")
    assert request.decision == Decision.REQUEST_CHANGES
    assert request.status == SignOffStatus.CURRENT
    assert "config/gateway.yaml" in request.comment and "vault" in request.comment

    rpc = Submission.objects.get(component__slug="rpc-interfaces")
    assert rpc.state == SubmissionState.APPROVED

    repos = demo_settings.GATEHOUSE_DEMO_REPOS_DIR
    for submission in (mq, config, gateway, rpc):
        assert git_head(repos / submission.component.slug) == submission.commit
        assert submission.repository.url == f"file://{repos / submission.component.slug}"
    assert (repos / "mq-core" / "sharding" / "router.py").is_file()
    assert verify_chain() is None


def test_seed_demo_users_can_log_in_and_reviewers_sit_in_their_groups(db, demo_settings, client):
    seed()
    User = get_user_model()
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.email == "admin@example.com"
    assert User.objects.get(username="cora").groups.get().department.slug == "compliance"
    assert all(u.email.endswith("@example.com") and u.first_name for u in User.objects.all())
    assert client.login(username="sam", password="gatehouse-demo")


def test_seed_demo_leaves_existing_users_and_repositories_alone(db, demo_settings):
    get_user_model().objects.create_user("alice", "alice@corp.example", "her-own-password")
    kept = demo_settings.GATEHOUSE_DEMO_REPOS_DIR / "mq-core"
    seed()
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password("her-own-password") and alice.email == "alice@corp.example"
    head = git_head(kept)

    # The office frees the repositories of the old component; the demo then makes a new
    # one on the repository that is already there.
    old = Component.objects.get(slug="mq-core")
    admin = get_user_model().objects.get(username="admin")
    for repository in (old.internal_repository, old.external_repository):
        repository_unbind(repository=repository, actor=admin, reason="Recreated by the demo.")
    Component.objects.filter(pk=old.pk).update(slug="mq-core-renamed")
    seed()
    assert git_head(kept) == head
    assert Submission.objects.get(component__slug="mq-core").commit == head


def test_seed_demo_mails_reviewers_through_the_outbox(
    db, demo_settings, outbox, django_capture_on_commit_callbacks
):
    """Each commit wakes the outbox; it tells each department's reviewers of their ticket,
    mailed at once by default (the tests' eager Celery sends into the locmem outbox)."""
    with django_capture_on_commit_callbacks(execute=True):
        seed()
    reviewers = set(
        Notification.objects.filter(kind="review").values_list("user__username", flat=True)
    )
    assert reviewers == {"tina", "cora", "leo", "sam"}
    subjects = [m.subject for m in mail.outbox]
    assert any("Security review needed" in s for s in subjects), subjects
    assert all(r.endswith("@example.com") for m in mail.outbox for r in m.to)


def test_seed_demo_refuses_to_run_with_debug_off(db, demo_settings):
    demo_settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not get_user_model().objects.exists()
