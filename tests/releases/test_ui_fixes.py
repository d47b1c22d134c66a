"""Issue 10's UI fixes on the releases side: the browsable dashboard API, and charts that
fill their card with labels that are neither clipped nor overlapping."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from releases import charts
from tests.conftest import PASSWORD, approve, submit

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.django_db
def test_dashboard_api_answers_the_browsable_html_view(world, client, repo):
    submit(world, repo)
    client.force_login(world.admin)

    response = client.get("/api/dashboard/", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "mq-core" in response.content.decode()
    bad = client.get("/api/dashboard/?stage=nonsense", HTTP_ACCEPT="text/html")
    assert bad.status_code == 400  # a clear error, never a 500


def test_chart_fills_its_card_and_keeps_tick_labels_clear_of_the_axis_label():
    chart = charts.bar_chart(
        title="Tiny", categories=["a", "b"], series=[charts.Series("S", [0.00019, 0.00002])],
        x_label="Department", y_label="Hours",
    )  # fmt: skip
    svg = ET.fromstring(str(chart.svg))
    assert svg.get("width") is None and svg.get("viewBox")  # the stylesheet sizes it
    ticks = [t for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert ticks
    for tick in ticks:  # right-aligned: starts this far left; the rotated label sits at 14
        assert float(tick.get("x")) - charts.CHAR_W * len(tick.text) > 22, tick.text


def test_chart_legend_wraps_instead_of_running_off_the_edge():
    names = [f"A rather long series name {i}" for i in range(6)]
    chart = charts.line_chart(
        title="Many", categories=["w1", "w2"], series=[charts.Series(n, [1, 2]) for n in names],
        x_label="Week", y_label="N",
    )  # fmt: skip
    svg = ET.fromstring(str(chart.svg))
    width = float(svg.get("viewBox").split()[2])
    legend = [t for t in svg.iter(f"{SVG}text") if (t.text or "").startswith("A rather")]
    assert len(legend) == 6 and len({t.get("y") for t in legend}) > 1
    for text in legend:
        assert float(text.get("x")) + charts.CHAR_W * len(text.text) <= width


@pytest.mark.django_db
def test_approval_medians_of_minutes_read_in_minutes_not_fractions_of_days(world, client, repo):
    submission = submit(world, repo)
    approve(submission.tickets.get(department__slug="technical"), world.reviewers["technical"])
    assert client.login(username="admin", password=PASSWORD)

    html = client.get(reverse("releases:charts")).content.decode()

    assert "Median minutes from submission to approval" in html
    assert "under a minute" in html  # the tooltip and the table, in words
    assert "0.0000" not in html
