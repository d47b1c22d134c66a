import json

from django.core.management.base import BaseCommand, CommandError

from governance.models import Component
from scans.services import baseline_export


class Command(BaseCommand):
    help = "Print a component's settled findings as a baseline (JSON) for import_baseline."

    def add_arguments(self, parser):
        parser.add_argument("component", help="The component's slug.")

    def handle(self, *args, component, **options):
        target = Component.objects.filter(slug=component).first()
        if target is None:
            raise CommandError(f"No component {component!r}.")
        self.stdout.write(json.dumps(baseline_export(component=target), indent=2))
