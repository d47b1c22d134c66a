"""Dashboard benchmark: the portfolio, the dashboard API, a department page and the charts
at 100, 1,000 and 10,000 components (about 100 findings and 4 tickets each).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scalebench \\
        .venv/bin/python benchmarks/dashboard_bench.py [--sizes 100 1000 10000] [--requests 40]

It builds a throwaway test database (test_<name>, dropped at the end unless --keep, which
leaves it for EXPLAIN ANALYZE in psql), fills it with ``seed_scale`` (bulk inserts of
synthetic components, tickets, scans, findings and releases, labelled synthetic; each
size adds to the one before, so the seed time printed is the increment's), and for each
size prints per page the SQL query count and the median and p95 server time over
--requests requests made with Django's test client (no network, no browser; the test-only
template instrumentation, which copies every template context, is left off). The admin
sees the whole portfolio (the worst case) and calls the API with an API token; a
department reviewer sees their department page. The charts page reads the
portfolio-wide charts summary; the time of the refresh that keeps it (a debounced task)
is printed below each table (its "p95" column is the slowest of five).

Targets (issue 12): at every size each page's p95 under 150 ms on PostgreSQL, and every
page's query count the same at the smallest and the largest size. The script exits 1 when
a query count differs (a p95 over the target is reported, not fatal: timings vary with
the machine).
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
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from core.tokens import token_create  # noqa: E402
from governance.models import Component  # noqa: E402
from releases.models import Release  # noqa: E402
from releases.summaries import chart_summary_refresh  # noqa: E402
from scans.models import Finding  # noqa: E402

PASSWORD = "bench-password"  # noqa: S105
TARGET_MS = 150.0
#: (key, label, user, path); the first four are the pages the targets are about.
TARGETED = 4


def pages() -> list[tuple[str, str, str, str]]:
    release = Release.objects.order_by("pk").first()
    return [
        ("portfolio", "portfolio", "admin", "/"),
        ("api", "API dashboard (token)", "admin", "/api/dashboard/"),
        ("department", "department page", "scale-legal", reverse("releases:department",
                                                                  args=["legal"])),
        ("charts", "charts", "admin", reverse("releases:charts")),
        # Not among the targets; measured for the record.
        ("filtered", "portfolio, filtered", "admin", "/?waiting_on=legal&blocked=1&sort=-updated"),
        ("page10", "portfolio, page 10", "admin", "/?page=10"),
        ("release", "release page", "admin", release.get_absolute_url()),
        ("departments", "departments", "admin", reverse("releases:departments")),
    ]  # fmt: skip


def measure(get, requests: int) -> tuple[int, float, float]:
    """Queries of one request (after a warm one), then the median and p95 (nearest rank)
    of ``requests`` more, in milliseconds."""
    get()  # warm: templates, content types, permission caches
    with CaptureQueriesContext(connection) as ctx:
        response = get()
    assert response.status_code == 200, response.status_code
    queries = len(ctx.captured_queries)  # now: every request after this clears the log
    times = []
    for _ in range(requests):
        began = time.perf_counter()
        get()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return queries, statistics.median(times), p95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--findings", type=int, default=100, help="Per component.")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Keep the test database at the end (for EXPLAIN ANALYZE in psql); drop it by hand.",
    )
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["testserver"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        User = get_user_model()
        admin = User.objects.create_superuser("admin", "admin@example.com", PASSWORD)
        _, key = token_create(user=admin, name="dashboard benchmark")
        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; "
              f"{os.cpu_count()} cores; {args.requests} requests per page; "
              f"target p95 < {TARGET_MS:.0f} ms")  # fmt: skip
        queries: dict[str, dict[int, int]] = {}
        misses = []
        for size in sizes:
            before = Component.objects.count()
            began = time.perf_counter()
            out = StringIO()
            call_command("seed_scale", components=size, findings=args.findings, stdout=out)
            seeded = time.perf_counter() - began
            for user in User.objects.filter(username__startswith="scale-"):
                user.set_password(PASSWORD)
                user.save(update_fields=["password"])
            print(f"\n== {size} components, {Finding.objects.count()} findings "
                  f"(seed_scale added {size - before} in {seeded:.1f} s) ==")  # fmt: skip
            print(f"{'page':<24}{'user':<13}{'queries':>8}{'median ms':>11}{'p95 ms':>9}"
                  f"  p95 < {TARGET_MS:.0f}")  # fmt: skip
            clients: dict[str, Client] = {}
            for n, (key_, label, username, url) in enumerate(pages()):
                if username not in clients:
                    clients[username] = Client()
                    assert clients[username].login(username=username, password=PASSWORD)
                if key_ == "api":
                    client = Client()  # the token alone, no session

                    def get(client=client, url=url):
                        return client.get(url, HTTP_AUTHORIZATION=f"Token {key}")
                else:

                    def get(client=clients[username], url=url):
                        return client.get(url)

                count, median, p95 = measure(get, args.requests)
                queries.setdefault(label, {})[size] = count
                verdict = ("yes" if p95 < TARGET_MS else "NO") if n < TARGETED else "-"
                if n < TARGETED and p95 >= TARGET_MS:
                    misses.append(f"{label} at {size} ({p95:.0f} ms)")
                print(f"{label:<24}{username:<13}{count:>8}{median:>11.1f}{p95:>9.1f}"
                      f"  {verdict}")  # fmt: skip
            # What the charts page no longer does per request: the debounced refresh.
            with CaptureQueriesContext(connection) as ctx:
                chart_summary_refresh()
            took = []
            for _ in range(5):
                began = time.perf_counter()
                chart_summary_refresh()
                took.append((time.perf_counter() - began) * 1000)
            print(f"{'(charts summary refresh)':<24}{'task':<13}{len(ctx.captured_queries):>8}"
                  f"{statistics.median(took):>11.1f}{max(took):>9.1f}  -")  # fmt: skip
        small, large = sizes[0], sizes[-1]
        grown = [
            f"{label} ({counts[small]} → {counts[large]})"
            for label, counts in queries.items()
            if counts[small] != counts[large]
        ]
        print(f"\nquery counts identical at {small} and {large} components:",
              "yes" if not grown else "NO: " + ", ".join(grown))  # fmt: skip
        print(f"p95 under {TARGET_MS:.0f} ms on the targeted pages at every size:",
              "yes" if not misses else "NO: " + ", ".join(misses))  # fmt: skip
        return 1 if grown else 0
    finally:
        if args.keep:
            print(f"kept database {connection.settings_dict['NAME']}")
        else:
            connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
