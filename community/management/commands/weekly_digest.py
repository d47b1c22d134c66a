"""Build (and store) one weekly community digest on demand and print it.

    python manage.py weekly_digest [--week YYYY-Www] [--component SLUG] [--format md|html]

Without ``--week``, the last full ISO week; without ``--component``, the portfolio's.
Building a week again replaces its digest (community.digest.digest_build).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from community.digest import digest_build, last_full_week, parse_week, render_html
from governance.models import Component


class Command(BaseCommand):
    help = "Build one weekly community digest (stored) and print it as Markdown or HTML."

    def add_arguments(self, parser):
        parser.add_argument("--week", default="", help="The ISO week, e.g. 2026-W48 (default: "
                            "the last full week).")  # fmt: skip
        parser.add_argument("--component", default="", help="A released component's slug "
                            "(default: the portfolio).")  # fmt: skip
        parser.add_argument("--format", default="md", help="md (default) or html.")

    def handle(self, *args, **options):
        fmt = options["format"].lower()
        if fmt not in ("md", "html"):
            raise CommandError(f"--format is md or html, not '{options['format']}'.")
        try:
            week = parse_week(options["week"]) if options["week"] else last_full_week()
        except ValueError as exc:
            raise CommandError(f"--week: {exc}") from exc
        component = None
        if options["component"]:
            component = Component.objects.filter(slug=options["component"]).first()
            if component is None:
                raise CommandError(f"--component: no component has the slug "
                                   f"'{options['component']}'.")  # fmt: skip
        try:
            digest = digest_build(week=week, component=component)
        except ValidationError as exc:
            raise CommandError(f"--component: {' '.join(exc.messages)}") from exc
        if fmt == "md":
            self.stdout.write(digest.markdown)
        else:
            base = settings.GATEHOUSE_BASE_URL.rstrip("/")
            self.stdout.write(render_html(digest.facts, base=base, standalone=True))
