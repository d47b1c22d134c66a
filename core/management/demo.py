"""The base of the commands that write demo data."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class DemoCommand(BaseCommand):
    """A command that seeds demo data: refused with DEBUG off (a production database),
    unless ``--force`` says this really is a demo server."""

    refusal = "DEBUG is off: this is demo data. Pass --force to seed anyway."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Run even with DEBUG off.")

    def execute(self, *args, **options):
        if not settings.DEBUG and not options.get("force"):
            raise CommandError(self.refusal)
        return super().execute(*args, **options)
