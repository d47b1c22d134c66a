"""Add community roles, releases and a waiver to the demo components made by ``seed_demo``.

Once the worker has scanned the demo commits, the portfolio shows rpc-interfaces ready,
mq-core ready with its community gate waived (no CODE_OF_CONDUCT yet), config-client
blocked on reviews, community files and a committer, trade-gateway blocked on a secret,
requested changes and no maintainers.

Separate from ``seed_demo`` because releases sit above reviews (reviews may not import
releases); ``make setup`` runs both. Through the real services, so the roles and releases
carry audit events and the gates are evaluated. Each release is evaluated now and again
by itself when the worker finishes the demo scans. Idempotent: roles already set and
releases already there are left alone.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils import timezone

from core.management.demo import DemoCommand
from governance.enums import CommunityRole
from governance.models import Component, ComponentRole
from governance.services import component_role_set
from releases.models import Release
from releases.services import release_create, waiver_grant
from reviews.models import Submission

# slug -> ({username: role}, version, notes)
DEMO_RELEASES = {
    "rpc-interfaces": (
        {"alice": CommunityRole.PMC, "bob": CommunityRole.COMMITTER},
        "2.1.0",
        "The interface layer: every gate passes once the scan is in.",
    ),
    "mq-core": (
        {"alice": CommunityRole.PMC, "bob": CommunityRole.COMMITTER},
        "1.0.0",
        "First public release of the broker core and the client API.",
    ),
    # mq-core has no CODE_OF_CONDUCT yet: the open-source office waives that for a month.
    "config-client": (
        {"bob": CommunityRole.PMC},
        "0.9.0",
        "Preview of the configuration client; waits on legal and a committer.",
    ),
    "trade-gateway": ({}, "0.1.0", "Blocked on purpose: findings and missing maintainers."),
}


WAIVED = (
    "mq-core",
    "community",
    "The code of conduct is being agreed with the partner foundation; due within a month.",
)


class Command(DemoCommand):
    help = "Name community roles and create releases for the demo components (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        admin = User.objects.filter(username="admin", is_superuser=True).first()
        if admin is None:
            raise CommandError("Run seed_demo first: the demo admin is missing.")
        for slug, (roles, version, notes) in DEMO_RELEASES.items():
            component = Component.objects.filter(slug=slug).first()
            if component is None:
                self.stdout.write(f"  {slug}: skipped (run seed_demo first)")
                continue
            for username, role in roles.items():
                user = User.objects.filter(username=username).first()
                if user and not ComponentRole.objects.filter(component=component, user=user):
                    component_role_set(component=component, user=user, role=role, actor=admin)
            if Release.objects.filter(component=component, version=version).exists():
                self.stdout.write(f"  {slug} {version}: skipped (release exists)")
                continue
            commit = (
                Submission.objects.filter(component=component)
                .order_by("-created_at")
                .values_list("commit", flat=True)
                .first()
            )
            release = release_create(
                component=component, actor=admin, version=version, commit=commit, notes=notes
            )
            blocked = ", ".join(g["gate"] for g in release.blocking_gates) or "nothing"
            self.stdout.write(f"  {slug} {version}: {release.state} (blocked by {blocked})")
            if slug == WAIVED[0]:
                waiver_grant(
                    actor=admin, release=release, gate=WAIVED[1], reason=WAIVED[2],
                    owner=User.objects.get(username="alice"),
                    expires_at=timezone.now() + timedelta(days=30),
                )  # fmt: skip
                self.stdout.write(f"  {slug} {version}: {WAIVED[1]} gate waived for 30 days")
