from __future__ import annotations

import itertools

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


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Unit tests run tasks in-process at commit; the Redis tests use a real worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


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


@pytest.fixture
def world(db) -> World:
    return World()


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
            open_paths=["core/**", "api/**"],
            internal_paths=["sharding/**"],
        ),
    ).submission


def all_yes(ticket) -> dict[int, tuple[str, str]]:
    return {q.pk: ("yes", "") for q in ticket.department.questions.all()}


def approve(ticket, user, **kwargs):
    return signoff_create(
        ticket=ticket, actor=user, decision=Decision.APPROVE, answers=all_yes(ticket), **kwargs
    )
