"""The department pages and the charts page: content, permissions, figures, query counts,
and the SVG the charts module draws."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import Component, Department
from releases import charts, departments
from releases.models import ExternalAlert, Release, SyncState
from releases.summaries import finding_tallies_refresh
from reviews.enums import SignOffStatus, TicketState
from reviews.models import ReviewTicket, SignOff, Submission
from scans.models import Finding, ScanRun
from tests.conftest import PASSWORD, approve, submit

SVG = "{http://www.w3.org/2000/svg}"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def legal_ticket(submission) -> ReviewTicket:
    return ReviewTicket.objects.select_related("department", "submission").get(
        submission=submission, department__slug="legal"
    )


def svgs(page: str) -> list[ET.Element]:
    """Every inline SVG of the page, parsed as XML (fails if one is not well-formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg\b.*?</svg>", page, flags=re.S)]


def bars(svg: ET.Element) -> dict[str, str]:
    """Tooltip text → value of every bar or point."""
    marks = svg.findall(f".//{SVG}rect[@class='bar']") + svg.findall(f".//{SVG}circle")
    return {m.find(f"{SVG}title").text: m.get("data-value") for m in marks}


def counter(page: str, name: str) -> str:
    return re.search(rf'data-counter="{name}"[^>]*><strong>([^<]*)</strong>', page).group(1)


def workload(page: str, username: str) -> dict[str, str]:
    row = re.search(rf'<tr data-reviewer="{username}">(.*?)</tr>', page, flags=re.S).group(1)
    cells = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    cells["last"] = re.sub(r"<[^>]+>", "", row.split("</td>")[-2]).strip()
    return cells


# --- The department page ---------------------------------------------------------------


def test_department_page_lists_open_tickets_overdue_first_and_flagged(client, world, make_repo):
    now = timezone.now()
    fresh = submit(world, make_repo(), slug="alpha")
    late = submit(world, make_repo(), slug="beta")
    sent_back = submit(world, make_repo(), slug="gamma")
    # Legal's SLA is 10 days: 12 days waiting is overdue; 30 days with changes requested
    # waits on the submitter, not on the department.
    ReviewTicket.objects.filter(pk=legal_ticket(late).pk).update(
        created_at=now - timedelta(days=12)
    )
    ReviewTicket.objects.filter(pk=legal_ticket(sent_back).pk).update(
        created_at=now - timedelta(days=30), state=TicketState.CHANGES_REQUESTED, decided_at=now
    )
    page = (
        login(client, world.reviewers["legal"])
        .get(reverse("releases:department", args=["legal"]))
        .content.decode()
    )

    order = [int(pk) for pk in re.findall(r'data-ticket="(\d+)"', page)]
    assert order == [legal_ticket(s).pk for s in (late, sent_back, fresh)]
    late_row = re.search(rf'data-ticket="{legal_ticket(late).pk}".*?</tr>', page, re.S).group(0)
    assert "row-overdue" in page.split(f'data-ticket="{legal_ticket(late).pk}"')[0][-40:]
    assert "12 days ago</time> — overdue" in late_row and "Beta" in late_row
    assert page.count("— overdue") == 1
    assert '30 days ago</time> <span class="muted">(waiting on the submitter)</span>' in page
    assert f"#{late.pk}" in late_row and late.short_commit in late_row
    assert counter(page, "open") == "3" and counter(page, "overdue") == "1"
    # The index agrees, and the nav links to it.
    index = client.get(reverse("releases:departments")).content.decode()
    legal_row = re.search(r'data-department="legal">.*?</tr>', index, re.S).group(0)
    assert 'data-count="open">3<' in legal_row and 'data-count="overdue" class="overdue">1<' in (
        legal_row
    )
    assert f'href="{reverse("releases:departments")}" aria-current="page">Departments</a>' in index
    assert f'href="{reverse("releases:charts")}">Charts</a>' in index


def test_department_page_is_for_its_reviewers_and_admins(client, world):
    legal = reverse("releases:department", args=["legal"])
    security = reverse("releases:department", args=["security"])
    assert client.get(legal).status_code == 302  # anonymous: to the login page
    login(client, world.reviewers["legal"])
    assert client.get(legal).status_code == 200
    assert client.get(security).status_code == 404
    index = client.get(reverse("releases:departments")).content.decode()
    assert f'href="{legal}"' in index and f'href="{security}"' not in index
    login(client, world.alice)
    assert client.get(legal).status_code == 404
    index = client.get(reverse("releases:departments")).content.decode()
    assert index.count('<tr data-department="') == 4 and f'href="{legal}"' not in index
    login(client, world.admin)
    assert client.get(security).status_code == 200
    assert client.get(reverse("releases:department", args=["nope"])).status_code == 404
    assert f'href="{security}"' in client.get(reverse("releases:departments")).content.decode()


def test_workload_counts_current_decisions_waiting_tickets_and_last_decision(
    client, world, make_repo
):
    Department.objects.filter(slug="legal").update(quorum=2)  # one approval leaves it pending
    leo = world.reviewers["legal"]
    world.add_reviewer("lena", "legal")
    a, b, _c = (submit(world, make_repo(), slug=f"load-{i}") for i in range(3))
    approve(legal_ticket(a), leo)
    approve(legal_ticket(b), leo)
    security = ReviewTicket.objects.get(submission=a, department__slug="security")
    approve(security, world.reviewers["security"])
    SignOff.objects.filter(ticket=legal_ticket(a), reviewer=leo).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    page = login(client, leo).get(reverse("releases:department", args=["legal"])).content.decode()

    assert workload(page, "leo") == {"decisions_30d": "1", "awaiting": "1", "last": "just now"}
    assert workload(page, "lena") == {"decisions_30d": "0", "awaiting": "3", "last": "never"}
    assert 'data-reviewer="sam"' not in page  # security's reviewer is not legal's
    assert counter(page, "open") == "3"
    # A stale sign-off is no current decision: leo's tickets wait on him again.
    SignOff.objects.filter(reviewer=leo).update(status=SignOffStatus.STALE)
    page = client.get(reverse("releases:department", args=["legal"])).content.decode()
    assert workload(page, "leo") == {"decisions_30d": "0", "awaiting": "3", "last": "just now"}


def test_department_counters_count_approvals_and_the_median_days_to_decision(
    client, world, make_repo
):
    now = timezone.now()
    # (state, created days ago, decided days ago): within 90 days the decisions took 2, 4,
    # 6 and 10 days (median 5); the 50-day one was decided 100 days ago and is left out.
    history = [
        (TicketState.APPROVED, 3, 1),
        (TicketState.APPROVED, 9, 5),
        (TicketState.APPROVED, 26, 20),
        (TicketState.REJECTED, 70, 60),
        (TicketState.APPROVED, 150, 100),
    ]
    for i, (state, created, decided) in enumerate(history):
        ticket = legal_ticket(submit(world, make_repo(), slug=f"done-{i}"))
        ReviewTicket.objects.filter(pk=ticket.pk).update(
            state=state,
            created_at=now - timedelta(days=created),
            decided_at=now - timedelta(days=decided),
        )
    legal = Department.objects.get(slug="legal")
    counters = departments.department_counters(legal, now=now)
    assert (counters.open, counters.overdue, counters.approved_30d) == (0, 0, 3)
    assert counters.decided_90d == 4 and counters.median_days_90d == pytest.approx(5.0)
    page = (
        login(client, world.admin)
        .get(reverse("releases:department", args=["legal"]))
        .content.decode()
    )
    assert counter(page, "approved_30d") == "3" and counter(page, "median_days_90d") == "5 days"
    assert "No open ticket." in page
    # An odd count takes the middle one: without the 10-day rejection, 4 days.
    ReviewTicket.objects.filter(state=TicketState.REJECTED).update(
        decided_at=now - timedelta(days=95)
    )
    assert departments.department_counters(legal, now=now).median_days_90d == pytest.approx(4.0)


# --- The charts page -------------------------------------------------------------------


def _scan(submission, finished_at, findings) -> ScanRun:
    scan = ScanRun.objects.create(
        repository=submission.repository, component=submission.component,
        commit=submission.commit, status="done", engine_version="test", policy_version="test",
        finished_at=finished_at,
    )  # fmt: skip
    Finding.objects.bulk_create(
        Finding(scan=scan, kind=kind, rule="r", severity=severity, message="m",
                fingerprint=f"{scan.pk}-{n}", **extra)
        for n, (kind, severity, extra) in enumerate(findings)
    )  # fmt: skip
    # What the scan_finished signal does after a real scan commits.
    finding_tallies_refresh(component_ids=[submission.component_id])
    return scan


def test_charts_page_draws_the_figures_of_known_data(client, world, make_repo):
    now = timezone.now()
    weeks = departments.week_starts(now)
    label = [f"{w.day} {w:%b}" for w in weeks]
    start = [departments._start_of(w) for w in weeks]
    mine = [submit(world, make_repo(), slug=f"mine-{i}") for i in range(3)]
    theirs = submit(world, make_repo(), slug="theirs", actor=world.bob)  # alice cannot see it
    Submission.objects.filter(pk=mine[2].pk).update(created_at=now - timedelta(days=14))
    Release.objects.create(component=mine[0].component, version="1.0.0", commit="a" * 40)
    old = Release.objects.create(component=mine[1].component, version="1.0.0", commit="b" * 40)
    Release.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=7))
    ReviewTicket.objects.filter(pk=legal_ticket(mine[0]).pk).update(
        state=TicketState.APPROVED,
        created_at=now - timedelta(days=5),
        decided_at=now - timedelta(days=1),
    )
    # Three weeks ago a scan with two open secrets, one secret triaged two weeks ago, one
    # hygiene warning and an informational finding (never counted); this week a rescan
    # with one secret left.
    triaged_later = {"state": "false_positive", "triaged_at": start[-2] + timedelta(hours=1)}
    _scan(mine[0], start[-3] + timedelta(hours=1), [
        ("secret", "blocking", {}), ("secret", "blocking", {}),
        ("secret", "blocking", triaged_later), ("hygiene", "warning", {}), ("license", "info", {}),
    ])  # fmt: skip
    _scan(mine[0], start[-1], [("secret", "blocking", {})])
    _scan(theirs, start[-2], [("internal_ref", "blocking", {})] * 4)
    # Sync rows mark changes: export pending two weeks ago, in sync since this week.
    for when, status in [(start[-2] + timedelta(hours=2), "export_pending"),
                         (start[-1] + timedelta(hours=2), "in_sync")]:  # fmt: skip
        row = SyncState.objects.create(component=mine[1].component, trigger="t", status=status)
        SyncState.objects.filter(pk=row.pk).update(created_at=when)

    page = login(client, world.alice).get(reverse("releases:charts")).content.decode()
    activity, medians, findings, syncs = svgs(page)
    points = bars(syncs)
    assert points[f"Export pending, {label[-2]}: 1"] == "1"
    assert points[f"Export pending, {label[-1]}: 0"] == "0"
    assert points[f"In sync, {label[-1]}: 1"] == "1" and points[f"In sync, {label[-2]}: 0"] == "0"
    assert activity.get("role") == "img" and "Submissions and releases" in activity.get(
        "aria-label"
    )
    assert activity.find(f"{SVG}title").text == "Submissions and releases per week"
    assert [t.text for t in activity.iter(f"{SVG}text")].count("Week starting") == 1
    marks = bars(activity)
    assert len(marks) == 24
    assert marks[f"Submissions, {label[-1]}: 2"] == "2"
    assert marks[f"Submissions, {label[-3]}: 1"] == "1"
    assert marks[f"Releases, {label[-1]}: 1"] == "1" and marks[f"Releases, {label[-2]}: 1"] == "1"
    assert sum(int(v) for v in marks.values()) == 5  # theirs is not counted for alice
    assert bars(medians) == {"Legal: 4 days (1 approved)": "4"}
    assert "<td>no data</td><td>0 approved</td>" in page  # the other departments
    kinds = bars(findings)
    assert kinds[f"Secret, {label[-3]}: 3"] == "3"
    assert kinds[f"Secret, {label[-2]}: 2"] == "2"
    assert kinds[f"Secret, {label[-1]}: 1"] == "1"
    assert kinds[f"Hygiene, {label[-2]}: 1"] == "1" and kinds[f"Hygiene, {label[-1]}: 0"] == "0"
    assert not any(k.startswith("Internal reference") for k in kinds)
    assert "latest finished scan as of the end of each week" in page

    admin_page = login(client, world.admin).get(reverse("releases:charts")).content.decode()
    assert bars(svgs(admin_page)[2])[f"Internal reference, {label[-2]}: 4"] == "4"
    assert departments.weekly_activity(world.admin, now=now).submissions[-1] == 3


