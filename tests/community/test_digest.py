"""The weekly digest, built from a real external repository: community commits by two
authors in two weeks, pushed outside and read back by a real sync."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from community import digest as digests
from community.digest import digest_build, render_html, render_markdown, week_start
from community.enums import EventKind
from community.models import DigestSubscription, WeeklyDigest
from community.services import event_create
from community.tasks import build_weekly_digests, email_digest
from core.models import AuditEvent
from governance.enums import Stage
from governance.models import Component
from releases.enums import ReleaseState
from releases.models import Release, SyncState
from releases.sync import backport_create, component_sync
from tests.conftest import make_user
from tests.notifications.smtp import SmtpServer
from tests.releases.conftest import (  # noqa: F401 - fixtures
    SYNC_FILES,
    _sync_dir,
    approved,
    community_commit,
    external,
    policy,
    ready,
)


def dated_commit(monkeypatch, tmp_path, external_repo, *, author: str, when: datetime,
                 files: dict[str, str], message: str) -> str:  # fmt: skip
    """A contributor's commit pushed outside, with their name and a date of our choosing."""
    email = f"{author.split()[0].lower()}@example.org"
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    with monkeypatch.context() as env:
        env.setenv("GIT_AUTHOR_NAME", author)
        env.setenv("GIT_AUTHOR_EMAIL", email)
        env.setenv("GIT_AUTHOR_DATE", stamp)
        env.setenv("GIT_COMMITTER_DATE", stamp)
        return community_commit(tmp_path, external_repo, files, message)


class Story:
    """A released component; Ann commits outside two weeks ago and last week, Ben (new)
    last week."""

    def __init__(self, p, monkeypatch, tmp_path):
        self.p = p
        self.component = p.component
        monday = week_start(timezone.now())
        self.week1 = monday - timedelta(days=14)
        self.week2 = monday - timedelta(days=7)

        def at(day, days, hour):
            return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
                days=days, hours=hour
            )

        self.ann1 = dated_commit(monkeypatch, tmp_path, p.external, author="Ann Archer",
                                 when=at(self.week1, 0, 10), files={"api/a.py": "A = 1\n"},
                                 message="Add the a module")  # fmt: skip
        self.ann2 = dated_commit(monkeypatch, tmp_path, p.external, author="Ann Archer",
                                 when=at(self.week2, 1, 9), files={"api/a.py": "A = 2\n"},
                                 message="Tune [a] *fast*")  # fmt: skip
        self.ben = dated_commit(monkeypatch, tmp_path, p.external, author="Ben Baker",
                                when=at(self.week2, 3, 16), files={"api/b.py": "B = 1\n"},
                                message="Add b, the second module")  # fmt: skip
        component_sync(component_id=self.component.pk)


@pytest.fixture
def story(ready, monkeypatch, tmp_path):  # noqa: F811
    p = ready(SYNC_FILES)
    p.publish()
    return Story(p, monkeypatch, tmp_path)


def test_digest_of_a_week_lists_its_community_commits_and_the_first_time_contributor(story):
    digest = digest_build(week=story.week2 + timedelta(days=2), component=story.component)

    assert digest.week_start == story.week2 and digest.week == digests.week_name(story.week2)
    facts = digest.facts
    assert [c["sha"] for c in facts["commits"]] == [story.ann2, story.ben]
    authors = {a["name"]: a for a in facts["authors"]}
    assert authors["Ben Baker"]["first_time"] is True
    assert authors["Ann Archer"]["first_time"] is False  # she came back: not first-time
    assert facts["activity"] == [
        {"component": "mq-core", "commits": 2, "authors": 2, "source": "workspace"}
    ]
    waiting = {c["sha"] for c in facts["backports_waiting"]}
    assert waiting == {story.ann1, story.ann2, story.ben}
    assert facts["health"][0]["authors"] == 2 and facts["health"][0]["commits"] == 3

    first = digest_build(week=story.week1, component=story.component)
    assert [(a["name"], a["first_time"]) for a in first.facts["authors"]] == [("Ann Archer", True)]


def test_rebuilding_a_week_updates_its_one_row_and_keeps_the_mailing(story):
    first = digest_build(week=story.week2, component=story.component)
    WeeklyDigest.objects.filter(pk=first.pk).update(emailed_at=timezone.now())
    again = digest_build(week=story.week2 + timedelta(days=6), component=story.component)
    assert again.pk == first.pk and again.emailed_at is not None
    assert WeeklyDigest.objects.filter(component=story.component).count() == 1
    assert AuditEvent.objects.filter(action="digest.built").count() == 2


def test_a_backport_done_that_week_and_the_commits_still_waiting(story):
    backport = backport_create(component=story.component, actor=story.p.world.alice,
                               commit=story.ben)  # fmt: skip
    component_sync(component_id=story.component.pk)
    this_week = digest_build(week=timezone.now(), component=story.component)

    done = this_week.facts["backports_done"]
    assert [(b["branch"], b["commits"]) for b in done] == [(backport.branch, [story.ben[:10]])]
    waiting = {c["sha"] for c in this_week.facts["backports_waiting"]}
    assert waiting == {story.ann1, story.ann2}
    assert this_week.facts["releases"][0]["version"] == "1.0.0"  # published this week
    assert this_week.facts["health"][0]["backports"] == 1


