"""Publishing and syncing on real repositories: an internal working repository, a bare
external one, Gatehouse's workspace in between. No mocks of git."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.utils import timezone

import vcs
from config.celery import app as celery_app
from core.models import AuditEvent
from releases.enums import ReleaseState
from releases.models import Backport, Release, SyncState
from releases.services import release_evaluate, waiver_grant
from releases.sync import (
    PublishAborted,
    backport_create,
    component_sync,
    release_publish,
    workspace_for,
)
from reviews.services import component_set_external
from scans.models import Finding
from tests.gitrepo import GitRepo
from tests.releases.conftest import (
    COMMUNITY,
    SYNC_FILES,
    community_commit,
    external_files,
    external_log,
    git,
)

HOST = "wiki.corp.example-internal.net"


FILES = SYNC_FILES


def test_publish_exports_exactly_the_open_scope_with_trailers_and_a_tag(ready):
    p = ready(FILES)
    assert p.release.state == ReleaseState.READY, p.release.blocking_gates
    release = p.publish()
    assert release.state == ReleaseState.PUBLISHED
    # sharding/ stays in; the community files are published at the top
    assert external_files(p.external) == {"core/api.py", "api/v1.py", *COMMUNITY}
    body = git(p.external, "log", "-1", "--format=%B", "main")
    assert body.startswith("Release v1.0.0")
    assert f"Gatehouse-Internal-Rev: {release.commit}" in body
    assert f"Gatehouse-Release: {release.pk}" in body
    assert git(p.external, "cat-file", "-t", "v1.0.0") == "tag"  # annotated
    assert git(p.external, "rev-parse", "v1.0.0^{commit}") == release.external_commit
    for path in external_files(p.external):
        assert HOST not in git(p.external, "show", f"main:{path}")
    event = AuditEvent.objects.get(action="release.published")
    assert event.after["tag"] == "v1.0.0" and event.after["repository"].endswith("external.git")


def test_publishing_again_finds_the_export_and_creates_nothing(ready):
    p = ready(FILES)
    first = p.publish()
    # As if the database write after a successful push had been lost: publish again.
    Release.objects.filter(pk=first.pk).update(state=ReleaseState.READY, external_commit="")
    p.release.refresh_from_db()
    again = p.publish()
    assert again.state == ReleaseState.PUBLISHED
    assert again.external_commit == first.external_commit
    assert len(external_log(p.external)) == 1


def test_publish_aborts_on_an_internal_hostname_and_pushes_nothing(
    ready, django_capture_on_commit_callbacks
):
    p = ready({**FILES, "core/hosts.py": f'WIKI = "https://{HOST}/x"\n'})
    finding = Finding.objects.get(kind="internal_ref", path="core/hosts.py")
    with django_capture_on_commit_callbacks(execute=True):
        p.state.world.set_aside(finding, reason="Checked by hand.")
    p.release.refresh_from_db()
    assert p.release.state == ReleaseState.READY  # the gates let it through...
    with pytest.raises(PublishAborted) as caught:
        p.publish()
    assert any("core/hosts.py:1" in m for m in caught.value.messages)  # ...the export does not
    assert external_log(p.external) == []
    p.release.refresh_from_db()
    assert p.release.state == ReleaseState.READY


def test_only_ready_releases_are_published(ready, django_capture_on_commit_callbacks):
    p = ready({k: v for k, v in FILES.items() if k != "SECURITY.md"})
    assert p.release.state == ReleaseState.BLOCKED
    with pytest.raises(ValidationError, match="Only a ready release is published"):
        p.publish()
    assert external_log(p.external) == []


def test_sync_statuses_in_sync_export_pending_backport_needed_diverged(ready, tmp_path):
    p = ready(FILES)
    p.publish()
    component = p.component
    state = component_sync(component_id=component.pk)
    assert state.status == "in_sync" and state.last_exported_rev == p.release.commit
    assert state.tags_missing_externally == [] and "v1.0.0" in state.external_tags

    repo: GitRepo = p.state.repo
    repo.commit({"sharding/more.py": "x = 2\n"}, "internal only")
    assert component_sync(component_id=component.pk).status == "in_sync"

    internal = repo.commit({"core/api.py": "# SPDX-License-Identifier: Apache-2.0\nx = 3\n"},
                           "core change")  # fmt: skip
    state = component_sync(component_id=component.pk)
    assert state.status == "export_pending"
    assert [c["sha"] for c in state.pending] == [internal]
    assert state.pending[0]["files"] == ["core/api.py"]

    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2 API")
    state = component_sync(component_id=component.pk)
    assert state.status == "diverged"
    assert [(c["sha"], c["author"], c["files"]) for c in state.community] == [
        (outside, "Community Dev", ["api/v2.py"])
    ]
    assert SyncState.objects.filter(component=component).count() == 5  # history is kept


def test_backport_needed_and_a_backport_with_a_prefix_mapping(ready, tmp_path):
    p = ready(FILES, from_prefix="core/", to_prefix="")
    p.publish()
    # core/ mapped to the root
    assert external_files(p.external) == {"api.py", "api/v1.py", *COMMUNITY}
    outside = community_commit(
        tmp_path, p.external,
        {"api.py": "# SPDX-License-Identifier: Apache-2.0\ndef ping():\n    return 2\n"},
        "Return 2 from ping",
    )  # fmt: skip
    assert component_sync(component_id=p.component.pk).status == "backport_needed"
    backport = backport_create(component=p.component, actor=p.state.world.alice, commit=outside)
    assert backport.state == Backport.State.CREATED
    assert backport.branch == f"gatehouse/backport/{outside[:12]}"
    repo: GitRepo = p.state.repo
    assert "return 2" in repo.git("show", f"{backport.branch}:core/api.py")
    assert repo.git("log", "-1", "--format=%an", backport.branch) == "Community Dev"
    assert AuditEvent.objects.filter(action="backport.created").exists()


def test_backport_conflict_is_reported_and_nothing_is_pushed(ready, tmp_path):
    p = ready(FILES, from_prefix="core/", to_prefix="")
    p.publish()
    repo: GitRepo = p.state.repo
    repo.commit({"core/api.py": "# SPDX-License-Identifier: Apache-2.0\ndef ping():\n"
                                "    return 'inside'\n"}, "internal edit")  # fmt: skip
    outside = community_commit(
        tmp_path, p.external,
        {"api.py": "# SPDX-License-Identifier: Apache-2.0\ndef ping():\n    return 'outside'\n"},
        "Outside edit",
    )  # fmt: skip
    backport = backport_create(component=p.component, actor=p.state.world.alice, commit=outside)
    assert backport.state == Backport.State.CONFLICT and backport.branch == ""
    assert any("core/api.py" in c for c in backport.conflicts), backport.conflicts
    assert "gatehouse/backport" not in repo.git("branch", "--list")


def test_two_syncs_of_one_component_run_once(ready):
    p = ready(FILES)
    before = SyncState.objects.count()
    with vcs.workspace_lock(workspace_for(p.component), wait=True) as held:
        assert held
        assert component_sync(component_id=p.component.pk) is None  # the other one runs
    assert SyncState.objects.count() == before
    assert component_sync(component_id=p.component.pk) is not None


def test_versions_gate_blocks_on_divergence_overdue_backports_and_taken_versions(
    ready, tmp_path, django_capture_on_commit_callbacks
):
    p = ready(FILES)
    p.publish()
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    component_sync(component_id=p.component.pk)
    release = p.state.release("1.1.0")
    assert release.state == ReleaseState.READY  # a fresh community commit may wait
    # ...but not for ever: age it past the policy.
    state = SyncState.objects.filter(component=p.component).first()
    old = (timezone.now() - timedelta(days=30)).isoformat()
    state.community = [{**state.community[0], "date": old}]
    state.save()
    release_evaluate(release_id=release.pk, trigger="manual")
    release.refresh_from_db()
    versions = next(g for g in release.gates if g["gate"] == "versions")
    assert versions["status"] == "blocked"
    assert f"waited over {django_settings.GATEHOUSE_BACKPORT_MAX_DAYS} days" in versions["reason"]
    assert outside[:10] in versions["reason"]
    # Someone else took v1.2.0 outside: that version is blocked.
    git(tmp_path, "--git-dir", str(p.external), "tag", "v1.2.0", outside)
    component_sync(component_id=p.component.pk)
    other = p.state.release("1.2.0")
    reason = next(g for g in other.gates if g["gate"] == "versions")["reason"]
    assert "v1.2.0 already exists externally, made by someone else" in reason


def test_publish_needs_owner_or_admin_and_an_external_repository(approved):
    state = approved(FILES)
    release = state.release()
    with pytest.raises(ValidationError, match="Set the external repository first"):
        release_publish(release=release, actor=state.world.alice)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        release_publish(release=release, actor=state.world.bob)


def test_external_repository_is_checked_before_anything_is_written(approved):
    state = approved(FILES)
    for url in ["ext::sh -c touch% /tmp/pwned", "https://user:pw@example.com/x.git",
                state.repo.url]:  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            component_set_external(component=state.component, actor=state.world.admin, url=url)
        assert "external_url" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        component_set_external(component=state.component, actor=state.world.admin,
                               url="https://example.com/x.git", from_prefix="../etc")  # fmt: skip
    assert "from_prefix" in caught.value.message_dict
    state.component.refresh_from_db()
    assert state.component.external_repository is None


def test_waived_release_still_gets_its_export_scanned(ready, django_capture_on_commit_callbacks):
    p = ready({**FILES, "core/conf.py": 'PASSWORD = "' + "Zq8" + 'xL2mP9vR4tY7wK1"\n'})
    with django_capture_on_commit_callbacks(execute=True):
        waiver_grant(actor=p.state.world.admin, release=p.release, gate="scan",
                     reason="Risk accepted in review.", owner=p.state.world.alice,
                     expires_at=timezone.now() + timedelta(days=2))  # fmt: skip
    p.release.refresh_from_db()
    assert p.release.state == ReleaseState.READY
    with pytest.raises(PublishAborted) as caught:
        p.publish()
    assert any("core/conf.py:1" in m for m in caught.value.messages)
    assert external_log(p.external) == []


def test_the_sync_runs_on_beat():
    entry = django_settings.CELERY_BEAT_SCHEDULE["sync-components"]
    assert entry["task"] == "releases.sync_all_components"
    assert entry["schedule"] == django_settings.GATEHOUSE_SYNC_INTERVAL
    celery_app.loader.import_default_modules()  # what a worker and beat do at start-up
    assert "releases.sync_all_components" in celery_app.tasks
    assert "releases.run_git_job" in celery_app.tasks
    entry = django_settings.CELERY_BEAT_SCHEDULE["requeue-stalled-git-jobs"]
    assert entry["task"] in celery_app.tasks


def test_the_beat_task_syncs_every_component_with_two_sides(
    ready, approved, django_capture_on_commit_callbacks
):
    from releases.tasks import sync_all_components

    p = ready(FILES)
    latest = SyncState.objects.filter(component=p.component).first()
    with django_capture_on_commit_callbacks(execute=True):  # a job each, run by a worker
        assert sync_all_components.delay().get() == 1  # eager here; a worker in production
    again = SyncState.objects.filter(component=p.component).first()
    assert again.pk == latest.pk and again.checked_at > latest.checked_at  # nothing moved
    assert again.trigger == "schedule"


def test_a_no_change_sync_reuses_the_findings_and_a_change_recomputes(ready, tmp_path):
    p = ready(FILES)
    p.publish()
    first = component_sync(component_id=p.component.pk)
    again = component_sync(component_id=p.component.pk)
    assert again.pk == first.pk and again.checked_at > first.checked_at  # no new row
    community_commit(tmp_path, p.external, {"api/v3.py": "V = 3\n"}, "v3")
    assert component_sync(component_id=p.component.pk).status == "backport_needed"
    # A new scope is a new question, even with both heads where they were.
    p.component.open_paths = ["core/**"]
    p.component.save()
    state = component_sync(component_id=p.component.pk)
    assert state.status == "backport_needed"


def test_a_backported_commit_no_longer_waits_and_the_loop_closes(
    ready, tmp_path, django_capture_on_commit_callbacks
):
    from reviews.services import submission_refresh

    p = ready(FILES)
    p.publish()
    outside = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    backport = backport_create(component=p.component, actor=p.state.world.alice, commit=outside)
    repo: GitRepo = p.state.repo
    repo.git("merge", "-q", "--no-edit", backport.branch)  # the internal team merges it
    state = component_sync(component_id=p.component.pk)
    assert state.status == "export_pending"  # not diverged: the community commit is handled
    assert state.community[0]["backport"] == backport.branch
    with django_capture_on_commit_callbacks(execute=True):  # reviewed and scanned again
        submission_refresh(submission=p.state.submission, actor=p.state.world.alice)
        p.state.approve_all()
    release = p.state.release("1.1.0", commit=repo.head())
    assert release.state == ReleaseState.READY, release.blocking_gates
    published = release_publish(release=release, actor=p.state.world.alice)
    assert published.state == ReleaseState.PUBLISHED
    assert "api/v2.py" in external_files(p.external)  # the community file made it back out
    assert component_sync(component_id=p.component.pk).status == "in_sync"


def test_external_history_before_the_first_export_does_not_hold_the_first_release(
    approved, external, tmp_path, django_capture_on_commit_callbacks
):
    community_commit(tmp_path, external, {"README.md": "# placeholder\n"}, "Initial commit")
    state = approved(FILES, external=f"file://{external}")
    sync = component_sync(component_id=state.component.pk)
    assert sync.status == "diverged" and sync.last_exported_rev == ""
    SyncState.objects.filter(pk=sync.pk).update(
        community=[{**sync.community[0], "date": "2020-01-01T00:00:00+00:00"}]
    )
    with django_capture_on_commit_callbacks(execute=True):
        release = state.release()
    versions = next(g for g in release.gates if g["gate"] == "versions")
    assert versions["status"] == "pass", versions["reason"]


def test_a_range_of_community_commits_is_backported_on_one_branch_oldest_first(ready, tmp_path):
    p = ready(FILES)
    p.publish()
    first = community_commit(tmp_path, p.external, {"api/v2.py": "V = 2\n"}, "Add v2")
    middle = community_commit(tmp_path, p.external, {"api/v2.py": "V = 22\n"}, "Bump v2")
    last = community_commit(tmp_path, p.external, {"api/v3.py": "V = 3\n"}, "Add v3")
    backport = backport_create(component=p.component, actor=p.state.world.alice,
                               commit=last, first=first)  # fmt: skip
    assert backport.state == "created" and backport.source_commits == [first, middle, last]
    repo: GitRepo = p.state.repo
    subjects = repo.git("log", "--format=%s", "-3", backport.branch).splitlines()
    assert subjects == ["Add v3", "Bump v2", "Add v2"]
    assert repo.git("show", f"{backport.branch}:api/v2.py") == "V = 22"
    state = component_sync(component_id=p.component.pk)
    assert all(c["backport"] == backport.branch for c in state.community)
    assert state.status == "in_sync"  # nothing pending inside until the branch is merged
    with pytest.raises(ValidationError) as caught:
        backport_create(component=p.component, actor=p.state.world.alice,
                        commit=first, first=last)  # fmt: skip
    assert "first" in caught.value.message_dict


def test_no_change_syncs_leave_the_release_history_alone(ready):
    p = ready(FILES)
    release = p.release
    before = release.evaluations.count()
    for _ in range(3):
        component_sync(component_id=p.component.pk)
    assert release.evaluations.count() == before
