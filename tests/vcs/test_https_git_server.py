"""The test https git server (tests/https_git.py), driven by the real `git` command line."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from tests.gitrepo import GIT_IDENTITY
from tests.https_git import HttpsGitServer

TOKEN_HEADER = "Authorization: Bearer t0ken"


@pytest.fixture
def git_env(tmp_path) -> dict[str, str]:
    """A clean environment: no user or system config, no proxy, no prompts."""
    home = tmp_path / "home"
    home.mkdir()
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


@pytest.fixture
def git(git_env, tmp_path):
    def run(*args: str, cwd: Path = tmp_path, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            ["git", *GIT_IDENTITY, *args],
            cwd=cwd,
            env=git_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check and result.returncode != 0:
            pytest.fail(f"git {' '.join(args)} failed:\n{result.stderr}")
        return result

    return run


@pytest.fixture
def root(tmp_path) -> Path:
    path = tmp_path / "served"
    path.mkdir()
    return path


@pytest.fixture
def work(git, root, tmp_path) -> Path:
    """A working repository with one commit on main, pushed over file:// to root/team.git."""
    git("init", "-q", "--bare", str(root / "team.git"))
    path = tmp_path / "work"
    git("init", "-q", str(path))
    (path / "README").write_text("hello\n")
    git("add", "README", cwd=path)
    git("commit", "-q", "-m", "first", cwd=path)
    git("push", "-q", str(root / "team.git"), "main", cwd=path)
    return path


@pytest.fixture
def server(root, work):
    with HttpsGitServer(root) as server:
        yield server
    assert server.errors == []


@pytest.fixture
def https_git(git, server):
    """git, trusting the server's self-signed certificate."""

    def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
        return git("-c", f"http.sslCAInfo={server.ca_file}", *args, **kwargs)

    return run


def _head(git, cwd: Path, ref: str = "HEAD") -> str:
    return git("rev-parse", ref, cwd=cwd).stdout.strip()


def _https_connection(server: HttpsGitServer, host: str = "127.0.0.1"):
    context = ssl.create_default_context(cafile=str(server.ca_file))
    return http.client.HTTPSConnection(host, server.port, context=context, timeout=10)


def test_ls_remote_lists_the_branch_of_the_bare_repository(https_git, git, server, work):
    listing = https_git("ls-remote", server.url("team.git")).stdout

    assert f"{_head(git, work)}\trefs/heads/main" in listing.splitlines()
    assert [(r.method, r.path) for r in server.requests][0] == ("GET", "/team.git/info/refs")


def test_clone_over_https_gets_the_commit(https_git, git, server, work, tmp_path):
    https_git("clone", "-q", server.url("team.git"), str(tmp_path / "clone"))

    assert _head(git, tmp_path / "clone") == _head(git, work)


def test_fetch_of_many_branches_sends_a_gzip_body_and_gets_them_all(
    https_git, git, server, work, root, tmp_path
):
    clone = tmp_path / "clone"
    https_git("clone", "-q", server.url("team.git"), str(clone))
    for number in range(30):  # 30 "want" lines: git gzips request bodies over 1 KB
        git("commit", "-q", "--allow-empty", "-m", f"topic {number}", cwd=work)
        git("branch", f"topic-{number}", cwd=work)
    git("push", "-q", str(root / "team.git"), "--all", cwd=work)
    server.clear()

    https_git("fetch", "-q", "origin", cwd=clone)

    assert _head(git, clone, "origin/topic-29") == _head(git, work)
    assert _head(git, clone, "origin/topic-0") == _head(git, work, "topic-0")
    assert "gzip" in server.headers_seen("content-encoding")


def test_push_of_a_new_branch_with_a_300_kb_file_lands_in_the_bare_repository(
    https_git, git, server, work, root
):
    git("checkout", "-q", "-b", "feature", cwd=work)
    (work / "blob.bin").write_bytes(os.urandom(300_000))  # random: the pack stays ~300 KB
    git("add", "blob.bin", cwd=work)
    git("commit", "-q", "-m", "big", cwd=work)

    https_git("push", "-q", server.url("team.git"), "feature", cwd=work)

    landed = git("--git-dir", str(root / "team.git"), "rev-parse", "refs/heads/feature").stdout
    assert landed.strip() == _head(git, work)
    post = [r for r in server.requests if r.path == "/team.git/git-receive-pack"]
    assert int(post[-1].headers["content-length"]) > 300_000


def test_push_bigger_than_the_post_buffer_is_sent_chunked_and_lands(
    https_git, git, server, work, root
):
    git("checkout", "-q", "-b", "chunked", cwd=work)
    (work / "blob.bin").write_bytes(os.urandom(300_000))
    git("add", "blob.bin", cwd=work)
    git("commit", "-q", "-m", "big", cwd=work)

    # Above http.postBuffer (1 MiB by default) git streams the pack with chunked encoding,
    # after a small "0000" probe POST.
    https_git("-c", "http.postBuffer=65536", "push", server.url("team.git"), "chunked", cwd=work)

    landed = git("--git-dir", str(root / "team.git"), "rev-parse", "refs/heads/chunked").stdout
    assert landed.strip() == _head(git, work)
    assert "chunked" in server.headers_seen("transfer-encoding")


