"""Check a release's evidence bundle with no database:

    python manage.py evidence_verify ARCHIVE [--repository URL] [--public-key KEY]

The manifest's signature under a trusted key (this server's evidence keys, or exactly
the ``--public-key`` given, base64, repeatable), every file's SHA-256 and size, no file
unlisted, and with ``--repository`` that the release's tag there holds the exported tree
the manifest names. Exits 0 when everything holds; otherwise 1, naming the first thing
that does not match (2 for a file that cannot be read or a malformed key).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from releases.evidence import signing
from releases.evidence.verify import verify_bundle


class Command(BaseCommand):
    help = "Verify an evidence bundle (signature, file hashes, and the tag's tree)."
    requires_system_checks: list = []  # no database, no app checks: an auditor's machine

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument(
            "--repository", help="The external repository: check the tag holds the tree."
        )
        parser.add_argument(
            "--public-key", action="append", default=[],
            help="Trust exactly this Ed25519 public key (base64); repeat for several.",
        )  # fmt: skip
        parser.add_argument("--timeout", type=float, default=300)

    def handle(self, *args, archive: Path, repository, public_key, timeout, **options):
        try:
            data = archive.read_bytes()
        except OSError as exc:
            raise CommandError(f"{archive}: {exc.strerror or exc}", returncode=2) from None
        if public_key:
            try:
                keys = [signing.parse_public(text) for text in public_key]
            except ValueError as exc:
                raise CommandError(f"--public-key: {exc}", returncode=2) from None
            trusted = {signing.key_id(raw): raw for raw in keys}
        else:
            _, trusted = signing.configured_keys()
        report = verify_bundle(
            data, trusted=trusted, repository=repository,
            allow=list(settings.GATEHOUSE_GIT_ALLOW), timeout=timeout,
        )  # fmt: skip
        for line in report.passed:
            self.stdout.write(f"ok  {line}")
        if not report.ok:
            raise CommandError(f"{archive}: {report.problem}", returncode=1)
        release = report.manifest.get("release", {})
        component = report.manifest.get("component", {})
        kind = "PREVIEW bundle" if report.manifest.get("preview") else "bundle"
        self.stdout.write(
            f"verified: {kind} of {component.get('slug')} {release.get('version')}, "
            f"built {report.manifest.get('built_at')}"
        )
