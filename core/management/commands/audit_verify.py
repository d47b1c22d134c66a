from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.audit import anchor_path, verify


class Command(BaseCommand):
    help = (
        "Verify the audit log: every event's hash, link and seal, the sealed chain head, and "
        "the chain against the anchors written outside the database. Exits non-zero naming "
        "the first event that was altered, removed or cut from the end."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--anchors",
            type=Path,
            help="An anchor file to check against (e.g. a copy kept elsewhere); by default "
            "GATEHOUSE_AUDIT_ANCHOR_FILE.",
        )

    def handle(self, *args, **options):
        path = options["anchors"] or anchor_path()
        report = verify(anchors_path=path)
        if report.problem is not None:
            raise CommandError(f"Audit chain broken: {report.problem.message}.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.events} events verified, sealed, and consistent "
                f"with {report.anchors} anchors in {path}."
            )
        )
