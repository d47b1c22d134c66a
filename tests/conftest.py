from __future__ import annotations

import itertools
import subprocess

import pytest
from django.contrib.auth import get_user_model

from config.celery import app as celery_app
from governance.defaults import ensure_default_departments
from governance.models import Department
from reviews.enums import Decision
from reviews.services import signoff_create, submission_create
from tests.gitrepo import GitRepo

PASSWORD = "gatehouse-test"  # noqa: S105


@pytest.fixture(autouse=True)
def _git_allow_tmp(settings, tmp_path_factory):
    """Let the tests' throwaway repositories through the URL allow-list."""
    root = tmp_path_factory.getbasetemp()
    settings.GATEHOUSE_GIT_ALLOW = ["https://", f"file://{root}/"]
    # Creating a dozen users per test with PBKDF2 costs seconds; the hash is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Submitting scans the repository; tests of scanning turn it back on (scan_on_submit).
    settings.GATEHOUSE_SCAN_ON_SUBMIT = False
    settings.GATEHOUSE_MIRRORS_DIR = tmp_path_factory.getbasetemp() / "mirrors"
    # Commits do not wake the notifications outbox; tests of what people are told turn it
    # on (the outbox fixture), so the rest of the suite does not fan out every event.
    settings.GATEHOUSE_OUTBOX_WAKE = False


@pytest.fixture
def outbox(settings):
    """Every commit that wrote audit events drains the notifications outbox (eagerly, at
    commit, as the worker would)."""
    settings.GATEHOUSE_OUTBOX_WAKE = True


_cache_numbers = itertools.count()


@pytest.fixture(autouse=True)
def _own_cache(settings, tmp_path):
    """Each test counts logins and API requests in a cache of its own (never the broker's
    Redis database), and anchors the audit chain in a file of its own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{next(_cache_numbers)}",
        }
    }
    settings.GATEHOUSE_AUDIT_ANCHOR_FILE = tmp_path / "audit" / "anchors.jsonl"


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Unit tests run tasks in-process at commit; the Redis tests use a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def relay_settings(settings):
    """Mail through a real SMTP relay; a task's failure is kept in its result (as a worker
    would), so that its retries run."""
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_TIMEOUT = "127.0.0.1", 5
    yield settings
    celery_app.conf.task_eager_propagates = propagates


@pytest.fixture
def scan_on_submit(settings):
    settings.GATEHOUSE_SCAN_ON_SUBMIT = True


_repo_numbers = itertools.count()


@pytest.fixture
def make_repo(tmp_path_factory):
    def make(files: dict[str, str] | None = None) -> GitRepo:
        repo = GitRepo(tmp_path_factory.mktemp(f"repo{next(_repo_numbers)}") / "work")
        repo.commit(files or {"README.md": "# demo\n", "core/api.py": "x = 1\n"}, "initial")
        return repo

    return make


@pytest.fixture
def repo(make_repo) -> GitRepo:
    return make_repo()


def make_user(username: str, *, groups=(), superuser: bool = False):
    User = get_user_model()
    if superuser:
        user = User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    else:
        user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    for group in groups:
        user.groups.add(group)
    return user


class World:
    """The demo cast: four departments, their reviewers, two engineers and an admin."""

    def __init__(self):
        self.departments = {d.slug: d for d in ensure_default_departments()}
        self.admin = make_user("admin", superuser=True)
        self.alice = make_user("alice")
        self.bob = make_user("bob")
        self.reviewers = {
            "technical": make_user("tina", groups=[self.group("technical")]),
            "compliance": make_user("cora", groups=[self.group("compliance")]),
            "legal": make_user("leo", groups=[self.group("legal")]),
            "security": make_user("sam", groups=[self.group("security")]),
        }

    def group(self, slug: str):
        return Department.objects.get(slug=slug).reviewer_group

    def add_reviewer(self, username: str, slug: str):
        return make_user(username, groups=[self.group(slug)])

    def second_reviewer(self, slug: str):
        """Another member of the department (made once), for four-eyes confirmations."""
        User = get_user_model()
        existing = User.objects.filter(username=f"{slug}-second").first()
        return existing or self.add_reviewer(f"{slug}-second", slug)

    def set_aside(self, finding, *, state: str = "accepted_risk", reason: str = "Checked."):
        """Triage a finding as the rules ask: its department's reviewer sets it aside and,
        for a blocking one, a second reviewer of the department confirms."""
        from scans.enums import KIND_DEPARTMENT
        from scans.services import finding_confirm, finding_triage

        slug = KIND_DEPARTMENT[finding.kind]
        finding = finding_triage(
            finding=finding, actor=self.reviewers[slug], state=state, reason=reason
        )
        if finding.awaits_confirmation:
            finding = finding_confirm(finding=finding, actor=self.second_reviewer(slug))
        return finding


@pytest.fixture
def world(db) -> World:
    return World()


@pytest.fixture
def api():
    """An APIClient logged in (through the session, as a browser would be) as ``user``."""
    from rest_framework.test import APIClient

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


#: The open scope tests submit: the interface layer and core, and the community files at
#: the top (a gate counts only what is published).
OPEN_PATHS = [
    "core/**", "api/**", "README*", "LICENSE*", "CONTRIBUTING*", "CODE_OF_CONDUCT*", "SECURITY*",
]  # fmt: skip


def submit(world: World, repo: GitRepo, *, actor=None, slug: str = "mq-core", **extra):
    """Submit a new component through the real service."""
    from governance.services import ComponentDraft

    return submission_create(
        actor=actor or world.alice,
        repository_url=repo.url,
        branch=extra.pop("branch", "main"),
        justification=extra.pop("justification", "Customers ask for the client library."),
        new_component=ComponentDraft(
            name=slug.replace("-", " ").title(),
            slug=slug,
            license=extra.pop("license", "Apache-2.0"),
            open_paths=extra.pop("open_paths", OPEN_PATHS),
            internal_paths=["sharding/**"],
        ),
    ).submission


def all_yes(ticket) -> dict[int, tuple[str, str]]:
    return {q.pk: ("yes", "") for q in ticket.department.questions.all()}


def approve(ticket, user, **kwargs):
    return signoff_create(
        ticket=ticket, actor=user, decision=Decision.APPROVE, answers=all_yes(ticket), **kwargs
    )


@pytest.fixture
def empty_remote(tmp_path_factory):
    """An empty bare repository to publish to, by name: its file:// URL."""

    def make(name: str = "external") -> str:
        path = tmp_path_factory.mktemp("remote") / f"{name}.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
        return f"file://{path}"

    return make