def test_extra_header_is_recorded_with_the_host_it_was_sent_to(https_git, server):
    https_git("-c", f"http.extraHeader={TOKEN_HEADER}", "ls-remote", server.url("team.git"))

    requests = server.requests
    # git sends http.extraHeader on every request: the GET of info/refs and the POSTs.
    assert {r.method for r in requests} == {"GET", "POST"}
    assert all(r.host == f"127.0.0.1:{server.port}" for r in requests)
    assert server.headers_seen("Authorization") == ["Bearer t0ken"] * len(requests)


def test_redirect_to_another_host_is_refused_when_git_does_not_follow_redirects(
    https_git, git, server, root
):
    git("clone", "-q", "--bare", str(root / "team.git"), str(root / "moved" / "team.git"))
    server.redirect("/moved/", "localhost")

    result = https_git(
        "-c", "http.followRedirects=false",
        "-c", f"http.extraHeader={TOKEN_HEADER}",
        "ls-remote", server.url("moved/team.git"),
        check=False,
    )  # fmt: skip

    assert result.returncode != 0
    assert "302" in result.stderr
    assert [r.host for r in server.requests] == [f"127.0.0.1:{server.port}"]
    assert not [r for r in server.requests if r.host.startswith("localhost:")]
    # With the default (http.followRedirects=initial), git 2.39 / libcurl 7.88 follow the 302 of
    # the first GET to localhost; curl drops the Authorization extraHeader on that redirected
    # GET (other extraHeaders go along), but git then moves its base URL to localhost and sends
    # the POSTs to git-upload-pack there itself, WITH the Authorization extraHeader.


def test_redirect_answers_302_to_the_same_path_and_query_on_the_other_host(server, root):
    server.redirect("/moved/", "localhost")
    connection = _https_connection(server)
    connection.request("GET", "/moved/team.git/info/refs?service=git-upload-pack")
    response = connection.getresponse()
    response.read()
    connection.close()

    assert response.status == 302
    assert response.getheader("Location") == (
        f"https://localhost:{server.port}/moved/team.git/info/refs?service=git-upload-pack"
    )
    # Requests that already reach the target host are served, not redirected again.
    connection = _https_connection(server, "localhost")
    connection.request("GET", "/moved/team.git/info/refs?service=git-upload-pack")
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 404  # served by git http-backend: root has no moved/team.git
    assert [r.host for r in server.requests] == [
        f"127.0.0.1:{server.port}",
        f"localhost:{server.port}",
    ]


def test_redirect_to_url_sends_git_to_another_server(git, server, root, tmp_path):
    other_root = tmp_path / "other"
    other_root.mkdir()
    git("clone", "-q", "--bare", str(root / "team.git"), str(other_root / "team.git"))
    with HttpsGitServer(other_root) as other:
        both_certificates = tmp_path / "ca.pem"  # each server has its own self-signed one
        both_certificates.write_text(server.ca_file.read_text() + other.ca_file.read_text())
        server.redirect_to_url("/team.git", other.base_url())
        result = git(
            "-c", f"http.sslCAInfo={both_certificates}",
            "ls-remote", server.url("team.git"),
        )  # fmt: skip
        other_requests = other.requests
    assert other.errors == []

    assert "refs/heads/main" in result.stdout
    assert [r.host for r in server.requests] == [f"127.0.0.1:{server.port}"]
    assert {r.host for r in other_requests} == {f"127.0.0.1:{other.port}"}


def test_require_header_answers_401_without_it_and_serves_with_it(https_git, server):
    server.require_header("Authorization", "Bearer t0ken")

    refused = https_git("ls-remote", server.url("team.git"), check=False)
    wrong = https_git(
        "-c", "http.extraHeader=Authorization: Bearer wrong",
        "ls-remote", server.url("team.git"),
        check=False,
    )  # fmt: skip
    accepted = https_git(
        "-c", f"http.extraHeader={TOKEN_HEADER}", "ls-remote", server.url("team.git")
    )  # fmt: skip

    # On a 401 git asks for a username; with prompts disabled and no helper, it gives up.
    assert refused.returncode != 0
    assert "could not read Username" in refused.stderr
    assert wrong.returncode != 0
    assert "refs/heads/main" in accepted.stdout
    assert server.headers_seen("authorization")[:2] == ["Bearer wrong", "Bearer t0ken"]


def test_a_request_the_handler_cannot_read_gets_500_and_the_connection_closes(server):
    connection = _https_connection(server)
    connection.putrequest("POST", "/team.git/git-upload-pack")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    connection.send(b"not-hex\r\n\r\n")
    response = connection.getresponse()
    response.read()
    connection.close()

    assert response.status == 500
    assert response.getheader("Connection") == "close"
    assert len(server.errors) == 1 and "ValueError" in server.errors[0]
    server.errors.clear()


def test_exit_closes_the_port_joins_the_threads_and_removes_the_certificate(root, work):
    before = set(threading.enumerate())
    with HttpsGitServer(root) as server:
        connection = _https_connection(server)
        connection.request("GET", "/team.git/info/refs")
        connection.getresponse().read()  # keep-alive: the connection stays open
        port, ca_file = server.port, server.ca_file
        assert ca_file.is_file()
    connection.close()

    assert set(threading.enumerate()) <= before
    assert not ca_file.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