def test_chart_pages_escape_user_text(client, world, make_repo):
    submission = submit(world, make_repo(), slug="evil")
    Component.objects.filter(pk=submission.component_id).update(name="<script>alert(1)</script>")
    Department.objects.filter(slug="legal").update(name='<script>alert("d")</script>')
    ReviewTicket.objects.filter(pk=legal_ticket(submission).pk).update(
        state=TicketState.APPROVED, decided_at=timezone.now()
    )
    login(client, world.admin)
    for url in [reverse("releases:charts"), reverse("releases:departments"),
                reverse("releases:department", args=["legal"])]:  # fmt: skip
        page = client.get(url).content.decode()
        assert "<script>alert" not in page, url
        assert "&lt;script&gt;alert" in page, url
        for svg in svgs(page):
            assert not list(svg.iter(f"{SVG}script"))


def test_dashboard_query_counts_do_not_grow_with_the_data(client, world, make_repo):
    def grow(prefix: str, n: int):
        now = timezone.now()
        for i in range(n):
            s = submit(world, make_repo(), slug=f"{prefix}-{i}")
            reviewer = world.add_reviewer(f"{prefix}-rev-{i}", "legal")
            if i % 2:  # half the legal tickets approved, half still open
                approve(legal_ticket(s), reviewer)
            Release.objects.create(component=s.component, version="1.0.0", commit="c" * 40)
            _scan(s, now - timedelta(days=10 * i), [("secret", "blocking", {})] * (i + 1))
            ReviewTicket.objects.filter(submission=s, department__slug="security").update(
                created_at=now - timedelta(days=20)
            )
            # The watcher's alerts on the external repository: counted on the portfolio.
            ExternalAlert.objects.bulk_create(
                ExternalAlert(
                    component=s.component,
                    kind="secret",
                    rule="github-token",
                    severity="blocking",
                    message="A GitHub token.",
                    commit="a" * 40,
                    path=f"api/{j}.py",
                    fingerprint=f"{prefix}-{i}-{j}",
                    department=world.departments["security"],
                    state="open" if j % 2 == 0 else "dismissed",
                )  # fmt: skip
                for j in range(i + 1)
            )

    urls = {
        world.admin: [reverse("releases:departments"), reverse("home"),
                      reverse("releases:department", args=["legal"]), reverse("releases:charts")],
        world.reviewers["legal"]: [reverse("releases:department", args=["legal"])],
        world.alice: [reverse("releases:departments"), reverse("releases:charts"),
                      reverse("home")],
    }  # fmt: skip

    def measure():
        counts = {}
        for user, user_urls in urls.items():
            login(client, user)
            for url in user_urls:
                client.get(url)  # warm the content-type and permission caches
                counts[user.username, url] = _queries(client, url)
        return counts

    grow("small", 2)
    small = measure()
    grow("large", 6)
    large = measure()
    assert small == large
    print("query counts:", {f"{u} {url}": n for (u, url), n in large.items()})
    page = login(client, world.admin).get(reverse("releases:department", args=["legal"]))
    assert page.content.decode().count('data-reviewer="') == 9  # leo and eight more
    portfolio = client.get(reverse("home")).content.decode()
    assert portfolio.count('data-testid="alerts-chip"') == 8  # every one has an open alert
    opened = ExternalAlert.objects.filter(state="open").count()
    assert f'open-alerts-counter"><strong>{opened}</strong>' in portfolio


