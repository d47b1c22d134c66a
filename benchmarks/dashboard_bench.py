"""Dashboard benchmark: the portfolio, release, department and chart pages at 100 and at
1,000 components (about 100 findings and 4 tickets each).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python benchmarks/dashboard_bench.py [--sizes 100 1000] [--requests 40]

It builds a throwaway test database (test_<name>, dropped at the end), fills it with
``seed_scale`` (bulk inserts of synthetic components, tickets, scans, findings and
releases; labelled synthetic), and for each size prints per page the SQL query count and
the median and p95 server time over --requests requests made with Django's test client
(no network, no browser). The admin sees the whole portfolio (the worst case); a
department reviewer sees their department page. Targets (issue 4): the portfolio at 1,000
components and 100,000 findings under 150 ms p95 on PostgreSQL, and no page's query
count growing with the data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.urls import NoReverseMatch, reverse  # noqa: E402

from releases.models import Release  # noqa: E402
from scans.models import Finding  # noqa: E402

PASSWORD = "bench-password"  # noqa: S105


def measure(client: Client, url: str, requests: int) -> tuple[int, float, float]:
    client.get(url)  # warm: templates, content types
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    queries = len(ctx.captured_queries)
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
    return queries, statistics.median(times), p95


def pages() -> list[tuple[str, str, str]]:
    release = Release.objects.order_by("pk").first()
    found = [
        ("admin", "portfolio", "/"),
        ("admin", "portfolio, filtered", "/?waiting_on=legal&blocked=1&sort=-updated"),
        ("admin", "portfolio, page 10", "/?page=10"),
        ("admin", "release page", release.get_absolute_url()),
        ("admin", "API dashboard", "/api/dashboard/?limit=50"),
    ]
    for user, name, route, args in [
        ("scale-legal", "department page", "releases:department", ["legal"]),
        ("admin", "departments", "releases:departments", []),
        ("admin", "charts", "releases:charts", []),
    ]:
        try:
            found.append((user, name, reverse(route, args=args)))
        except NoReverseMatch:
            print(f"({name}: no such page in this build, skipped)")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        User = get_user_model()
        User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
        print(f"database: {connection.vendor}; {os.cpu_count()} cores; "
              f"{args.requests} requests per page")  # fmt: skip
        results: dict[str, list[int]] = {}
        for size in args.sizes:
            began = time.perf_counter()
            out = StringIO()
            call_command("seed_scale", components=size, stdout=out)
            seeded = time.perf_counter() - began
            for user in User.objects.filter(username__startswith="scale-"):
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            print(f"\n== {size} components, {Finding.objects.count()} findings "
                  f"(seed_scale {seeded:.1f} s) ==")  # fmt: skip
            print(f"{'page':<24}{'user':<13}{'queries':>8}{'median ms':>11}{'p95 ms':>9}")
            clients: dict[str, Client] = {}
            for user, name, url in pages():
                if user not in clients:
                    clients[user] = Client()
                    assert clients[user].login(username=user, password=PASSWORD)
                queries, median, p95 = measure(clients[user], url, args.requests)
                results.setdefault(name, []).append(queries)
                print(f"{name:<24}{user:<13}{queries:>8}{median:>11.1f}{p95:>9.1f}")
        grown = [name for name, counts in results.items() if len(set(counts)) > 1]
        print("\nquery counts constant across sizes:", "yes" if not grown else f"NO: {grown}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
