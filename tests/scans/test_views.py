"""The scan page and the ticket page's findings table, and the triage POST behind them.

Query counts must not grow with the number of findings. The findings come from real scans
of throwaway repositories with more or fewer internal hostnames planted, and some of them
are triaged by different reviewers, so that the table renders who triaged what."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scans.enums import ScanStatus, TriageState
from scans.models import ScanPolicy
from scans.services import finding_triage, scan_execute, scan_request
from tests.conftest import PASSWORD, submit

DOMAIN = "corp.example-internal.net"
CLEAN = {
    "README.md": "# mq\n", "LICENSE": "MIT License\n",
    "core/api.py": "# SPDX-License-Identifier: Apache-2.0\nx = 1\n",
}  # fmt: skip


@pytest.fixture
def policy(db):
    return ScanPolicy.objects.create(pk=1, internal_domains=[DOMAIN])


def scanned_ticket(world, make_repo, *, hosts: int, slug: str):
    """A submission whose commit plants ``hosts`` internal hostnames, scanned for real; every
    third finding is triaged, alternately by a compliance reviewer and the admin. Returns
    the compliance ticket (the department that reads internal references) and the scan."""
    lines = "".join(f'HOST_{i} = "svc{i}.{DOMAIN}"\n' for i in range(hosts))
    repo = make_repo({**CLEAN, "core/hosts.py": lines})
    submission = submit(world, repo, slug=slug)
    scan = scan_request(
        repository=submission.repository, commit=submission.commit, component=submission.component
    )
    scan_execute(scan_id=scan.pk)
    scan.refresh_from_db()
    assert scan.status == ScanStatus.DONE
    findings = list(scan.findings.filter(kind="internal_ref").order_by("line"))
    assert len(findings) == hosts
    triagers = [world.reviewers["compliance"], world.admin]
    for number, finding in enumerate(findings[::3]):
        finding_triage(
            finding=finding,
            actor=triagers[number % 2],
            state=TriageState.ACCEPTED_RISK,
            reason=f"Host {number} is documented as internal-only.",
        )
    return submission.tickets.get(department__slug="compliance"), scan


def _page(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_scan_and_ticket_pages_query_count_does_not_grow_with_findings(
    client, world, make_repo, policy
):
    small_ticket, small_scan = scanned_ticket(world, make_repo, hosts=5, slug="small")
    large_ticket, large_scan = scanned_ticket(world, make_repo, hosts=50, slug="large")
    assert client.login(username="cora", password=PASSWORD)  # compliance: not a superuser
    sizes = {
        "small": [reverse("scans:scan", args=[small_scan.pk]), small_ticket.get_absolute_url()],
        "large": [reverse("scans:scan", args=[large_scan.pk]), large_ticket.get_absolute_url()],
    }
    [_page(client, url) for url in sizes["small"]]  # warm caches (content types)
    counts, pages = {}, {}
    for size, urls in sizes.items():
        counts[size], pages[size] = zip(*(_page(client, url) for url in urls), strict=True)

    # The pages show every finding, and who triaged the triaged ones...
    for scan_page, ticket_page in [pages["small"], pages["large"]]:
        assert "Findings for Compliance" in ticket_page
        for page in (scan_page, ticket_page):
            assert "cora: Host 0 is documented as internal-only." in page
            assert "admin: Host 1 is documented as internal-only." in page
    for size, hosts in (("small", 5), ("large", 50)):
        for page in pages[size]:
            assert page.count("<code>core/hosts.py:") == hosts
            assert f"svc{hosts - 1}.{DOMAIN}" in page
    # ...in as many queries for 50 findings as for 5.
    assert counts["small"] == counts["large"]


def test_scan_progress_query_count_does_not_grow_with_findings(client, world, make_repo, policy):
    _, small_scan = scanned_ticket(world, make_repo, hosts=5, slug="small")
    _, large_scan = scanned_ticket(world, make_repo, hosts=50, slug="large")
    assert client.login(username="cora", password=PASSWORD)
    urls = [reverse("scans:scan-progress", args=[scan.pk]) for scan in (small_scan, large_scan)]
    _page(client, urls[0])
    (small, small_body), (large, large_body) = (_page(client, url) for url in urls)
    assert "Done" in small_body and "Done" in large_body
    assert small == large


def test_triage_post_from_another_department_is_refused_and_changes_nothing(
    client, world, make_repo, policy
):
    ticket, scan = scanned_ticket(world, make_repo, hosts=2, slug="mq-core")
    finding = scan.findings.filter(kind="internal_ref", state=TriageState.OPEN).get()
    url = reverse("scans:finding-triage", args=[finding.pk])
    data = {"state": TriageState.FALSE_POSITIVE, "reason": "Looks public to me."}

    assert client.login(username="bob", password=PASSWORD)  # cannot see the component
    assert client.post(url, data).status_code == 404

    assert client.login(username="sam", password=PASSWORD)  # security, not compliance
    response = client.post(url, {**data, "next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain == [(reverse("scans:scan", args=[scan.pk]), 302)]
    assert "Only compliance reviewers can triage this finding." in response.content.decode()
    finding.refresh_from_db()
    assert (finding.state, finding.triaged_by, finding.triage_reason) == ("open", None, "")

    assert client.login(username="cora", password=PASSWORD)
    response = client.post(url, {**data, "next": ticket.get_absolute_url()})
    assert response.status_code == 302 and response["Location"] == ticket.get_absolute_url()
    finding.refresh_from_db()
    assert (finding.state, finding.triaged_by) == (
        TriageState.FALSE_POSITIVE,
        world.reviewers["compliance"],
    )
