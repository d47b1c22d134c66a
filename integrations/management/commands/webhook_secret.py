"""Make a repository's push webhook, or give it a new secret, and print both as JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from governance.repositories import repository_for_url
from integrations.providers import PROVIDERS, guess_provider
from integrations.services import hook_rotate, hook_url


class Command(BaseCommand):
    help = (
        "Print a registered repository's push webhook URL and a new secret as JSON "
        '({"url": ..., "secret": ...}). The previous secret stops working.'
    )

    def add_arguments(self, parser):
        parser.add_argument("url", help="The repository's URL, as registered.")
        parser.add_argument(
            "--provider", choices=sorted(PROVIDERS),
            help="The forge that will call it (default: guessed from the URL's host).",
        )  # fmt: skip

    def handle(self, *args, url, provider=None, **options):
        repository = repository_for_url(url)
        if repository is None:
            raise CommandError(f"No registered repository has the URL {url!r}.")
        hook, secret = hook_rotate(repository=repository, actor=None)
        provider = provider or guess_provider(repository.url)
        self.stdout.write(json.dumps({"url": hook_url(hook, provider), "secret": secret}))
