"""Watching the external repository: a sync scans the community's new commits, a leak opens
one alert per fingerprint, tells its department and reopens that department's review;
the alert pages, triage and the portfolio's chip. Real repositories, no mocks."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import AuditEvent
from notifications.enums import Kind
from notifications.models import Notification
from notifications.services import outbox_drain
from releases.enums import GateStatus, ReleaseState
from releases.models import ExternalAlert, ExternalWatch
from releases.services import alert_triage, release_evaluate
from releases.sync import TRAILER_REV, component_sync
from reviews.enums import SignOffStatus, SubmissionState, TicketState
from reviews.models import ReviewTicket, SignOff
from tests.conftest import PASSWORD, submit
from tests.releases.conftest import community_commit, git
from tests.tokens import github_token

HOST = "wiki.corp.example-internal.net"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def ticket(component, slug: str) -> ReviewTicket:
    return ReviewTicket.objects.get(submission__component=component, department__slug=slug)


def leak(token: str) -> dict[str, str]:
    return {"api/settings.py": f'# client settings\nGITHUB_TOKEN = "{token}"\n'}


@pytest.fixture
def released(ready):
    """1.0.0 published to the external repository, and 1.0.1 of the same commit open."""

    def build():
        p = ready()
        p.publish()
        component_sync(component_id=p.component.pk)
        p.next = p.state.release("1.0.1")
        return p

    return build


def test_a_secret_committed_outside_opens_an_alert_tells_security_and_reopens_its_review(
    released, tmp_path
):
    p = released()
    token = github_token("watch")
    sha = community_commit(tmp_path, p.external, leak(token), "Configure the client")

    component_sync(component_id=p.component.pk)

    alert = ExternalAlert.objects.get()
    assert (alert.component, alert.kind, alert.department.slug) == (p.component, "secret",
                                                                    "security")  # fmt: skip
    assert (alert.commit, alert.path, alert.line) == (sha, "api/settings.py", 2)
    assert alert.author_name == "Community Dev" and alert.author_email == "dev@example.org"
    assert alert.state == ExternalAlert.State.OPEN and alert.committed_at is not None
    # The value itself is nowhere: not in the alert, not in its audit event.
    event = AuditEvent.objects.get(action="alert.opened")
    stored = " ".join([alert.excerpt, alert.message, alert.fingerprint, str(event.after)])
    assert token not in stored and token[4:20] not in stored
    assert event.after["department"] == "security" and event.after["commit"] == sha

    security = ticket(p.component, "security")
    assert security.state == TicketState.OPEN
    assert not SignOff.objects.filter(ticket=security, status=SignOffStatus.CURRENT).exists()
    assert ticket(p.component, "legal").state == TicketState.APPROVED  # only security's
    assert security.submission.state == SubmissionState.IN_REVIEW
    reopened = AuditEvent.objects.filter(action="ticket.state_changed").order_by("-seq").first()
    assert reopened.after == {"state": "open", "reason": f"external alert #{alert.pk}: {alert}"}

    p.next.refresh_from_db()
    reviews = next(g for g in p.next.gates if g["gate"] == "reviews")
    assert p.next.state == ReleaseState.BLOCKED and reviews["status"] == GateStatus.BLOCKED
    assert "Security has 0 of 1 approvals" in reviews["reason"]
    assert f"reopened by an external alert: {alert}" in reviews["reason"]
    assert alert.get_absolute_url() in [e["url"] for e in reviews["evidence"]]

    outbox_drain()
    sam = p.world.reviewers["security"]
    told = Notification.objects.filter(user=sam)
    alerted = told.get(kind=Kind.ALERT)
    assert alerted.url == alert.get_absolute_url() and "api/settings.py" in alerted.body
    assert told.filter(kind=Kind.REVIEW, title__contains="needed again").exists()
    assert Notification.objects.filter(user=p.world.alice, kind=Kind.ALERT).exists()  # owner
    assert not Notification.objects.filter(user=p.world.reviewers["legal"], kind=Kind.ALERT)


def test_security_signs_off_again_in_the_normal_way_and_the_gate_passes(released, tmp_path):
    from tests.conftest import approve

    p = released()
    community_commit(tmp_path, p.external, leak(github_token("again")), "Configure")
    component_sync(component_id=p.component.pk)
    alert = ExternalAlert.objects.get()
    alert_triage(alert=alert, actor=p.world.reviewers["security"], state="fixed",
                 reason="Token revoked, commit reverted.")  # fmt: skip
    assert ticket(p.component, "security").state == TicketState.OPEN  # triage keeps it open
    approve(ticket(p.component, "security"), p.world.reviewers["security"])
    release = release_evaluate(release_id=p.next.pk, trigger="test")
    reviews = next(g for g in release.gates if g["gate"] == "reviews")
    assert reviews["status"] == GateStatus.PASS, reviews["reason"]


def test_an_internal_hostname_committed_outside_goes_to_compliance(released, tmp_path):
    p = released()
    community_commit(tmp_path, p.external, {"api/hosts.py": f'WIKI = "https://{HOST}/x"\n'},
                     "Point at the wiki")  # fmt: skip
    component_sync(component_id=p.component.pk)
    alert = ExternalAlert.objects.get()
    assert (alert.kind, alert.department.slug, alert.path) == ("internal_ref", "compliance",
                                                               "api/hosts.py")  # fmt: skip
    assert ticket(p.component, "compliance").state == TicketState.OPEN
    assert ticket(p.component, "security").state == TicketState.APPROVED
    outbox_drain()
    assert Notification.objects.filter(user=p.world.reviewers["compliance"], kind=Kind.ALERT)
    assert not Notification.objects.filter(user=p.world.reviewers["security"], kind=Kind.ALERT)


def test_the_same_leak_in_two_commits_or_seen_by_a_second_sync_is_one_alert(released, tmp_path):
    p = released()
    token = github_token("twice")
    first = community_commit(tmp_path, p.external, leak(token), "Configure the client")
    component_sync(component_id=p.component.pk)
    component_sync(component_id=p.component.pk)  # nothing moved
    second = community_commit(
        tmp_path, p.external,
        {"api/settings.py": f'# client settings, v2\nGITHUB_TOKEN = "{token}"\nRETRIES = 3\n'},
        "Retry the client",
    )  # fmt: skip
    component_sync(component_id=p.component.pk)
    alert = ExternalAlert.objects.get()
    assert alert.commit == first  # where it came in
    assert AuditEvent.objects.filter(action="alert.opened").count() == 1
    watch = ExternalWatch.objects.get(component=p.component)
    assert watch.head == second and watch.scanned == [] and watch.error == ""
    # Reopened once: one sign-off went stale, one transition to open.
    assert AuditEvent.objects.filter(action="ticket.signoffs_stale").count() == 1


def test_gatehouse_exports_are_not_scanned_only_community_commits(released, tmp_path):
    p = released()
    export = p.release.external_commit
    # A commit that says it is Gatehouse's export (the trailer) is not the community's: the
    # watcher starts after it, whatever it holds.
    fake = community_commit(
        tmp_path, p.external, leak(github_token("export")),
        f"Release v1.0.9\n\n{TRAILER_REV}: {p.release.commit}\n",
    )  # fmt: skip
    assert TRAILER_REV in git(p.external, "log", "-1", "--format=%B", "main")
    component_sync(component_id=p.component.pk)
    assert not ExternalAlert.objects.exists()
    clean = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    component_sync(component_id=p.component.pk)
    assert not ExternalAlert.objects.exists()
    watch = ExternalWatch.objects.get(component=p.component)
    assert watch.head == clean and export != fake


def test_a_clean_community_commit_opens_nothing_and_is_scanned_once(released, tmp_path):
    p = released()
    sha = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add the v2 API")
    component_sync(component_id=p.component.pk)
    assert not ExternalAlert.objects.exists()
    assert ExternalWatch.objects.get(component=p.component).head == sha
    assert ticket(p.component, "security").state == TicketState.APPROVED
    p.next.refresh_from_db()
    assert next(g for g in p.next.gates if g["gate"] == "reviews")["status"] == GateStatus.PASS


def test_a_backlog_is_scanned_a_few_commits_a_sync_newest_first(released, tmp_path, settings):
    settings.GATEHOUSE_WATCH_MAX_COMMITS = 1
    p = released()
    older = community_commit(tmp_path, p.external, leak(github_token("old")), "Configure")
    newer = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    component_sync(component_id=p.component.pk)
    watch = ExternalWatch.objects.get(component=p.component)
    assert watch.scanned == [newer] and not ExternalAlert.objects.exists()
    component_sync(component_id=p.component.pk)  # nothing moved: the backlog goes on
    assert ExternalAlert.objects.get().commit == older
    watch.refresh_from_db()
    assert watch.head == newer and watch.scanned == []


def test_a_pass_cut_short_marks_nothing_seen_and_the_next_sync_scans_it(
    released, tmp_path, settings
):
    p = released()
    sha = community_commit(tmp_path, p.external, leak(github_token("late")), "Configure")
    settings.GATEHOUSE_SCAN_TIME_LIMIT = 0  # the watcher's limit; the fetch is given its own
    component_sync(component_id=p.component.pk, timeout=60)
    watch = ExternalWatch.objects.get(component=p.component)
    assert watch.scanned == [] and watch.head != sha and "time limit" in watch.error
    assert not ExternalAlert.objects.exists()
    settings.GATEHOUSE_SCAN_TIME_LIMIT = 600
    component_sync(component_id=p.component.pk)
    assert ExternalAlert.objects.get().commit == sha
    watch.refresh_from_db()
    assert watch.head == sha and watch.error == ""


def test_a_file_over_the_blob_limit_is_read_in_parts_as_the_scanner_does(
    released, tmp_path, settings
):
    settings.GATEHOUSE_SCAN_MAX_BLOB_BYTES = 4096
    p = released()
    padding = "".join(f"RETRIES_{n} = {n}\n" for n in range(600))  # ~9 kB before the token
    text = padding + f'GITHUB_TOKEN = "{github_token("large")}"\n'
    community_commit(tmp_path, p.external, {"api/big_settings.py": text}, "Big settings")
    component_sync(component_id=p.component.pk)
    alert = ExternalAlert.objects.get()
    assert (alert.path, alert.line) == ("api/big_settings.py", 601)


def test_the_history_behind_the_last_export_is_not_scanned_on_the_first_watch(ready, tmp_path):
    """A component with history: the first watch reads only what is not behind an export
    (the decision that keeps a first sync from flooding)."""
    p = ready()
    community_commit(tmp_path, p.external, leak(github_token("before")), "Before the export")
    p.publish()  # exported on top of it, before any sync watched it
    ExternalWatch.objects.filter(component=p.component).delete()  # as before the watcher
    component_sync(component_id=p.component.pk)
    assert not ExternalAlert.objects.exists()


def test_a_leak_pushed_just_before_a_publish_is_still_caught(ready, tmp_path):
    p = ready()
    component_sync(component_id=p.component.pk)
    community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    component_sync(component_id=p.component.pk)  # the watcher has seen the external head
    sha = community_commit(tmp_path, p.external, leak(github_token("race")), "Configure")
    p.publish()  # the export lands on top before the next sync
    component_sync(component_id=p.component.pk)
    assert ExternalAlert.objects.get().commit == sha


# --------------------------------------------------------------------------- the pages


@pytest.fixture
def alerted(released, tmp_path):
    p = released()
    community_commit(tmp_path, p.external, leak(github_token("page")), "Configure the client")
    component_sync(component_id=p.component.pk)
    p.alert = ExternalAlert.objects.get()
    return p


def test_the_component_page_loads_the_alerts_section_and_the_alert_page_shows_it(client, alerted):
    p = alerted
    login(client, p.world.alice)
    page = client.get(p.component.get_absolute_url()).content.decode()
    url = reverse("releases:component-alerts", args=[p.component.slug])
    assert f'hx-get="{url}"' in page and page.index('id="sync"') < page.index('id="alerts"')
    section = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert f'data-alert="{p.alert.pk}"' in section and "api/settings.py:2" in section
    assert "<html" not in section
    detail = client.get(p.alert.get_absolute_url()).content.decode()
    assert "Secret in the external repository" in detail and p.alert.commit in detail
    assert 'data-testid="alert-triage-form"' not in detail  # an owner: a stake
    assert "someone without a stake" in detail


def test_triage_by_a_non_reviewer_is_refused_and_by_security_clears_the_chip(client, alerted):
    p = alerted
    url = p.alert.get_absolute_url()
    data = {"state": "dismissed", "reason": "A revoked test token."}
    login(client, p.world.admin)
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="alerts-chip"' in home and "1 alert<" in home
    assert re.search(r'open-alerts-counter"><strong>1</strong>', home)

    login(client, p.world.bob)  # cannot see the component
    assert client.get(url).status_code == 404 and client.post(url, data).status_code == 404
    login(client, p.world.alice)  # the owner
    assert client.post(url, data).status_code == 403
    tina = p.world.reviewers["technical"]  # sees the component, not security's to judge
    login(client, tina)
    assert 'data-testid="alert-triage-form"' not in client.get(url).content.decode()
    assert client.post(url, data).status_code == 403
    p.alert.refresh_from_db()
    assert p.alert.state == ExternalAlert.State.OPEN

    login(client, p.world.reviewers["security"])
    assert 'data-testid="alert-triage-form"' in client.get(url).content.decode()
    bad = client.post(url, {"state": "dismissed", "reason": ""})
    assert bad.status_code == 400 and "This field is required" in bad.content.decode()
    odd = client.post(url, {"state": "gone", "reason": "x"})
    assert odd.status_code == 400
    done = client.post(url, data)
    assert done.status_code == 302
    p.alert.refresh_from_db()
    assert p.alert.state == "dismissed" and p.alert.triaged_by == p.world.reviewers["security"]
    event = AuditEvent.objects.get(action="alert.triaged")
    assert event.before == {"state": "open"} and event.after["reason"] == data["reason"]
    assert ticket(p.component, "security").state == TicketState.OPEN  # still to sign again

    login(client, p.world.admin)
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="alerts-chip"' not in home
    assert re.search(r'open-alerts-counter"><strong>0</strong>', home)


def test_an_alert_of_a_component_the_attacker_cannot_see_is_404(client, alerted, make_repo):
    p = alerted
    submit(p.world, make_repo(), slug="bobs", actor=p.world.bob)
    login(client, p.world.bob)
    data = {"state": "dismissed", "reason": "Nothing to see."}
    for url in (
        reverse("releases:alert", args=["bobs", p.alert.pk]),  # his slug, their alert
        p.alert.get_absolute_url(),
        reverse("releases:component-alerts", args=[p.component.slug]),
    ):
        assert client.get(url).status_code == 404, url
        assert client.post(url, data).status_code in (404, 405), url
    p.alert.refresh_from_db()
    assert p.alert.state == ExternalAlert.State.OPEN


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_portfolio_and_alert_pages_query_counts_do_not_grow_with_alerts(client, world, make_repo):
    def grow(prefix: str, n: int):
        for i in range(n):
            component = submit(world, make_repo(), slug=f"{prefix}-{i}").component
            for j in range(i + 1):
                ExternalAlert.objects.create(
                    component=component, kind="secret", rule="github-token", severity="blocking",
                    message="A GitHub token.", commit=f"{j:040x}", path=f"api/{j}.py", line=1,
                    fingerprint=f"{prefix}{i}-{j}", department=world.departments["security"],
                )  # fmt: skip

    grow("small", 2)
    users = [world.admin, world.alice]
    slug = "small-1"
    alert = ExternalAlert.objects.filter(component__slug=slug).first()
    urls = [reverse("home"), reverse("releases:component-alerts", args=[slug]),
            alert.get_absolute_url()]  # fmt: skip

    def measure():
        counts = []
        for user in users:
            login(client, user)
            for url in urls:
                client.get(url)  # warm the caches
                counts.append(_queries(client, url))
        return counts

    small = measure()
    grow("large", 6)
    ExternalAlert.objects.bulk_create(
        ExternalAlert(
            component=alert.component,
            kind="internal_ref",
            rule="internal-domain",
            severity="blocking",
            message="An internal host.",
            commit="f" * 40,
            path=f"api/more{k}.py",
            fingerprint=f"more-{k}",
            department=world.departments["compliance"],
        )  # fmt: skip
        for k in range(5)
    )
    large = measure()
    assert small == large
    login(client, world.admin)
    home = client.get(reverse("home")).content.decode()
    assert home.count('data-testid="alerts-chip"') == 8
    assert re.search(r'open-alerts-counter"><strong>29</strong>', home)
