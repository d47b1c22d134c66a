"""Push webhooks for the demo: a hook on each demo repository, and on the released
component's external repository one real signed push through the receiving service, so
its delivery log shows what a push sets off (idempotent)."""

import hashlib
import hmac
import json
import uuid

from django.core.management.base import CommandError
from django.db import transaction

from core.management.demo import DemoCommand
from governance.models import Component
from integrations.models import HookDelivery, RepositoryHook
from integrations.providers import guess_provider
from integrations.services import delivery_receive, hook_rotate, hook_url


class Command(DemoCommand):
    help = "Give each demo repository a push webhook and deliver one push to an external one."

    def handle(self, *args, **options):
        components = Component.objects.select_related(
            "internal_repository", "external_repository"
        ).order_by("slug")
        made = 0
        for component in components:
            for repository in (component.internal_repository, component.external_repository):
                if (
                    repository is None
                    or RepositoryHook.objects.filter(repository=repository).exists()
                ):
                    continue
                hook, secret = hook_rotate(repository=repository, actor=None)
                made += 1
                if repository == component.external_repository:
                    self._push(hook, secret, component)
                provider = guess_provider(repository.url)
                self.stdout.write(
                    f"  {component.slug}: {hook_url(hook, provider)} (secret {secret})"
                )
        self.stdout.write(
            f"Push webhooks: {made} made; {HookDelivery.objects.count()} deliveries logged."
        )

    def _push(self, hook, secret: str, component) -> None:
        """What the forge sends when someone pushes to the external repository's branch."""
        body = json.dumps({
            "ref": f"refs/heads/{component.external_branch or 'main'}", "before": "0" * 40,
            "after": "0" * 39 + "1", "commits": [],
        }).encode()  # fmt: skip
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Gitea-Event": "push", "X-Gitea-Delivery": str(uuid.uuid4()),
                   "X-Gitea-Signature": signature}  # fmt: skip
        with transaction.atomic():
            reply = delivery_receive(
                provider="gitea", public_id=hook.public_id, headers=headers, body=body
            )
        if reply.status != 202:
            raise CommandError(f"The demo push was refused: {reply.body}")