def test_markdown_and_html_show_the_same_facts(story):
    admin = story.p.world.admin
    event_create(
        actor=admin, title="Code lab: modules", kind=EventKind.CODE_LAB,
        starts_at=datetime.combine(story.week2, datetime.min.time(), tzinfo=UTC)
        + timedelta(days=2, hours=15),
        ends_at=datetime.combine(story.week2, datetime.min.time(), tzinfo=UTC)
        + timedelta(days=2, hours=17),
        time_zone="Europe/Berlin", report="Twelve came; slides online.",
        components=[story.component],
    )  # fmt: skip
    digest = digest_build(week=story.week2, component=story.component)
    markdown, html = digest.markdown, render_html(digest.facts)

    # The Markdown escapes what would format (the subject "Tune [a] *fast*").
    assert r"Tune \[a\] \*fast\*" in markdown and "Tune [a] *fast*" in html
    for text in ("Ann Archer", "Ben Baker", "Add b, the second module", story.ben[:10],
                 "Code lab: modules", "Twelve came; slides online.", "Europe/Berlin",
                 "16:00–18:00 Europe/Berlin", "(Wed"):  # fmt: skip
        assert text in markdown, text
        assert text in html, text
    assert "Community commits: 2 by 2 authors" in markdown
    assert "<strong>2</strong> community commits by 2 authors" in html
    assert "First-time contributors: 1" in markdown
    assert re.search(r"<ul data-testid=\"digest-first-time\">\s*<li>Ben Baker", html)
    assert "- Ben Baker — welcome!" in markdown
    # Links are absolute, ready to post.
    assert "](http://127.0.0.1:8000/community/events/" in markdown
    assert render_markdown(digest.facts) == markdown


def test_new_external_alerts_are_listed_without_what_was_found(story):
    from releases.models import ExternalAlert

    alert = ExternalAlert.objects.create(
        component=story.component, kind="secret", rule="aws-access-key", severity="blocking",
        message="An AWS access key", excerpt="AKIA…REDACTED", commit=story.ben, path="api/b.py",
        line=1, fingerprint="f" * 64, department=story.p.world.departments["security"],
    )  # fmt: skip
    digest = digest_build(week=timezone.now(), component=story.component)
    assert [(a["rule"], a["path"], a["severity"]) for a in digest.facts["alerts"]["items"]] == [
        ("aws-access-key", "api/b.py", "blocking")
    ]
    html = render_html(digest.facts)
    for text in ("aws-access-key", "api/b.py", alert.get_absolute_url()):
        assert text in digest.markdown and text in html
    assert "AKIA" not in digest.markdown + html + str(digest.facts)
    assert "New external alerts: 1" in digest.markdown


def test_only_released_components_get_a_digest(approved, external):  # noqa: F811
    state = approved(SYNC_FILES, external=f"file://{external}")
    with pytest.raises(Exception, match="no published release"):
        digest_build(week=timezone.now(), component=state.component)


def _released(n: int, admin) -> list[Component]:
    """n released components with a sync record holding two community commits each."""
    made = []
    start = len(Component.objects.all())
    for i in range(start, start + n):
        component = Component.objects.create(
            name=f"Lib {i}", slug=f"lib-{i}", created_by=admin, license="MIT",
            stage=Stage.RELEASED,
        )  # fmt: skip
        Release.objects.create(
            component=component, version="1.0.0", commit="a" * 40,
            state=ReleaseState.PUBLISHED, published_at=timezone.now(),
        )  # fmt: skip
        when = (timezone.now() - timedelta(days=1)).isoformat()
        SyncState.objects.create(
            component=component, trigger="test", status="backport_needed",
            external_head=f"{i:040x}",
            community=[{"sha": f"{i:039x}{k}", "subject": f"change {k}", "author": f"Dev {k}",
                        "email": f"dev{k}@example.org", "date": when, "backport": ""}
                       for k in range(2)],
        )  # fmt: skip
        made.append(component)
    return made


def _portfolio_queries(week) -> int:
    with CaptureQueriesContext(connection) as queries:
        digest_build(week=week, component=None)
    return len(queries)


def test_the_portfolio_digest_costs_the_same_queries_for_two_or_eight_components(world):
    week = timezone.now()
    _released(2, world.admin)
    _portfolio_queries(week)  # the first build creates the week's row; later ones update it
    small = _portfolio_queries(week)
    _released(6, world.admin)
    large = _portfolio_queries(week)
    assert large == small, (small, large)
    portfolio = WeeklyDigest.objects.get(component=None)
    assert len(portfolio.facts["health"]) == 8
    assert sum(a["commits"] for a in portfolio.facts["activity"]) == 16
    assert portfolio.facts["activity"][0]["source"] == "syncs"  # no workspace: the records


