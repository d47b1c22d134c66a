"""Review workflow benchmark: how fast submissions and sign-offs are written, and how the
pages and API lists respond as the portfolio grows.

    .venv/bin/python benchmarks/review_bench.py [--sizes 100 1000] [--requests 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/review_bench.py

It builds a throwaway test database (test_<name>, dropped at the end; SQLite runs in
memory), makes real git repositories (a copy of one per component: a repository belongs
to one component), and fills the database through the real services
(git ls-remote per submission, object permissions, audit chain, e-mail tasks run in-process
against Django's in-memory mail backend). For each size it prints the write throughput,
then for each page the SQL query count and median / p95 server time over --requests
requests made with Django's test client (no network, no browser).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)

from config.celery import app as celery_app  # noqa: E402
from governance.defaults import ensure_default_departments  # noqa: E402
from governance.services import ComponentDraft  # noqa: E402
from reviews.models import ReviewTicket, Submission  # noqa: E402
from reviews.services import signoff_create, submission_create  # noqa: E402

PASSWORD = "bench-password"  # noqa: S105


def make_repo(root: Path) -> str:
    path = root / "bench-repo"
    path.mkdir()
    ident = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=path, check=True)
    (path / "README.md").write_text("# bench\n")
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    subprocess.run(["git", *ident, "commit", "-q", "-m", "init"], cwd=path, check=True)
    return f"file://{path}"


def make_people():
    User = get_user_model()
    departments = ensure_default_departments()
    reviewers = {}
    for department, name in zip(departments, ["tina", "cora", "leo", "sam"], strict=True):
        user = User.objects.create_user(name, f"{name}@example.com", PASSWORD)
        user.groups.add(department.reviewer_group)
        reviewers[department.slug] = user
    alice = User.objects.create_user("alice", "alice@example.com", PASSWORD)
    User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    return alice, reviewers


def grow(*, alice, reviewers, url: str, upto: int) -> tuple[float, float, int]:
    """Add submissions until there are ``upto``, each of its own copy of the repository at
    ``url``; every other one gets two approvals."""
    start = Submission.objects.count()
    submit_seconds = signoff_seconds = 0.0
    signoffs = 0
    template = Path(url.removeprefix("file://"))
    for i in range(start, upto):
        copy = template.parent / f"repo-{i}"
        shutil.copytree(template, copy, symlinks=True)
        url = f"file://{copy}"
        began = time.perf_counter()
        submission = submission_create(
            actor=alice,
            repository_url=url,
            branch="main",
            justification="Benchmark submission.",
            new_component=ComponentDraft(
                name=f"Component {i}", slug=f"c-{i}", license="MIT", open_paths=["**"]
            ),
        ).submission
        submit_seconds += time.perf_counter() - began
        if i % 2:
            continue
        for slug in ("technical", "legal"):
            ticket = ReviewTicket.objects.select_related("department").get(
                submission=submission, department__slug=slug
            )
            answers = {q.pk: ("yes", "") for q in ticket.department.questions.all()}
            began = time.perf_counter()
            signoff_create(
                ticket=ticket, actor=reviewers[slug], decision="approve", answers=answers
            )
            signoff_seconds += time.perf_counter() - began
            signoffs += 1
    made = upto - start
    return made / submit_seconds, signoffs / signoff_seconds if signoffs else 0.0, made


def measure(client: Client, url: str, requests: int) -> tuple[int, float, float]:
    client.get(url)  # warm: templates, content types
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    queries = len(ctx.captured_queries)  # now: the next request clears the log
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    return queries, statistics.median(times), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False
    celery_app.conf.task_always_eager = True
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = make_repo(Path(tmp))
            settings.GATEHOUSE_GIT_ALLOW = [f"file://{tmp}/"]
            alice, reviewers = make_people()
            print(f"database: {connection.vendor}; {os.cpu_count()} cores; "
                  f"{args.requests} requests per page")  # fmt: skip
            for size in args.sizes:
                rate_submit, rate_signoff, made = grow(
                    alice=alice, reviewers=reviewers, url=url, upto=size
                )
                print(f"\n== {size} submissions ({size * 4} tickets) ==")
                print(f"writes: {rate_submit:.1f} submissions/s (git ls-remote included), "
                      f"{rate_signoff:.1f} sign-offs/s, over the {made} added")  # fmt: skip
                submission = Submission.objects.order_by("pk").first()
                ticket = submission.tickets.get(department__slug="legal")
                pages = [
                    ("leo", "review queue", "/queue/"),
                    ("leo", "inbox", "/inbox/"),
                    ("leo", "portfolio", "/"),
                    ("admin", "submission list", "/submissions/"),
                    ("admin", "submission page", submission.get_absolute_url()),
                    ("leo", "ticket page", ticket.get_absolute_url()),
                    ("admin", "component list", "/components/"),
                    ("admin", "component page", submission.component.get_absolute_url()),
                    ("leo", "API tickets", "/api/tickets/?limit=50"),
                    ("admin", "API submissions", "/api/submissions/?limit=50"),
                    # what the reviewer reads of the code (issue 10)
                    ("leo", "public tree", f"/submissions/{submission.pk}/tree/"),
                    ("leo", "file view", f"/submissions/{submission.pk}/file/?path=README.md"),
                    ("leo", "API tree", f"/api/submissions/{submission.pk}/tree/"),
                    (
                        "admin",
                        "release form",
                        f"/components/{submission.component.slug}/releases/new/",
                    ),
                ]
                print(f"{'page':<18}{'user':<7}{'queries':>8}{'median ms':>11}{'p95 ms':>9}")
                clients = {}
                for user, name, url_ in pages:
                    if user not in clients:
                        clients[user] = Client()
                        clients[user].login(username=user, password=PASSWORD)
                    queries, median, p95 = measure(clients[user], url_, args.requests)
                    print(f"{name:<18}{user:<7}{queries:>8}{median:>11.1f}{p95:>9.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
