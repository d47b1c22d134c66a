"""Rewrite the derived tables the dashboards read: every component's finding tallies,
then the charts summary.

    python manage.py rebuild_dashboard_summaries [--chunk 1000]

Both follow the changes made through the services on their own (releases.summaries);
this is for after loading or editing rows by other means, or to check that nothing
drifted. Idempotent.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from releases.summaries import dashboard_summaries_rebuild


class Command(BaseCommand):
    help = "Rewrite the finding tallies and the charts summary the dashboards read."

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=1000, help="Components per transaction.")

    def handle(self, *args, **options):
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  tallies: {done}/{total} components")

        rows = dashboard_summaries_rebuild(chunk=max(1, options["chunk"]), progress=progress)
        self.stdout.write(
            f"rebuild_dashboard_summaries: {rows} tally rows and the charts summary "
            f"in {time.perf_counter() - started:.1f} s"
        )
