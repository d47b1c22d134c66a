from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from core.tokens import token_create


class Command(BaseCommand):
    help = (
        "Make an API token for a user (an automation account, say) and print it once. "
        "Gatehouse stores only its hash."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="What the token is for.")
        parser.add_argument("--days", type=int, default=None, help="How long it lasts.")

    def handle(self, *args, username, name, days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user is called {username!r}.")
        try:
            token, key = token_create(user=user, name=name, days=days, actor=user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stderr.write(
            f"Token {token.prefix}… for {username}, valid until {token.expires_at:%Y-%m-%d}."
        )
        self.stdout.write(key)