def test_the_portfolio_digest_is_cut_down_to_what_a_reader_may_see(world):
    libs = _released(2, world.admin)
    digest = digest_build(week=timezone.now(), component=None)
    reader = make_user("reader")
    from guardian.shortcuts import assign_perm

    assign_perm("governance.view_component", reader, libs[0])
    facts = digests.facts_for(reader, digest)
    assert {c["component"] for c in facts["commits"]} == {libs[0].slug}
    assert libs[1].name not in digests.markdown_for(reader, digest)
    assert libs[1].name in digests.markdown_for(world.admin, digest)


def test_the_weekly_task_mails_each_subscriber_once_when_run_twice(
    story, django_capture_on_commit_callbacks, settings
):
    world = story.p.world
    DigestSubscription.objects.create(user=world.alice, component=None)
    DigestSubscription.objects.create(user=story.p.state.pmc, component=story.component)
    # Someone who may not see the component is never mailed its digest.
    DigestSubscription.objects.create(user=world.bob, component=story.component)
    with django_capture_on_commit_callbacks(execute=True):
        assert build_weekly_digests.delay(week=digests.week_name(story.week2)) is not None
    with django_capture_on_commit_callbacks(execute=True):
        build_weekly_digests.delay(week=digests.week_name(story.week2))

    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.com", "petra@example.com"]
    message = next(m for m in mail.outbox if m.to == ["petra@example.com"])
    assert "Ben Baker" in message.body and "Mq Core community digest" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "Ben Baker" in html
    assert WeeklyDigest.objects.filter(emailed_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action="digest.emailed").count() == 2


def _three_subscribers(story):
    world = story.p.world
    for user in (world.admin, world.alice, story.p.state.pmc):
        DigestSubscription.objects.create(user=user, component=story.component)
    return digest_build(week=story.week2, component=story.component)


def test_a_relay_hanging_up_half_way_is_retried_and_mails_each_subscriber_once(
    story, relay_settings
):
    digest = _three_subscribers(story)
    with SmtpServer(hang_up_at=2) as relay:
        relay_settings.EMAIL_PORT = relay.port
        result = email_digest.apply(kwargs={"digest_id": digest.pk})
    assert result.successful(), result.traceback
    assert sorted(m["To"] for m in relay.messages) == [
        "admin@example.com", "alice@example.com", "petra@example.com"
    ]  # fmt: skip
    digest.refresh_from_db()
    assert digest.emailed_at is not None and len(digest.mailed_to) == 3
    (emailed,) = AuditEvent.objects.filter(action="digest.emailed")
    assert emailed.after["recipients"] == 3


def test_an_address_the_relay_refuses_does_not_stop_the_others(story, relay_settings):
    digest = _three_subscribers(story)
    with SmtpServer(refuse=("alice@example.com",)) as relay:
        relay_settings.EMAIL_PORT = relay.port
        assert email_digest.apply(kwargs={"digest_id": digest.pk}).result == 2
    assert sorted(m["To"] for m in relay.messages) == ["admin@example.com", "petra@example.com"]
    emailed = AuditEvent.objects.get(action="digest.emailed")
    assert (emailed.after["recipients"], emailed.after["refused"]) == (2, 1)


def test_the_weekly_task_runs_on_mondays():
    from django.conf import settings as django_settings

    entry = django_settings.CELERY_BEAT_SCHEDULE["weekly-community-digests"]
    assert entry["task"] == "community.build_weekly_digests"
    assert entry["schedule"].day_of_week == {1}


def test_the_weekly_digest_command_builds_and_prints_one(story):
    out = StringIO()
    week = digests.week_name(story.week2)
    call_command("weekly_digest", "--week", week, "--component", "mq-core", stdout=out)
    assert out.getvalue().startswith(f"# Mq Core community digest, {week}")
    assert "Ben Baker" in out.getvalue()
    html = StringIO()
    call_command("weekly_digest", "--week", week, "--format", "html", stdout=html)
    assert html.getvalue().startswith("<!doctype html>") and "Portfolio" in html.getvalue()
    assert WeeklyDigest.objects.filter(week=week).count() == 2
    default = StringIO()
    call_command("weekly_digest", stdout=default)
    assert digests.week_name(digests.last_full_week()) in default.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-48"], "not an ISO week"),
        (["--week", "2026-W60"], "has no week 60"),
        (["--component", "nope"], "no component has the slug 'nope'"),
        (["--format", "pdf"], "md or html"),
    ],
)
def test_the_weekly_digest_command_refuses_bad_arguments(world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("weekly_digest", *args, stdout=StringIO())


def test_the_weekly_digest_command_refuses_an_unreleased_component(world):
    Component.objects.create(name="Draft", slug="draft", created_by=world.admin, license="MIT")
    with pytest.raises(CommandError, match="no published release"):
        call_command("weekly_digest", "--component", "draft", stdout=StringIO())
