"""The key that signs release evidence:

    python manage.py evidence_key             this server's public key and its id
    python manage.py evidence_key --generate  a new private key for GATEHOUSE_EVIDENCE_KEY

Give the public key to whoever verifies bundles (``evidence_verify --public-key``). When
rotating, keep the old public key in GATEHOUSE_EVIDENCE_OLD_PUBLIC_KEYS.
"""

from __future__ import annotations

import base64
import json
import secrets

from django.core.management.base import BaseCommand

from releases.evidence import signing


class Command(BaseCommand):
    help = "Print the evidence signing key's public half, or generate a new key."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true")

    def handle(self, *args, generate: bool, **options):
        if generate:
            seed = secrets.token_bytes(32)
            public = signing.raw_public(signing.private_key(seed))
            self.stdout.write(json.dumps({
                "GATEHOUSE_EVIDENCE_KEY": base64.b64encode(seed).decode(),
                "public_key": signing.public_text(public),
                "key_id": signing.key_id(public),
            }, indent=1))  # fmt: skip
            return
        key, trusted = signing.configured_keys()
        public = signing.raw_public(key)
        self.stdout.write(json.dumps({
            "public_key": signing.public_text(public),
            "key_id": signing.key_id(public),
            "also_trusted": [
                {"key_id": kid, "public_key": signing.public_text(raw)}
                for kid, raw in trusted.items() if kid != signing.key_id(public)
            ],
        }, indent=1))  # fmt: skip
