from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import call_command

from notifications.enums import Kind
from notifications.models import Notification
from tests.reviews.test_seed_demo import demo_settings, seed  # noqa: F401 - a fixture


def test_every_demo_user_has_notifications_once(db, demo_settings):  # noqa: F811
    seed()
    call_command("seed_demo_notifications", stdout=StringIO())
    first = Notification.objects.count()
    call_command("seed_demo_notifications", stdout=StringIO())  # idempotent
    assert Notification.objects.count() == first

    for user in get_user_model().objects.all():
        assert user.notifications.exists(), f"{user} has no notification"
    mention = Notification.objects.get(kind=Kind.MENTION, user__username="admin")
    assert "mentioned you" in mention.title
    assert Notification.objects.filter(kind=Kind.REVIEW, user__username="sam").exists()
