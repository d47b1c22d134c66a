"""Tests for vcs: real git repositories in tmp_path, no mocked git."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

import vcs
from vcs import (
    BranchNotFound,
    GitTimeout,
    InvalidRef,
    RepositoryUnreachable,
    UnsafeURL,
    VcsError,
    git_env,
    ls_remote_branch,
    validate_branch,
    validate_url,
)
from vcs.git import _run_git

# Isolate the git commands the *tests* run from the developer's own config.
_TEST_GIT_ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "LC_ALL": "C",
}


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        env=_TEST_GIT_ENV,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _commit(repo: Path, filename: str, content: str) -> str:
    (repo / filename).write_text(content)
    _git(repo, "add", filename)
    _git(repo, "commit", "-q", "-m", f"add {filename}")
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """The folder the allow list permits, like var/demo-repos/ in the project."""
    folder = tmp_path / "demo-repos"
    folder.mkdir()
    return folder


@pytest.fixture
def allow(base: Path) -> list[str]:
    return ["https://", f"file://{base}/"]


@pytest.fixture
def repo(base: Path) -> Path:
    """main, feature/x, main-old and a/refs/heads/x, each on its own commit."""
    path = base / "demo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _commit(path, "README", "hello\n")
    _git(path, "branch", "main-old")
    _git(path, "checkout", "-q", "-b", "feature/x")
    _commit(path, "feature.txt", "feature\n")
    _git(path, "checkout", "-q", "-b", "a/refs/heads/x")
    _commit(path, "tricky.txt", "tail match\n")
    _git(path, "checkout", "-q", "main")
    _commit(path, "more.txt", "more\n")
    return path


@pytest.fixture
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to start a process."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


# --------------------------------------------------------------------------- ls_remote_branch


@pytest.mark.parametrize("branch", ["main", "feature/x", "main-old", "a/refs/heads/x"])
def test_resolves_branch_head_to_rev_parse_sha(repo: Path, allow: list[str], branch: str) -> None:
    sha = ls_remote_branch(f"file://{repo}", branch, allow=allow)
    assert sha == _git(repo, "rev-parse", f"refs/heads/{branch}")
    assert len(sha) == 40


def test_unknown_branch_raises_branch_not_found(repo: Path, allow: list[str]) -> None:
    with pytest.raises(BranchNotFound) as err:
        ls_remote_branch(f"file://{repo}", "nope", allow=allow)
    assert str(err.value) == f"Branch 'nope' does not exist in file://{repo}."


def test_only_exact_ref_name_matches(repo: Path, allow: list[str]) -> None:
    # git ls-remote's pattern "refs/heads/x" tail-matches refs/heads/a/refs/heads/x.
    with pytest.raises(BranchNotFound):
        ls_remote_branch(f"file://{repo}", "x", allow=allow)
    with pytest.raises(BranchNotFound):
        ls_remote_branch(f"file://{repo}", "feature", allow=allow)


def test_directory_that_is_not_a_repo_is_unreachable(
    base: Path, allow: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    (base / "plain").mkdir()
    with pytest.raises(RepositoryUnreachable) as err:
        ls_remote_branch(f"file://{base}/plain", "main", allow=allow)
    assert not isinstance(err.value, GitTimeout)
    # The user reads one plain sentence; git's own words go to the server log only.
    assert str(err.value) == f"Could not reach the repository at file://{base}/plain."
    assert "does not appear to be a git repository" in caplog.text


def test_missing_path_is_unreachable(base: Path, allow: list[str]) -> None:
    with pytest.raises(RepositoryUnreachable):
        ls_remote_branch(f"file://{base}/missing.git", "main", allow=allow)


def test_timeout_becomes_git_timeout(repo: Path, allow: list[str]) -> None:
    with pytest.raises(GitTimeout) as err:
        ls_remote_branch(f"file://{repo}", "main", allow=allow, timeout=0.0001)
    assert isinstance(err.value, RepositoryUnreachable)
    # A time-out reads exactly like any other failure to reach the repository.
    assert str(err.value) == f"Could not reach the repository at file://{repo}."


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, just unreaped


def test_timeout_kills_processes_git_started(tmp_path: Path) -> None:
    # A real grandchild: git runs the alias through sh, which records its pid and sleeps.
    pidfile = tmp_path / "pid"
    alias = f"alias.hang=!echo $$ > {pidfile}; exec sleep 30"
    with pytest.raises(GitTimeout):
        _run_git(["-c", alias, "hang"], timeout=1.0)
    deadline = time.monotonic() + 5
    pid = int(pidfile.read_text())
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_missing_git_binary_is_vcs_error(
    repo: Path, allow: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(VcsError) as err:
        ls_remote_branch(f"file://{repo}", "main", allow=allow)
    assert type(err.value) is VcsError
    assert "git is not installed" in str(err.value)


def test_callers_git_variables_do_not_reach_git(
    repo: Path, allow: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # If these leaked, git would read another repository or inject config.
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'protocol.file.allow'='never'")
    sha = ls_remote_branch(f"file://{repo}", "main", allow=allow)
    assert sha == _git(repo, "rev-parse", "main")


def test_non_positive_timeout_is_rejected(repo: Path, allow: list[str]) -> None:
    with pytest.raises(ValueError):
        ls_remote_branch(f"file://{repo}", "main", allow=allow, timeout=0)


# --------------------------------------------------------------------------- validate_url

REFUSED_URLS = [
    "ext::sh -c touch% /tmp/pwned",
    "fd::17",
    "fd::17/foo",
    "-oProxyCommand=x",
    "--upload-pack=touch /tmp/x",
    "https://example.com/r.git --upload-pack=x",
    "https://example.com/--upload-pack=x",
    "https://user:pw@example.com/r.git",
    "https://tok@example.com/r.git",
    "https://@example.com/r.git",
    "file:///etc/passwd",
    "file://{base}/../escape",
    "file://{base}/demo/../../escape",
    "file://{base}-evil/r",
    "file://{base}evil/r",
    "file://localhost{base}/demo",
    "file://{base}/demo?x",
    "file://{base}/%2e%2e/x",
    "https://exa\nmple.com/x",
    "https://example.com/x\x00",
    "https://example.com/x\x7f",
    "ssh://host/x",
    "git://example.com/x",
    "git@github.com:org/repo.git",
    "github.com:org/repo.git",
    "http://example.com/x",
    "HTTPS://example.com/x",
    " https://example.com/x",
    "https://example.com/x ",
    "https://example.com/a b",
    "https://example.com/x#frag",
    "https://example.com/x?service=git-upload-pack",
    "https://example.com/a/../b",
    "https://example.com/a/%2e%2e/b",
    "https://example.com/a%2fb",
    "https://example.com//a",
    "https://example.com",
    "https://example.com/",
    "https:///path",
    "https://exa_mple.com/x",
    "https://example.com:99999/x",
    "https://example.com\\@evil.com/x",
    "https://exämple.com/x",
    "/etc/passwd",
    "{base}/demo",
    "relative/path",
    "",
]


@pytest.mark.parametrize("template", REFUSED_URLS)
def test_refused_urls_raise_unsafe_url_without_a_process(
    template: str, base: Path, allow: list[str], no_processes: None
) -> None:
    url = template.replace("{base}", str(base))
    with pytest.raises(UnsafeURL) as err:
        ls_remote_branch(url, "main", allow=allow)
    message = str(err.value)
    assert message.endswith(".") or message.endswith(")")
    assert "\n" not in message


def test_ext_transport_never_runs_its_command(tmp_path: Path, allow: list[str]) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(UnsafeURL, match="transport helper"):
        ls_remote_branch(f"ext::sh -c touch% {marker}", "main", allow=allow)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("-oProxyCommand=x", "Repository URL must not start with '-'."),
        ("https://tok@example.com/r.git", "must not contain a user name, password or token"),
        ("ssh://host/x", "Repository URLs must start with https:// or file://"),
        ("git@github.com:org/repo.git", "SSH-style addresses"),
        ("file:///etc/passwd", "Repository URL is not in an allowed location."),
        (" https://example.com/x", "must not start or end with whitespace"),
    ],
)
def test_refusal_messages_are_human_readable(url: str, message: str, allow: list[str]) -> None:
    with pytest.raises(UnsafeURL, match=message.replace(".", r"\.").replace("?", r"\?")):
        validate_url(url, allow)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com/org/repo.git", ["https://"]),
        ("https://example.com/org/repo", ["https://"]),
        ("https://example.com:8443/org/repo.git", ["https://"]),
        ("https://github.com/org/repo.git", ["https://github.com/org/"]),
        ("https://GitHub.com/org/repo.git", ["https://github.com/"]),
        ("https://github.com:443/org/repo.git", ["https://github.com/"]),
        ("https://[::1]/org/repo.git", ["https://"]),
        ("https://10.0.0.1/org/repo.git", ["https://"]),
        ("file:///srv/demo-repos/one", ["file:///srv/demo-repos/"]),
        ("file:///srv/demo-repos/one/", ["file:///srv/demo-repos"]),
        ("file:///srv/demo-repos/./one", ["file:///srv/demo-repos/"]),
        ("file:///srv//demo-repos/one", ["file:///srv/demo-repos/"]),
    ],
)
def test_accepted_urls_are_returned_unchanged(url: str, allowed: list[str]) -> None:
    assert validate_url(url, allowed) == url


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://gitlab.com/org/repo.git", ["https://github.com/"]),
        ("https://github.com/other/repo.git", ["https://github.com/org/"]),
        ("https://github.com/organisation/repo.git", ["https://github.com/org/"]),
        ("https://github.com:8443/org/repo.git", ["https://github.com/"]),
        ("https://example.com/org/repo.git", ["file:///srv/demo-repos/"]),
        ("file:///srv/demo-repos/one", ["https://"]),
        ("https://example.com/org/repo.git", []),
    ],
)
def test_urls_outside_the_allow_list_are_refused(url: str, allowed: list[str]) -> None:
    with pytest.raises(UnsafeURL):
        validate_url(url, allowed)


@pytest.mark.parametrize(
    "allowed",
    ["https://", ["ssh://"], ["http://"], ["file://relative/"], ["https://u:p@host/"]],
)
def test_misconfigured_allow_list_is_a_value_error(allowed: object) -> None:
    with pytest.raises(ValueError):
        validate_url("https://example.com/org/repo.git", allowed)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- validate_branch

REFUSED_BRANCHES = [
    "-x",
    "a..b",
    "a b",
    "x.lock",
    "a/x.lock/b",
    "",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "refs\x00",
    "tab\there",
    "del\x7f",
    "a@{1}",
    "@",
    "HEAD",
    "/a",
    "a/",
    "a//b",
    "a.",
    ".hidden",
    "a/.hidden",
    "zero\u200bwidth",
    "x" * 256,
]


@pytest.mark.parametrize("name", REFUSED_BRANCHES)
def test_bad_branch_names_raise_invalid_ref(name: str) -> None:
    with pytest.raises(InvalidRef):
        validate_branch(name)


@pytest.mark.parametrize("name", REFUSED_BRANCHES)
def test_bad_branch_refused_before_any_process(
    name: str, base: Path, allow: list[str], no_processes: None
) -> None:
    with pytest.raises(InvalidRef):
        ls_remote_branch(f"file://{base}/demo", name, allow=allow)


@pytest.mark.parametrize(
    "name",
    ["main", "feature/x", "release-1.0", "a.b", "user/name_1", "a@b", "x" * 255, "déjà-vu"],
)
def test_good_branch_names_are_returned_unchanged(name: str) -> None:
    assert validate_branch(name) == name


@pytest.mark.parametrize("name", ["main", "feature/x", "a.b", "a@b", "-x", "a..b", "x.lock"])
def test_branch_rules_agree_with_git(name: str, tmp_path: Path) -> None:
    git_says_ok = (
        subprocess.run(
            ["git", "check-ref-format", "--branch", name],
            cwd=tmp_path,
            env=_TEST_GIT_ENV,
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        validate_branch(name)
    except InvalidRef:
        we_say_ok = False
    else:
        we_say_ok = True
    assert we_say_ok == git_says_ok


# --------------------------------------------------------------------------- git_env


def test_git_env_does_not_inherit_git_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/somewhere/else")
    monkeypatch.setenv("GIT_SSH_COMMAND", "touch /tmp/pwned")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.hooksPath'='/tmp'")
    monkeypatch.setenv("SOME_SECRET", "s3cret")
    env = git_env()
    assert "GIT_DIR" not in env
    assert "GIT_SSH_COMMAND" not in env
    assert "GIT_CONFIG_PARAMETERS" not in env
    assert "SOME_SECRET" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_git_env_is_hardened() -> None:
    env = git_env()
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["GIT_ALLOW_PROTOCOL"] == "https:file"
    assert env["GIT_PROTOCOL_FROM_USER"] == "0"
    assert env["GCM_INTERACTIVE"] == "never"
    assert env["LANG"] == "C"
    assert env["GIT_ASKPASS"] == env["SSH_ASKPASS"] == "/bin/true"


def test_git_env_returns_a_fresh_dict() -> None:
    env = git_env()
    env["GIT_DIR"] = "/x"
    assert "GIT_DIR" not in git_env()


# --------------------------------------------------------------------------- package surface


def test_error_hierarchy() -> None:
    for cls in (UnsafeURL, InvalidRef, BranchNotFound, RepositoryUnreachable):
        assert issubclass(cls, VcsError)
    assert issubclass(GitTimeout, RepositoryUnreachable)


def test_public_api_is_exported() -> None:
    assert set(vcs.__all__) == {
        "BlobReader",
        "BranchNotFound",
        "GitTimeout",
        "InvalidRef",
        "LimitExceeded",
        "RefNotFound",
        "RepositoryUnreachable",
        "TreeEntry",
        "UnsafeURL",
        "VcsError",
        "changed_paths",
        "check_egress",
        "Credentials",
        "git_env",
        "list_tree",
        "ls_remote_branch",
        "mirror_dir_for",
        "mirror_update",
        "normalize_url",
        "read_blobs",
        "resolve_commitish",
        "resolve_ref",
        "stream_blob",
        "validate_branch",
        "validate_url",
        # export.py: the Open Core workspace
        "ApplyResult", "CommitInfo", "Identity", "PathNotFound", "PushRejected",
        "apply_commit_onto", "build_export_tree", "commit_tree", "create_tag", "list_refs",
        "log", "push", "ref_commit", "tree_of", "workspace_lock", "workspace_update",
        # export.py: what the external repository's watcher reads of each commit
        "ChangedBlob", "changed_blobs",
        # tree.py: release commits
        "commit_reachable", "recent_tags",
        # objects.py: what reviewers read (GitPython, local objects only)
        "BlobView", "CommitDiff", "DiffLine", "FileDiff", "Hunk", "commit_diff", "is_ancestor",
        "read_blob_at",
    }  # fmt: skip
    assert all(hasattr(vcs, name) for name in vcs.__all__)
