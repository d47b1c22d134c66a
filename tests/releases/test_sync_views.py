"""The Open Core pages through the test client: the component's Sync section, the
external repository form, back-ports, the Publish button and the portfolio's Sync column.
Real git repositories (an internal working one, a bare external one), real services."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from governance.services import ComponentDraft, component_create
from releases.enums import ReleaseState
from releases.models import Backport, GitJob, Release, SyncState
from releases.sync import component_sync
from reviews.forms import ScopeForm
from reviews.services import component_set_external
from scans.models import Finding
from tests.conftest import PASSWORD, make_user
from tests.releases.conftest import SYNC_FILES, community_commit, external_log, git

HOST = "wiki.corp.example-internal.net"
FILES = SYNC_FILES
SPDX = "# SPDX-License-Identifier: Apache-2.0\n"


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def sync_url(component) -> str:
    return reverse("releases:component-sync", args=[component.slug])


def panel(client, component, **headers) -> str:
    response = client.get(sync_url(component), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


# --------------------------------------------------------------------------- the section


def scope_body(component, **changes) -> dict:
    """The scope form as the page shows it, with ``changes``."""
    return {**ScopeForm.initial_for(component), **changes}


def test_component_page_loads_the_sync_panel_as_a_fragment_or_a_page(client, approved):
    state = approved()
    login(client, state.world.alice)
    page = client.get(state.component.get_absolute_url()).content.decode()
    assert f'hx-get="{sync_url(state.component)}"' in page
    assert 'data-testid="edit-scope"' in page  # alice owns it

    fragment = panel(client, state.component, HX_Request="true")
    assert "<html" not in fragment and 'data-testid="sync-panel"' in fragment
    assert "not set: nothing is published yet" in fragment
    assert 'data-testid="sync-now"' not in fragment  # nothing to sync yet
    full = panel(client, state.component)
    assert full.startswith("<!doctype html>") and "Sync of" in full


def test_owner_sets_the_external_repository_and_the_panel_shows_it(client, approved, external):
    state = approved()
    url = reverse("reviews:component-scope", args=[state.component.slug])
    login(client, state.world.alice)
    page = client.get(url)
    assert 'data-testid="scope-form"' in page.content.decode()
    assert 'data-testid="scope-warning"' in page.content.decode()  # an approved submission
    bad = client.post(url, scope_body(state.component, external_url="ext::sh -c touch% /tmp/pwned"))
    assert bad.status_code == 400
    assert 'data-testid="scope-form"' in bad.content.decode()
    bad = client.post(
        url, scope_body(state.component, external_url=f"file://{external}", from_prefix="../etc")
    )
    assert bad.status_code == 400 and "no &#x27;..&#x27;" in bad.content.decode()
    state.component.refresh_from_db()
    assert state.component.external_repository is None

    response = client.post(url, scope_body(
        state.component, external_url=f"file://{external}", external_branch="stable",
        from_prefix="core", to_prefix="",
    ))  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == state.component.get_absolute_url()
    state.component.refresh_from_db()
    assert state.component.external_repository.url == f"file://{external}"
    assert (state.component.external_branch, state.component.export_from_prefix) == (
        "stable",
        "core/",
    )
    assert AuditEvent.objects.filter(action="component.scope_changed").count() == 1
    fragment = panel(client, state.component, HX_Request="true")
    assert f"<code>file://{external}</code>" in fragment
    assert "<code>stable</code>" in fragment
    assert "<code>core/</code> inside → the root outside" in fragment
    assert "never" in fragment and 'data-testid="sync-now"' in fragment


def test_only_owners_and_admins_set_the_external_repository(client, approved, external):
    state = approved()
    url = reverse("reviews:component-scope", args=[state.component.slug])
    body = scope_body(state.component, external_url=f"file://{external}")
    reviewer = state.world.reviewers["legal"]
    for user, expected in [(state.world.bob, 404), (reviewer, 403), (state.pmc, 403)]:
        assert login(client, user).post(url, body).status_code == expected, user
        page = client.get(state.component.get_absolute_url())
        assert 'data-testid="edit-scope"' not in page.content.decode()
    state.component.refresh_from_db()
    assert state.component.external_repository is None
    assert login(client, state.world.admin).post(url, body).status_code == 302
    state.component.refresh_from_db()
    assert state.component.external_repository is not None


def test_sync_now_shows_pending_and_community_commits_tags_and_exports(
    client, ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready()
    p.publish()
    internal = p.repo.commit({"core/api.py": SPDX + "x = 3\n"}, "Speed up ping")
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2 API")
    login(client, p.world.alice)
    before = SyncState.objects.count()

    with django_capture_on_commit_callbacks(execute=True):  # the worker runs the job
        response = client.post(sync_url(p.component))

    assert response.status_code == 302
    assert response["Location"] == p.component.get_absolute_url() + "#sync"
    state = SyncState.objects.filter(component=p.component).first()
    assert SyncState.objects.count() == before + 1
    assert (state.status, state.trigger) == ("diverged", "manual")
    fragment = panel(client, p.component, HX_Request="true")
    assert "chip-diverged" in fragment and "Diverged" in fragment
    assert f'<tr data-sha="{internal}">' in fragment
    assert "Speed up ping" in fragment and "<code>core/api.py</code>" in fragment
    assert f'<tr data-sha="{outside}">' in fragment
    assert "Add v2 API" in fragment and "Community Dev" in fragment
    assert f'name="commit" value="{outside}"' in fragment  # its Back-port button
    release = Release.objects.get(pk=p.release.pk)
    exports = fragment.split('data-testid="exports"')[1].split("</table>")[0]
    assert "<code>v1.0.0</code>" in exports and release.external_commit[:10] in exports
    tags = fragment.split('data-testid="tags"')[1].split("</table>")[0]
    assert 'data-tag="v1.0.0"' in tags and "on both sides" in tags
    assert release.commit[:10] in tags
    history = fragment.split('data-testid="sync-history"')[1]
    assert history.count('data-testid="sync-row"') == 2  # the fixture's and this one
    assert "manual" in history


def test_the_tag_table_tells_missing_and_unknown_tags_apart(client, ready, tmp_path):
    p = ready()
    p.publish()
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    git(tmp_path, "--git-dir", str(p.external), "tag", "v9.9.9", outside)
    git(tmp_path, "--git-dir", str(p.external), "tag", "-d", "v1.0.0")
    component_sync(component_id=p.component.pk)
    fragment = panel(login(client, p.world.alice), p.component, HX_Request="true")
    tags = fragment.split('data-testid="tags"')[1].split("</table>")[0]
    missing = tags.split('data-tag="v1.0.0"')[1].split("</tr>")[0]
    unknown = tags.split('data-tag="v9.9.9"')[1].split("</tr>")[0]
    assert "missing externally" in missing
    assert "unknown internally" in unknown and "not made by Gatehouse" in unknown


def test_backport_button_creates_a_branch(
    client, ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready(from_prefix="core/", to_prefix="")
    p.publish()
    outside = community_commit(
        tmp_path, p.external, {"api.py": SPDX + "def ping():\n    return 2\n"}, "Return 2"
    )
    component_sync(component_id=p.component.pk)
    login(client, p.state.pmc)  # PMC members back-port too

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("releases:backport-create", args=[p.component.slug]), {"commit": outside}
        )

    assert response.status_code == 302
    backport = Backport.objects.get()
    assert (backport.state, backport.created_by) == ("created", p.state.pmc)
    assert backport.branch == f"gatehouse/backport/{outside[:12]}"
    assert "return 2" in p.repo.git("show", f"{backport.branch}:core/api.py")
    fragment = panel(client, p.component, HX_Request="true")
    row = fragment.split(f'<tr data-sha="{outside}">')[1].split("</tr>")[0]
    assert f"<code>{backport.branch}</code>" in row and "Branch created" in row
    assert 'name="commit"' not in row  # done: no button any more


def test_backport_conflict_lists_the_conflicting_files(
    client, ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready(from_prefix="core/", to_prefix="")
    p.publish()
    p.repo.commit({"core/api.py": SPDX + "def ping():\n    return 'inside'\n"}, "inside")
    outside = community_commit(
        tmp_path, p.external, {"api.py": SPDX + "def ping():\n    return 'outside'\n"}, "outside"
    )
    component_sync(component_id=p.component.pk)
    login(client, p.world.alice)
    url = reverse("releases:backport-create", args=[p.component.slug])

    bad = client.post(url, {"commit": "abc"})
    assert bad.status_code == 400
    assert "Give the full commit id" in bad.content.decode()
    assert not Backport.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"commit": outside})

    backport = Backport.objects.get()
    assert backport.state == "conflict" and backport.conflicts
    fragment = panel(client, p.component, HX_Request="true")
    listed = fragment.split('data-testid="backports"')[1].split("</table>")[0]
    for conflict in backport.conflicts:
        assert f"<li>{conflict}</li>" in listed
    assert "gatehouse/backport" not in p.repo.git("branch", "--list")


def test_who_may_sync_and_backport(client, ready, tmp_path, django_capture_on_commit_callbacks):
    p = ready()
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    component_sync(component_id=p.component.pk)
    backport_url = reverse("releases:backport-create", args=[p.component.slug])
    reviewer = p.world.reviewers["legal"]
    cases = [(p.world.alice, 302), (p.world.admin, 302), (p.state.pmc, 302), (reviewer, 403),
             (p.state.committer, 403), (p.world.bob, 404)]  # fmt: skip
    for user, expected in cases:
        login(client, user)
        before = SyncState.objects.filter(component=p.component).first().checked_at
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(sync_url(p.component)).status_code == expected, user
        after = SyncState.objects.filter(component=p.component).first().checked_at
        assert (after > before) == (expected == 302)  # nothing moved: checked again
        read = client.get(sync_url(p.component), headers={"HX-Request": "true"})
        assert read.status_code == (404 if expected == 404 else 200)
        if expected == 403:
            assert 'data-testid="sync-now"' not in read.content.decode()
            assert f'value="{outside}"' not in read.content.decode()
            assert client.post(backport_url, {"commit": outside}).status_code == 403
        if expected == 404:
            assert client.post(backport_url, {"commit": outside}).status_code == 404
    assert not Backport.objects.exists()


def test_sync_now_while_a_sync_is_under_way_is_that_sync(
    client, ready, django_capture_on_commit_callbacks
):
    p = ready()
    login(client, p.world.alice)
    with django_capture_on_commit_callbacks() as sent:
        client.post(sync_url(p.component))
        response = client.post(sync_url(p.component), follow=True)
    assert "A sync of this component is already under way" in response.content.decode()
    assert GitJob.objects.filter(kind="sync").count() == 1 and len(sent) == 1
    fragment = panel(client, p.component, HX_Request="true")
    assert fragment.count('data-testid="git-job"') == 1
    assert 'data-status="queued"' in fragment


# --------------------------------------------------------------------------- publish


def test_owner_publishes_from_the_release_page(client, ready, django_capture_on_commit_callbacks):
    p = ready()
    assert p.release.state == ReleaseState.READY, p.release.blocking_gates
    url = reverse("releases:release-publish", args=[p.release.pk])
    for user in (p.state.pmc, p.world.reviewers["legal"]):
        page = login(client, user).get(p.release.get_absolute_url()).content.decode()
        assert 'data-testid="publish-form"' not in page
        assert client.post(url).status_code == 403
    assert login(client, p.world.bob).post(url).status_code == 404
    assert external_log(p.external) == []

    page = login(client, p.world.alice).get(p.release.get_absolute_url()).content.decode()
    assert 'data-testid="publish-form"' in page
    with django_capture_on_commit_callbacks(execute=True):  # the worker runs the job
        response = client.post(url)
    assert response["Location"] == p.release.get_absolute_url()

    release = Release.objects.get(pk=p.release.pk)
    assert release.state == ReleaseState.PUBLISHED
    assert external_log(p.external) == [release.external_commit]
    page = client.get(response["Location"]).content.decode()
    published = page.split('data-testid="published"')[1].split("</dd>")[0]
    assert "<code>v1.0.0</code>" in published and release.external_commit in published
    assert 'data-testid="publish-form"' not in page


def test_publish_button_needs_a_ready_release_and_an_external_repository(client, approved):
    state = approved(FILES)
    release = state.release()
    assert release.state == ReleaseState.READY
    login(client, state.world.admin)
    page = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="publish-form"' not in page  # no external repository
    response = client.post(reverse("releases:release-publish", args=[release.pk]))
    assert response.status_code == 400
    assert "Set the external repository first." in response.content.decode()
    release.refresh_from_db()
    assert release.state == ReleaseState.READY


def test_publish_aborted_lists_the_reasons_and_pushes_nothing(
    client, ready, django_capture_on_commit_callbacks
):
    p = ready({**FILES, "core/hosts.py": f'WIKI = "https://{HOST}/x"\n'})
    finding = Finding.objects.get(kind="internal_ref", path="core/hosts.py")
    with django_capture_on_commit_callbacks(execute=True):
        p.world.set_aside(finding, reason="Checked by hand.")
    p.release.refresh_from_db()
    assert p.release.state == ReleaseState.READY
    login(client, p.world.alice)

    with django_capture_on_commit_callbacks(execute=True):  # the worker runs the job
        client.post(reverse("releases:release-publish", args=[p.release.pk]))

    assert GitJob.objects.get().status == "failed"
    page = client.get(p.release.get_absolute_url()).content.decode()
    reasons = page.split('data-testid="git-job-errors"')[1]
    reasons = reasons.split("</div>")[0]
    assert "<p>core/hosts.py:1: " in reasons
    p.release.refresh_from_db()
    assert p.release.state == ReleaseState.READY and p.release.external_commit == ""
    assert external_log(p.external) == []
    assert not AuditEvent.objects.filter(action="release.published").exists()


# --------------------------------------------------------------------------- query counts


def _queries(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def commit_json(n: int, days_ago: int = 1) -> dict:
    return {
        "sha": f"{n:040x}", "subject": f"change {n}", "author": "Dev", "email": "d@example.org",
        "date": (timezone.now() - timedelta(days=days_ago)).isoformat(),
        "files": [f"core/f{n}.py", "api/x.py"],
    }  # fmt: skip


def add_history(component, user, start: int, count: int):
    """Syncs with commits and tags, back-ports and published releases: rows as the
    services leave them, made directly (no git needed to render them)."""
    for n in range(start, start + count):
        SyncState.objects.create(
            component=component, trigger="beat", status="diverged",
            pending=[commit_json(n * 10 + i) for i in range(3)],
            community=[commit_json(n * 10 + i + 5) for i in range(3)],
            tags_missing_externally=[f"v0.{n}.0"], tags_unknown_internally=[f"v9.{n}.0"],
            external_tags={f"v1.{n}.0": f"{n:040x}", f"v9.{n}.0": ""},
        )  # fmt: skip
        Backport.objects.create(
            component=component, source_commit=commit_json(n * 10 + 5)["sha"],
            state="conflict", conflicts=["core/a.py: both changed"], created_by=user,
        )  # fmt: skip
        Release.objects.create(
            component=component, version=f"0.{n}.0", commit=f"{n:040x}", created_by=user,
            state=ReleaseState.PUBLISHED, published_at=timezone.now(),
            external_commit=f"{n + 1:040x}", external_tag=f"v0.{n}.0",
        )  # fmt: skip


def test_sync_panel_and_component_page_query_count_does_not_grow(empty_remote, client, world):
    component = component_create(
        actor=world.alice,
        draft=ComponentDraft(name="Kv", slug="kv", license="MIT", open_paths=["**"]),
    )
    component_set_external(component=component, actor=world.alice,
                           url=empty_remote("kv"))  # fmt: skip
    login(client, world.alice)
    urls = [
        (sync_url(component), {"HX-Request": "true"}),
        (sync_url(component), {}),
        (component.get_absolute_url(), {}),
    ]
    add_history(component, world.alice, 0, 2)
    [_queries(client, u, **h) for u, h in urls]
    small = [_queries(client, u, **h) for u, h in urls]
    add_history(component, world.alice, 2, 14)
    large = [_queries(client, u, **h) for u, h in urls]
    assert small == large
    fragment = panel(client, component, HX_Request="true")
    assert fragment.count('data-testid="sync-row"') == 10  # the last ten
    assert fragment.count("change 155") == 1 and "change 15" in fragment  # newest sync's


# --------------------------------------------------------------------------- portfolio


def test_portfolio_shows_the_latest_sync_per_component_in_constant_queries(
    empty_remote, client, world
):
    owner = make_user("olga")

    def add(slugs, *, external=True):
        for slug in slugs:
            component = component_create(
                actor=owner,
                draft=ComponentDraft(name=slug, slug=slug, license="MIT", open_paths=["**"]),
            )
            if external:
                component_set_external(component=component, actor=owner,
                                       url=empty_remote(slug))  # fmt: skip
                SyncState.objects.create(component=component, trigger="beat", status="failed")
                SyncState.objects.create(component=component, trigger="beat",
                                         status="backport_needed",
                                         community=[commit_json(1)])  # fmt: skip

    add(["a-plain"], external=False)
    add(["b-synced"])
    login(client, owner)
    _queries(client, reverse("home"))  # warm per-process caches
    small = _queries(client, reverse("home"))
    add(["c-plain", "d-plain"], external=False)
    add([f"e-synced-{n}" for n in range(5)])
    large = _queries(client, reverse("home"))
    assert small == large

    page = client.get(reverse("home")).content.decode()

    def cell(slug):
        row = page.split(f'data-component="{slug}"')[1].split("</tr>")[0]
        return row.split('data-testid="sync"')[1]

    assert "—" in cell("a-plain") and "chip" not in cell("a-plain")
    assert "chip-backport_needed" in cell("b-synced") and "Back-port needed" in cell("b-synced")
    assert "chip-failed" not in cell("b-synced")  # the latest only
    unsynced = component_create(
        actor=owner,
        draft=ComponentDraft(name="f-new", slug="f-new", license="MIT", open_paths=["**"]),
    )
    component_set_external(component=unsynced, actor=owner, url=empty_remote("f"))
    page = client.get(reverse("home")).content.decode()
    assert "not synced yet" in cell("f-new")


def test_backport_all_waiting_brings_the_range_back_on_one_branch(
    client, ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready()
    p.publish()
    older = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    newer = community_commit(tmp_path, p.external, {"api/v3.py": "V = 3\n"}, "Add v3")
    component_sync(component_id=p.component.pk)
    page = panel(login(client, p.world.alice), p.component, HX_Request="true")
    assert "Back-port all 2 waiting" in page
    form = page.split('data-testid="backport-all"')[1].split("</form>")[0]
    assert f'name="commit" value="{newer}"' in form and f'name="first" value="{older}"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("releases:backport-create", args=[p.component.slug]),
            {"commit": newer, "first": older},
        )
    assert response.status_code == 302
    backport = Backport.objects.get()
    assert backport.source_commits == [older, newer]
    component_sync(component_id=p.component.pk)
    page = panel(client, p.component, HX_Request="true")
    assert "Back-port all" not in page and page.count(backport.branch) >= 2  # on both rows
