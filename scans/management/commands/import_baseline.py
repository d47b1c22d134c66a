import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from governance.models import Component
from scans.services import baseline_import


class Command(BaseCommand):
    help = (
        "Accept a component's findings in bulk from a baseline file (fingerprints, as "
        "export_baseline writes them), as a member of the open-source office. Audited."
    )

    def add_arguments(self, parser):
        parser.add_argument("component", help="The component's slug.")
        parser.add_argument("file", type=Path, help="The baseline JSON file.")
        parser.add_argument("--as", dest="username", required=True, help="An admin's username.")

    def handle(self, *args, component, file, username, **options):
        target = Component.objects.filter(slug=component).first()
        actor = get_user_model().objects.filter(username=username).first()
        if target is None or actor is None:
            raise CommandError("No such component or user.")
        try:
            document = json.loads(file.read_text())
            added = baseline_import(
                component=target, actor=actor, document=document, source=file.name
            )
        except (OSError, ValueError) as exc:
            raise CommandError(f"{file}: {exc}") from exc
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        self.stdout.write(f"{added} new baseline entries for {target.slug}.")
