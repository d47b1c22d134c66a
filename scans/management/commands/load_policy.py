from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from scans.policy import parse_policy_yaml
from scans.services import policy_update


class Command(BaseCommand):
    help = "Load the scan policy from a YAML file (unknown keys are an error)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            fields = parse_policy_yaml(file.read_text())
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc}") from exc
        except ValidationError as exc:
            raise CommandError(f"{file}: {' '.join(exc.messages)}") from exc
        policy = policy_update(actor=None, fields=fields)
        self.stdout.write(self.style.SUCCESS(f"Loaded policy {policy.as_policy().version}."))
