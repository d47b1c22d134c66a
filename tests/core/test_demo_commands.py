import pytest
from django.core.management import CommandError, call_command

from tests.test_run_script import setup_commands

SEEDS = [command[0] for command in setup_commands() if command[0].startswith("seed_demo")]


def test_make_setup_seeds_every_part_of_the_demo():
    assert SEEDS == [
        "seed_demo", "seed_demo_releases", "seed_demo_sync", "seed_demo_hooks",
        "seed_demo_votes", "seed_demo_community", "seed_demo_notifications",
    ]  # fmt: skip


@pytest.mark.parametrize("command", SEEDS)
def test_a_demo_seed_refuses_a_production_database(db, settings, command):
    """DEBUG off is production: demo users with a published password, demo repositories
    and votes must not appear there unless someone insists."""
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command(command)