# --- The SVG module --------------------------------------------------------------------


def test_bar_chart_is_well_formed_accessible_svg_with_its_values():
    chart = charts.bar_chart(
        title="Per week", categories=["a", "b", "c"],
        series=[charts.Series("One", [1, 0, 7]), charts.Series("Two", [2.5, None, 3])],
        x_label="Week", y_label="Count", notes=["", "quiet", ""],
    )  # fmt: skip
    svg = ET.fromstring(str(chart.svg))
    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    assert svg.get("aria-label") == "Bar chart: Per week. Count by Week."
    assert svg.find(f"{SVG}title").text == "Per week"
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Week" in texts and "Count" in texts and "One" in texts and "Two" in texts
    assert bars(svg) == {
        "One, a: 1": "1", "One, b: 0 (quiet)": "0", "One, c: 7": "7",
        "Two, a: 2.5": "2.5", "Two, c: 3": "3",
    }  # fmt: skip
    heights = {r.get("data-value"): float(r.get("height")) for r in svg.iter(f"{SVG}rect")
               if r.get("class") == "bar"}  # fmt: skip
    assert heights["7"] == pytest.approx(7 * heights["1"], abs=0.5) and heights["0"] == 0
    table = ET.fromstring(str(chart.table))
    rows = [[c.text for c in tr] for tr in table.iter("tr")]
    assert rows == [["Week", "One", "Two", "Notes"], ["a", "1", "2.5", None],
                    ["b", "0", "no data", "quiet"], ["c", "7", "3", None]]  # fmt: skip


