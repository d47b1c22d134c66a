from django.core.management.base import BaseCommand, CommandError

from core.audit import verify_chain
from core.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Verify the audit log's hash chain; exit non-zero at the first tampered or missing event."
    )

    def handle(self, *args, **options):
        problem = verify_chain()
        if problem is not None:
            raise CommandError(f"Audit chain broken: {problem.message}.")
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {count} events verified."))
