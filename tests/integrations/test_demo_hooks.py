from io import StringIO

from django.core.management import call_command

from governance.models import Component
from integrations.models import HookDelivery, RepositoryHook
from tests.reviews.test_seed_demo import demo_settings, seed  # noqa: F401 - a fixture


def test_every_demo_repository_gets_one_hook_and_an_external_one_a_push(db, demo_settings):  # noqa: F811
    seed()
    out = StringIO()
    call_command("seed_demo_hooks", stdout=out)
    call_command("seed_demo_hooks", stdout=StringIO())  # idempotent
    repositories = {
        pk
        for pair in Component.objects.values_list("internal_repository", "external_repository")
        for pk in pair
        if pk
    }
    assert set(RepositoryHook.objects.values_list("repository", flat=True)) == repositories
    pushes = HookDelivery.objects.filter(verified=True, event="push")
    assert pushes.exists() and all(d.hook.repository.kind == "external" for d in pushes)
    assert pushes.count() == Component.objects.exclude(external_repository=None).count()
    assert "/api/hooks/" in out.getvalue()
