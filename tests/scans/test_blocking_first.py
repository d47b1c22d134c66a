"""Blocking findings come first on the scan page and on the ticket page (ordering by the
stored severity put "warning" before "info" before "blocking")."""

import re

from django.urls import reverse

from scans.enums import Severity
from tests.conftest import PASSWORD
from tests.scans.test_views import policy, scanned_ticket  # noqa: F401 - a fixture


def _severities(html: str) -> list[str]:
    return re.findall(r'<tr class="sev-(\w+)"', html)


def test_blocking_findings_are_listed_first(client, world, make_repo, policy):  # noqa: F811
    ticket, scan = scanned_ticket(world, make_repo, hosts=3, slug="order")
    first, second, third = scan.findings.filter(kind="internal_ref").order_by("line")
    first.severity, second.severity, third.severity = "info", "warning", "blocking"
    for finding in (first, second, third):
        finding.save(update_fields=["severity"])
    assert client.login(username="cora", password=PASSWORD)

    for url in (reverse("scans:scan", args=[scan.pk]), ticket.get_absolute_url()):
        order = _severities(client.get(url).content.decode())
        assert order[0] == Severity.BLOCKING, url
        assert order.index("warning") < order.index("info"), url
