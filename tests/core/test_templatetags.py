from __future__ import annotations

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from core.templatetags.gatehouse import action_words, humantime, state_icon, words

NOW = timezone.now()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (NOW - timedelta(seconds=5), "just now"),
        (NOW - timedelta(minutes=12), "12 min ago"),
        (NOW - timedelta(hours=3, minutes=10), "3 h ago"),
        (NOW - timedelta(days=2, hours=10), "2.4 days ago"),
        (NOW - timedelta(days=1), "1 day ago"),
        (NOW - timedelta(days=40, hours=5), "40 days ago"),
        (NOW + timedelta(days=5), "in 5 days"),
        (timedelta(minutes=40), "40 min"),
        (timedelta(hours=3), "3 h"),
        (2.4, "2.4 days"),
        (0.000002, "under a minute"),  # never "0.000002 days"
        (0.125, "3 h"),
        (None, ""),
    ],
)
def test_humantime_reads_ages_and_durations_as_people_say_them(value, text):
    assert humantime(value, NOW) == text


def test_words_and_action_words_never_show_raw_codes():
    assert words("changes_requested") == "changes requested"
    assert words("export_pending") == "export pending"
    assert words("backport_needed") == "back-port needed"
    assert action_words("signoff.approve") == "approved"
    assert action_words("signoff.request_changes") == "requested changes"
    assert action_words("something.never_seen") == "something never seen"


def test_every_state_has_a_shape():
    assert state_icon("approved") != state_icon("rejected") != state_icon("changes_requested")
    assert state_icon("unknown-state")


def test_nav_link_marks_the_current_page_and_section():
    template = Template(
        '{% load gatehouse %}{% nav_link "governance:components" "Components" "/releases/" %}'
    )
    factory = RequestFactory()

    def render(path):
        return template.render(Context({"request": factory.get(path)}))

    assert 'aria-current="page"' in render("/components/")
    assert 'aria-current="true"' in render("/components/mq-core/")
    assert 'aria-current="true"' in render("/releases/3/")
    assert "aria-current" not in render("/queue/")