def test_line_chart_breaks_at_missing_points_and_says_when_there_is_no_data():
    chart = charts.line_chart(
        title="Open", categories=["w1", "w2", "w3", "w4"],
        series=[charts.Series("Secret", [3, None, 1, 2])], x_label="Week", y_label="Findings",
    )  # fmt: skip
    svg = ET.fromstring(str(chart.svg))
    path = svg.find(f"{SVG}path").get("d")
    assert path.count("M") == 2 and path.count("L") == 1
    assert bars(svg) == {"w1: 3": "3", "w3: 1": "1", "w4: 2": "2"}
    empty = ET.fromstring(str(charts.bar_chart(title="None", categories=[], series=[],
                                               x_label="x", y_label="y").svg))  # fmt: skip
    assert "No data" in [t.text for t in empty.iter(f"{SVG}text")]


def test_chart_text_is_escaped():
    evil = '<script>alert("x")</script> & co'
    chart = charts.bar_chart(title=evil, categories=[evil], series=[charts.Series(evil, [1])],
                             x_label=evil, y_label=evil, notes=[evil])  # fmt: skip
    html = str(chart)
    assert "<script>" not in html
    svg = ET.fromstring(str(chart.svg))
    assert not list(svg.iter(f"{SVG}script"))
    assert svg.find(f"{SVG}title").text == evil
    assert evil in svg.get("aria-label")
    assert bars(svg) == {f"{evil}: 1 ({evil})": "1"}
    assert ET.fromstring(str(chart.table)).find("caption").text == evil


def test_chart_values_below_one_keep_two_significant_digits():
    from releases.charts import format_value

    assert [format_value(v) for v in (0.002, 0.0005, 0.25, 3.14159, 12.0, None)] == [
        "0.002", "0.0005", "0.25", "3.1", "12", "no data"
    ]  # fmt: skip
