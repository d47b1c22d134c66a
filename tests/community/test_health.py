"""Community health from the external repository's history: figures on a known history,
then on a real workspace (Gatehouse's exports left out), its cache and its fallbacks."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from community import health
from community.health import CommunityCommit, History, bus_factor, health_figures, percentile
from releases.models import Backport, SyncState
from releases.sync import backport_create, component_sync, workspace_for
from tests.community.test_digest import dated_commit
from tests.releases.conftest import (  # noqa: F401 - fixtures
    SYNC_FILES,
    _sync_dir,
    approved,
    external,
    policy,
    ready,
)

AS_OF = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)


def _history(*rows) -> History:
    """rows: (author, year, month, day), oldest first."""
    commits = [
        CommunityCommit(
            f"{i:040x}",
            who,
            f"{who.lower()}@example.org",
            datetime(y, m, d, 9, tzinfo=UTC),
            f"change {i}",
        )  # fmt: skip
        for i, (who, y, m, d) in enumerate(rows)
    ]
    return History(tuple(sorted(commits, key=lambda c: c.at)), health.SOURCE_WORKSPACE)


def test_bus_factor_is_the_fewest_people_who_made_half_of_the_commits():
    assert bus_factor([4, 3, 3]) == 2  # 4 of 10 is not half; 4 + 3 is
    assert bus_factor([5, 3, 2]) == 1  # exactly half counts
    assert bus_factor([1, 1, 1, 1]) == 2
    assert bus_factor([]) is None


def test_percentile_is_a_value_that_occurred():
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([5], 0.9) == 5 and percentile([], 0.9) is None


def test_three_authors_known_counts_give_known_figures():
    # Ann 4 commits (two in April, two in June), Bob 3 (May, June), Cy 3 (June); and one
    # by Ann two years ago, outside the twelve months (she is not new in April).
    history = _history(
        ("Ann", 2024, 3, 1),
        ("Ann", 2026, 4, 2), ("Ann", 2026, 4, 9),
        ("Bob", 2026, 5, 5),
        ("Ann", 2026, 6, 1), ("Ann", 2026, 6, 2), ("Bob", 2026, 6, 3), ("Bob", 2026, 6, 4),
        ("Cy", 2026, 6, 5), ("Cy", 2026, 6, 6), ("Cy", 2026, 6, 7),
        ("Dee", 2026, 7, 1),  # after as_of: not counted
    )  # fmt: skip
    figures = health_figures(history, as_of=AS_OF)

    assert figures.months[0] == "2025-07" and figures.months[-1] == "2026-06"
    assert len(figures.months) == 12
    rows = zip(figures.contributors, figures.new, figures.returning, strict=True)
    by_month = dict(zip(figures.months, rows, strict=True))
    assert by_month["2026-04"] == (1, 0, 1)  # Ann returns
    assert by_month["2026-05"] == (1, 1, 0)  # Bob is new
    assert by_month["2026-06"] == (3, 1, 2)  # Cy new; Ann and Bob returning
    assert by_month["2025-12"] == (0, 0, 0)
    assert figures.commits == 10 and figures.authors == 3
    assert figures.bus_factor == 2
    assert figures.top1_share == 0.4 and figures.top3_share == 1.0
    assert figures.top == [("Ann", 4), ("Bob", 3), ("Cy", 3)]


def test_time_to_backport_median_and_p90_in_hours():
    history = _history(("Ann", 2026, 6, 1), ("Bob", 2026, 6, 2), ("Cy", 2026, 6, 3))
    shas = [c.sha for c in history.commits]
    at = {c.sha: c.at for c in history.commits}
    backports = [
        (at[shas[0]] + timedelta(hours=10), [shas[0]]),
        (at[shas[2]] + timedelta(hours=30), [shas[1], shas[2]]),  # a range: Bob's waited 54 h
        (AS_OF + timedelta(days=1), ["not-counted"]),
    ]
    figures = health_figures(history, backports, as_of=AS_OF)
    assert figures.backports == 3
    assert figures.backport_median_hours == 30  # of 10, 30, 54
    assert figures.backport_p90_hours == 54
    assert health.format_hours(30) == "30 h" and health.format_hours(54) == "2.2 days"


def test_no_history_is_no_data():
    figures = health_figures(health.EMPTY, as_of=AS_OF)
    assert not figures.has_data and figures.bus_factor is None and figures.commits == 0


def test_health_reads_the_workspace_without_gatehouse_exports_and_caches_by_head(
    ready,  # noqa: F811
    monkeypatch,
    tmp_path,
):
    p = ready(SYNC_FILES)
    p.publish()
    now = timezone.now().replace(microsecond=0)
    shas = {}
    for i, (who, days) in enumerate([("Ann Archer", 40), ("Ann Archer", 30), ("Bob Brown", 20),
                                      ("Cy Cole", 10), ("Ann Archer", 2)]):  # fmt: skip
        shas[i] = dated_commit(monkeypatch, tmp_path, p.external, author=who,
                               when=now - timedelta(days=days), files={f"api/m{i}.py": "X = 1\n"},
                               message=f"Module {i}")  # fmt: skip
    component_sync(component_id=p.component.pk)
    backport = backport_create(component=p.component, actor=p.world.alice, commit=shas[4])
    Backport.objects.filter(pk=backport.pk).update(
        created_at=now - timedelta(days=2) + timedelta(hours=6)
    )

    figures = health.component_health(p.component)
    assert figures.source == "workspace"
    assert figures.commits == 5 and figures.authors == 3  # the export commit is not one
    assert figures.bus_factor == 1 and figures.top1_share == 0.6
    assert figures.backports == 1 and figures.backport_median_hours == 6
    assert sum(figures.new) == 3

    # The history is cached under the external head: with the workspace gone, the same
    # figures still come from the cache, without git.
    shutil.rmtree(workspace_for(p.component))
    assert health.component_health(p.component).source == "workspace"
    # Without the cache and the workspace, the sync records stand in.
    cache.clear()
    fallback = health.component_health(p.component)
    assert fallback.source == "syncs" and fallback.commits == 5


def test_a_component_never_synced_has_no_data(approved, external):  # noqa: F811
    state = approved(SYNC_FILES, external=f"file://{external}")
    assert not SyncState.objects.filter(component=state.component).exists()
    assert health.component_health(state.component).source == "none"


def test_the_component_page_charts_the_health_as_inline_svg(
    ready,  # noqa: F811
    monkeypatch,
    tmp_path,
    client,
):
    p = ready(SYNC_FILES)
    p.publish()
    for i, who in enumerate(["Ann Archer", "Bob Brown"]):
        dated_commit(monkeypatch, tmp_path, p.external, author=who,
                     when=timezone.now() - timedelta(days=3 + i), files={f"api/x{i}.py": "X\n"},
                     message=f"x{i}")  # fmt: skip
    component_sync(component_id=p.component.pk)
    client.force_login(p.world.alice)

    response = client.get(f"/components/{p.component.slug}/community/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("<svg") == 2 and "Contributors per month" in body
    assert "New and returning contributors" in body and 'data-testid="bus-factor">1' in body
    assert "<script" not in body
    page = client.get(f"/components/{p.component.slug}/")
    assert f'hx-get="/components/{p.component.slug}/community/"' in page.content.decode()
