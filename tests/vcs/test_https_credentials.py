"""Credentials go only where they are scoped, on a real https git server on 127.0.0.1
(`git http-backend` behind TLS, tests/https_git.py) that records every header it gets.

The server answers under two names, 127.0.0.1 and localhost: the organisation's forge and
"an engineer's own server" are told apart by the Host header, as two hosts would be.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import vcs
from tests.gitrepo import GitRepo
from tests.https_git import HttpsGitServer
from vcs import Credentials, RepositoryUnreachable, UnsafeURL

FETCH_TOKEN = "Basic b3JnLWZldGNo"
PUSH_TOKEN = "Bearer org-push-token"
ORG_FETCH = f"Authorization: {FETCH_TOKEN}"
ORG_PUSH = f"Authorization: {PUSH_TOKEN}"


def bare(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


@pytest.fixture
def forge(tmp_path, monkeypatch):
    """The server, with a team repository holding one commit, and git trusting its CA."""
    root = tmp_path / "served"
    work = GitRepo(tmp_path / "work")
    work.commit({"README.md": "# core\n"}, "initial")
    for name in ("team/core.git", "team/moved.git", "evil/loot.git", "oss/core.git"):
        bare(root / name)
        work.git("push", "-q", str(root / name), "HEAD:refs/heads/main")
    with HttpsGitServer(root) as server:
        monkeypatch.setenv("GIT_SSL_CAINFO", str(server.ca_file))
        yield server


@pytest.fixture
def allow(forge) -> list[str]:
    # Loopback is refused unless an entry names it: both names are named here.
    return [forge.base_url() + "/", forge.base_url("localhost") + "/", "https://"]


@pytest.fixture
def credentials(forge) -> Credentials:
    return Credentials.from_json(
        f"""[
          {{"prefix": "{forge.base_url()}/team/", "header": "{ORG_FETCH}", "for": ["fetch"]}},
          {{"prefix": "{forge.base_url()}/oss/", "header": "{ORG_PUSH}", "for": ["push"]}}
        ]"""
    )


def hosts_with(forge: HttpsGitServer, token: str) -> set[str]:
    return {r.host for r in forge.requests if r.headers.get("authorization") == token}


def test_the_credential_reaches_its_own_prefix(forge, allow, credentials):
    forge.require_header("Authorization", FETCH_TOKEN)
    sha = vcs.ls_remote_branch(
        forge.url("team/core.git"), "main", allow=allow, credentials=credentials
    )
    assert len(sha) == 40
    assert hosts_with(forge, FETCH_TOKEN) == {f"127.0.0.1:{forge.port}"}


def test_an_engineers_own_server_never_receives_the_credential(forge, allow, credentials, tmp_path):
    """Attack 3: point a repository URL at a server you control and wait for the header."""
    for url in [
        forge.url("evil/loot.git", host="localhost"),  # another host
        forge.url("evil/loot.git"),  # the same host, outside the prefix
        forge.url("team/core.git", host="localhost"),  # the prefix's path on another host
    ]:
        vcs.ls_remote_branch(url, "main", allow=allow, credentials=credentials)
        vcs.mirror_update(url, tmp_path / "mirrors" / f"{abs(hash(url))}.git", allow=allow,
                          credentials=credentials)  # fmt: skip
    assert forge.headers_seen("authorization") == []


def test_a_redirect_is_not_followed_with_the_credential(forge, allow, credentials, tmp_path):
    forge.redirect("/team/moved.git", "localhost")
    with pytest.raises(RepositoryUnreachable) as caught:
        vcs.ls_remote_branch(
            forge.url("team/moved.git"), "main", allow=allow, credentials=credentials
        )
    assert str(caught.value) == f"Could not reach the repository at {forge.url('team/moved.git')}."
    assert not [r for r in forge.requests if r.host.startswith("localhost")]
    assert ORG_FETCH not in str(caught.value)


def test_a_push_credential_is_only_sent_when_pushing(forge, allow, credentials, tmp_path):
    workspace = tmp_path / "ws.git"
    vcs.workspace_update(
        workspace, internal_url=forge.url("team/core.git"),
        external_url=forge.url("oss/core.git"), allow=allow, credentials=credentials,
    )  # fmt: skip
    assert hosts_with(forge, PUSH_TOKEN) == set()  # fetching the external side: no push token
    head = vcs.ref_commit(workspace, "refs/internal/heads/main")
    vcs.push(
        workspace, url=forge.url("oss/core.git"), allow=allow,
        refspecs=[(head, "refs/heads/release")], credentials=credentials,
    )  # fmt: skip
    pushes = [r for r in forge.requests if "receive-pack" in (r.path + r.query)]
    assert pushes and all(r.headers.get("authorization") == PUSH_TOKEN for r in pushes)
    # ... and the fetch-only credential never pushes, not even to its own prefix.
    forge.clear()
    vcs.push(
        workspace, url=forge.url("team/core.git"), allow=allow,
        refspecs=[(head, "refs/heads/copy")], credentials=credentials,
    )  # fmt: skip
    assert forge.headers_seen("authorization") == []


def test_loopback_needs_an_allow_list_entry_naming_it(forge, credentials):
    with pytest.raises(UnsafeURL, match="internal network address"):
        vcs.ls_remote_branch(
            forge.url("team/core.git"), "main", allow=["https://"], credentials=credentials
        )
    assert forge.requests == []  # refused before git ran
