"""Attack 3 through Gatehouse itself: the organisation's push credential, scoped to its
forge, must never reach a server an engineer points a component at. A real https git
server on 127.0.0.1 (tests/https_git.py) records what each host received."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from releases.sync import component_sync, release_publish
from tests.https_git import HttpsGitServer
from tests.releases.conftest import SYNC_FILES

PUSH_TOKEN = "Bearer org-oss-push"


def bare(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)


@pytest.fixture
def forge(tmp_path, monkeypatch, settings):
    root = tmp_path / "served"
    bare(root / "oss" / "mq-core.git")
    bare(root / "evil" / "drop.git")
    with HttpsGitServer(root) as server:
        monkeypatch.setenv("GIT_SSL_CAINFO", str(server.ca_file))
        settings.GATEHOUSE_GIT_ALLOW = [
            *settings.GATEHOUSE_GIT_ALLOW,
            server.base_url() + "/",
            server.base_url("localhost") + "/",
        ]
        credentials = tmp_path / "credentials.json"
        credentials.write_text(
            f'[{{"prefix": "{server.base_url()}/oss/", "header": "Authorization: {PUSH_TOKEN}"}}]'
        )
        settings.GATEHOUSE_GIT_CREDENTIALS_FILE = str(credentials)
        yield server


def test_the_org_credential_publishes_to_its_forge_and_nowhere_else(
    forge, approved, django_capture_on_commit_callbacks
):
    state = approved(SYNC_FILES, external=forge.url("oss/mq-core.git"))
    with django_capture_on_commit_callbacks(execute=True):
        component_sync(component_id=state.component.pk)
        release = state.release()
    assert release.state == "ready", release.blocking_gates
    release_publish(release=release, actor=state.world.alice)
    pushes = [r for r in forge.requests if "receive-pack" in r.path + r.query]
    assert pushes and {r.headers.get("authorization") for r in pushes} == {PUSH_TOKEN}


def test_an_engineers_own_server_receives_no_credential(
    forge, approved, django_capture_on_commit_callbacks
):
    # The engineer's component publishes to "their own server" (another host), reviewed
    # and approved like any other: the push goes out, the organisation's header does not.
    state = approved(SYNC_FILES, external=forge.url("evil/drop.git", host="localhost"))
    with django_capture_on_commit_callbacks(execute=True):
        component_sync(component_id=state.component.pk)
        release = state.release()
    release_publish(release=release, actor=state.world.alice)
    assert [r for r in forge.requests if "receive-pack" in r.path + r.query]
    assert forge.headers_seen("authorization") == []
