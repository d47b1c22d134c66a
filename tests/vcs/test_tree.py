"""Tests for vcs.mirror and vcs.tree: real repositories made with git init in tmp_path."""

from __future__ import annotations

import fcntl
import os
import pickle
import socket
import subprocess
import threading
import time
import tracemalloc
import uuid
from pathlib import Path

import pytest

from vcs import (
    BlobReader,
    GitTimeout,
    InvalidRef,
    LimitExceeded,
    RefNotFound,
    RepositoryUnreachable,
    TreeEntry,
    UnsafeURL,
    VcsError,
    changed_paths,
    list_tree,
    mirror_dir_for,
    mirror_update,
    read_blobs,
    resolve_ref,
)

_TEST_GIT_ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "LC_ALL": "C",
}


def _git(cwd: Path, *args: str | bytes) -> str:
    result = subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            *args,
        ],
        cwd=cwd,
        env=_TEST_GIT_ENV,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().strip()


def _commit_all(repo: Path, message: str) -> str:
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _write(repo: Path, name: str, data: bytes) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def allow(tmp_path: Path) -> list[str]:
    return [f"file://{tmp_path}/"]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A working repository with nested files, an executable and a tag."""
    repo = tmp_path / "source"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, "README.md", b"# demo\n")
    _write(repo, "src/app/main.py", b"print('hi')\n")
    _write(repo, "src/app/deep/er/data.json", b'{"a": 1}\n')
    _write(repo, "run.sh", b"#!/bin/sh\necho run\n")
    (repo / "run.sh").chmod(0o755)
    _commit_all(repo, "first")
    _git(repo, "tag", "-a", "v1.0", "-m", "release")
    return repo


@pytest.fixture
def url(source: Path) -> str:
    return f"file://{source}"


@pytest.fixture
def mirrors(tmp_path: Path) -> Path:
    return tmp_path / "mirrors"


@pytest.fixture
def mirror(url: str, mirrors: Path, allow: list[str]) -> Path:
    return mirror_update(url, mirror_dir_for(mirrors, url), allow=allow)


@pytest.fixture
def no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r}")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def _by_path(entries: list[TreeEntry]) -> dict[str, TreeEntry]:
    return {entry.path: entry for entry in entries}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# --------------------------------------------------------------------------- mirror_update


def test_mirror_dir_is_a_hash_of_the_url_under_base(tmp_path: Path) -> None:
    first = mirror_dir_for(tmp_path, "https://example.com/a.git")
    assert first == mirror_dir_for(tmp_path, "https://example.com/a.git")
    assert first.parent == tmp_path
    assert first.name.endswith(".git") and len(first.name) == 24 + len(".git")
    assert first != mirror_dir_for(tmp_path, "https://example.com/b.git")


def test_mirror_is_bare_and_resolves_branch_tag_and_sha(source: Path, mirror: Path) -> None:
    head = _git(source, "rev-parse", "HEAD")
    assert (mirror / "HEAD").is_file() and not (mirror / "README.md").exists()
    assert _git(mirror, "rev-parse", "--is-bare-repository") == "true"
    assert resolve_ref(mirror, "main") == head
    assert resolve_ref(mirror, "refs/heads/main") == head
    assert resolve_ref(mirror, "v1.0") == head  # annotated tag peeled to its commit
    assert resolve_ref(mirror, "HEAD") == head
    assert resolve_ref(mirror, head) == head
    assert resolve_ref(mirror, head[:12]) == head


def test_a_local_mirror_is_a_copy_sharing_no_file_with_the_source(
    source: Path, mirror: Path
) -> None:
    """A repository on this machine is cloned by copying its objects (fast), never by
    hardlinks: writing to the source's files afterwards cannot change the mirror."""
    source_inodes = {
        p.stat().st_ino for p in (source / ".git" / "objects").rglob("*") if p.is_file()
    }
    mirror_inodes = {p.stat().st_ino for p in (mirror / "objects").rglob("*") if p.is_file()}
    assert mirror_inodes and not (source_inodes & mirror_inodes)
    assert not any((mirror / "hooks").glob("*"))  # no hook of the source (or system) copied


def test_a_local_source_with_symlinked_objects_is_refused(
    tmp_path: Path, mirrors: Path, allow: list[str]
) -> None:
    """A local clone that followed a symlink in the source's objects folder would copy
    whatever file it points at into the mirror: git refuses it, and so do we."""
    secret = tmp_path / "outside-secret.txt"
    secret.write_text("not for the mirror\n")
    repo = tmp_path / "hostile"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, "README.md", b"# x\n")
    _commit_all(repo, "first")
    (repo / ".git" / "objects" / "ab").mkdir(exist_ok=True)
    (repo / ".git" / "objects" / "ab" / ("c" * 38)).symlink_to(secret)
    url = f"file://{repo}"
    target = mirror_dir_for(mirrors, url)
    with pytest.raises(VcsError):
        mirror_update(url, target, allow=allow)
    assert not target.exists()
    copied = [p for p in mirrors.rglob("*") if p.is_file() and b"for the mirror" in p.read_bytes()]
    assert copied == []


def test_a_local_source_that_cannot_be_copied_is_cloned_through_git(
    tmp_path: Path, mirrors: Path, allow: list[str], monkeypatch
) -> None:
    """A source whose objects folder changes under the copy (its own gc prunes loose
    objects) or holds a file that cannot be copied: cloned through the pack protocol."""
    repo = tmp_path / "busy"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _write(repo, "README.md", b"# x\n")
    head = _commit_all(repo, "first")
    (repo / ".git" / "objects" / "ab").mkdir(exist_ok=True)
    monkeypatch.chdir(repo / ".git" / "objects" / "ab")  # a socket's path is short
    with socket.socket(socket.AF_UNIX) as sock:  # copying a socket fails: ENXIO
        sock.bind("d" * 38)
        mirror = mirror_update(f"file://{repo}", mirrors / "busy.git", allow=allow)
    assert resolve_ref(mirror, "main") == head
    assert not (mirror / "objects" / "ab" / ("d" * 38)).exists()


def test_update_fetches_new_commits_branches_and_prunes_deleted(
    source: Path, url: str, mirror: Path, mirrors: Path, allow: list[str]
) -> None:
    first = resolve_ref(mirror, "main")
    _git(source, "branch", "doomed")
    _write(source, "new.txt", b"new\n")
    second = _commit_all(source, "second")
    _git(source, "tag", "v2.0")
    _git(source, "branch", "feature/x")

    again = mirror_update(url, mirror_dir_for(mirrors, url), allow=allow)
    assert again == mirror
    assert resolve_ref(mirror, "main") == second != first
    assert resolve_ref(mirror, "v2.0") == second
    assert resolve_ref(mirror, "feature/x") == second
    assert resolve_ref(mirror, "doomed") == first
    assert changed_paths(mirror, first, second) == ["new.txt"]

    _git(source, "branch", "-D", "doomed")
    mirror_update(url, mirror, allow=allow)
    with pytest.raises(RefNotFound):
        resolve_ref(mirror, "doomed")


def test_update_follows_a_force_push(
    source: Path, url: str, mirror: Path, allow: list[str]
) -> None:
    _write(source, "a.txt", b"a\n")
    _commit_all(source, "to be rewritten")
    mirror_update(url, mirror, allow=allow)
    _git(source, "reset", "-q", "--hard", "HEAD~1")
    _write(source, "b.txt", b"b\n")
    rewritten = _commit_all(source, "rewritten")
    mirror_update(url, mirror, allow=allow)
    assert resolve_ref(mirror, "main") == rewritten


def test_repository_size_limit_raises_and_keeps_the_mirror(
    url: str, mirrors: Path, allow: list[str]
) -> None:
    target = mirror_dir_for(mirrors, url)
    with pytest.raises(LimitExceeded) as err:
        mirror_update(url, target, allow=allow, max_size_bytes=10)
    assert err.value.limit == "repository_size"
    assert "more than the limit" in str(err.value)
    assert isinstance(err.value, VcsError)
    assert resolve_ref(target, "main")  # left in place: the caller decides
    # A generous limit passes.
    mirror_update(url, target, allow=allow, max_size_bytes=100 * 1024 * 1024)


def test_unsafe_url_is_refused_before_any_process_or_file(
    tmp_path: Path, mirrors: Path, allow: list[str], no_processes: None
) -> None:
    marker = tmp_path / "pwned"
    for bad in (f"ext::sh -c touch% {marker}", "file:///etc", "--upload-pack=x"):
        with pytest.raises(UnsafeURL):
            mirror_update(bad, mirror_dir_for(mirrors, bad), allow=allow)
    assert not mirrors.exists()
    assert not marker.exists()


def test_unreachable_repository_leaves_no_mirror_or_temp_folder(
    tmp_path: Path, mirrors: Path, allow: list[str]
) -> None:
    missing = f"file://{tmp_path}/missing.git"
    target = mirror_dir_for(mirrors, missing)
    with pytest.raises(RepositoryUnreachable) as err:
        mirror_update(missing, target, allow=allow)
    assert not isinstance(err.value, GitTimeout)
    assert str(err.value) == f"Could not reach the repository at {missing}."
    assert sorted(p.name for p in mirrors.iterdir()) == [target.with_suffix(".lock").name]


def test_timeout_leaves_no_mirror_or_temp_folder(url: str, mirrors: Path, allow: list[str]) -> None:
    target = mirror_dir_for(mirrors, url)
    with pytest.raises(GitTimeout):
        mirror_update(url, target, allow=allow, timeout=0.0001)
    assert sorted(p.name for p in mirrors.iterdir()) == [target.with_suffix(".lock").name]


def test_stale_temporary_clone_is_cleaned_up(url: str, mirrors: Path, allow: list[str]) -> None:
    target = mirror_dir_for(mirrors, url)
    leftover = mirrors / f".{target.name}.tmp-killed"
    leftover.mkdir(parents=True)
    (leftover / "objects").mkdir()
    mirror_update(url, target, allow=allow)
    assert not leftover.exists()
    assert resolve_ref(target, "main")


def test_concurrent_updates_of_one_repository_both_succeed(
    source: Path, url: str, mirrors: Path, allow: list[str]
) -> None:
    target = mirror_dir_for(mirrors, url)
    barrier = threading.Barrier(2)
    results: list[object] = []

    def update() -> None:
        barrier.wait()
        try:
            results.append(mirror_update(url, target, allow=allow))
        except BaseException as exc:  # reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=update) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [target, target]
    assert resolve_ref(target, "main") == _git(source, "rev-parse", "HEAD")
    assert _git(target, "fsck", "--no-progress") == ""
    assert not list(mirrors.glob(".*.tmp-*"))


def test_update_waits_for_the_lock_held_by_another_update(
    url: str, mirrors: Path, allow: list[str]
) -> None:
    target = mirror_dir_for(mirrors, url)
    mirrors.mkdir()
    with open(target.with_suffix(".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(GitTimeout, match="still running"):
            mirror_update(url, target, allow=allow, timeout=0.3)
        assert not target.exists()
    mirror_update(url, target, allow=allow)  # released: works
    assert resolve_ref(target, "main")


def test_non_mirror_folder_in_the_way_is_an_error(
    url: str, mirrors: Path, allow: list[str]
) -> None:
    target = mirror_dir_for(mirrors, url)
    target.mkdir(parents=True)
    with pytest.raises(VcsError, match="not a repository mirror"):
        mirror_update(url, target, allow=allow)


# --------------------------------------------------------------------------- resolve_ref


def test_unknown_ref_raises_ref_not_found(mirror: Path) -> None:
    for ref in ("nope", "refs/heads/nope", "0" * 40):
        with pytest.raises(RefNotFound):
            resolve_ref(mirror, ref)


def test_ref_to_a_non_commit_raises_ref_not_found(source: Path, url: str, allow: list[str]) -> None:
    blob = _git(source, "rev-parse", "HEAD:README.md")
    _git(source, "tag", "blobtag", blob)
    mirror = mirror_update(url, source.parent / "m.git", allow=allow)
    with pytest.raises(RefNotFound):
        resolve_ref(mirror, "blobtag")
    with pytest.raises(RefNotFound):
        resolve_ref(mirror, blob)


@pytest.mark.parametrize(
    "ref", ["-h", "--output=/tmp/x", "main~1", "main^", "HEAD@{1}", "a b", "a\nb", "", "main:x"]
)
def test_bad_ref_text_is_refused_before_any_process(
    ref: str, mirror: Path, no_processes: None
) -> None:
    with pytest.raises(InvalidRef):
        resolve_ref(mirror, ref)


def test_missing_mirror_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VcsError, match="No repository mirror"):
        resolve_ref(tmp_path / "nothing.git", "main")


# --------------------------------------------------------------------------- list_tree


def test_list_tree_lists_nested_files_with_sizes_and_modes(source: Path, mirror: Path) -> None:
    entries = list_tree(mirror, resolve_ref(mirror, "main"))
    by_path = _by_path(entries)
    assert set(by_path) == {"README.md", "run.sh", "src/app/main.py", "src/app/deep/er/data.json"}
    main_py = by_path["src/app/main.py"]
    assert main_py == TreeEntry(
        path="src/app/main.py",
        mode="100644",
        kind="blob",
        sha=_git(source, "rev-parse", "HEAD:src/app/main.py"),
        size=len(b"print('hi')\n"),
        is_symlink=False,
        is_executable=False,
    )
    assert by_path["run.sh"].mode == "100755" and by_path["run.sh"].is_executable
    assert by_path["src/app/deep/er/data.json"].size == 9


def test_symlink_is_listed_as_a_link_and_read_as_its_target_text(
    source: Path, url: str, mirror: Path, allow: list[str]
) -> None:
    os.symlink("/etc/passwd", source / "passwd-link")
    os.symlink("../../outside", source / "src" / "rel-link")
    commit = _commit_all(source, "links")
    mirror_update(url, mirror, allow=allow)
    by_path = _by_path(list_tree(mirror, commit))
    link = by_path["passwd-link"]
    assert link.is_symlink and link.mode == "120000" and link.kind == "blob"
    assert link.size == len("/etc/passwd")
    with BlobReader(mirror, max_blob_bytes=1024) as reader:
        assert reader.read(link.sha) == b"/etc/passwd"
        assert reader.read(by_path["src/rel-link"].sha) == b"../../outside"
    assert not list(mirror.rglob("passwd-link"))  # nothing was ever written as a file


def test_submodule_is_listed_as_commit_and_never_fetched(
    tmp_path: Path, source: Path, url: str, mirror: Path, allow: list[str]
) -> None:
    marker = Path(f"/tmp/pwned-{uuid.uuid4().hex}")
    local_marker = tmp_path / "pwned-local"
    (source / ".gitmodules").write_text(
        '[submodule "sub"]\n'
        "\tpath = sub\n"
        f"\turl = ext::sh -c touch% {marker}\n"
        '[submodule "other"]\n'
        "\tpath = other\n"
        f"\turl = ext::sh -c touch% {local_marker}\n"
    )
    gitlink = "1234567890abcdef1234567890abcdef12345678"
    _git(source, "update-index", "--add", "--cacheinfo", f"160000,{gitlink},sub")
    _git(source, "update-index", "--add", "--cacheinfo", f"160000,{gitlink},other")
    _git(source, "add", ".gitmodules")
    _git(source, "commit", "-q", "-m", "submodules")
    commit = _git(source, "rev-parse", "HEAD")

    mirror_update(url, mirror, allow=allow)
    mirror_update(url, mirror, allow=allow)  # fetch path too
    by_path = _by_path(list_tree(mirror, commit))
    sub = by_path["sub"]
    assert (sub.kind, sub.mode, sub.sha, sub.size) == ("commit", "160000", gitlink, None)
    assert not sub.is_symlink and not sub.is_executable
    with BlobReader(mirror, max_blob_bytes=4096) as reader:
        assert b"ext::" in reader.read(by_path[".gitmodules"].sha)  # type: ignore[operator]
        with pytest.raises(VcsError):
            reader.read(gitlink)  # a commit of another repository: not here
    assert not marker.exists()
    assert not local_marker.exists()
    assert not (mirror / "modules").exists()


def test_odd_file_names_round_trip(source: Path, url: str, mirror: Path, allow: list[str]) -> None:
    raw = b'odd\nname \xff\xfe\t"quoted" \xc3\xa9.txt'
    with open(os.path.join(os.fsencode(source), raw), "wb") as handle:
        handle.write(b"odd contents\n")
    commit = _commit_all(source, "odd name")
    mirror_update(url, mirror, allow=allow)
    entries = [e for e in list_tree(mirror, commit) if e.raw_path == raw]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.path == raw.decode("utf-8", "surrogateescape")
    assert entry.path.encode("utf-8", "surrogateescape") == raw
    assert entry.display_path == 'odd\nname \ufffd\ufffd\t"quoted" é.txt'
    assert entry.display_path.encode("utf-8")  # safe to store
    with BlobReader(mirror, max_blob_bytes=1024) as reader:
        assert reader.read(entry.sha) == b"odd contents\n"
    old = resolve_ref(mirror, "v1.0")
    assert changed_paths(mirror, old, commit) == [entry.path]


def test_list_tree_of_unknown_commit_raises_ref_not_found(mirror: Path) -> None:
    with pytest.raises(RefNotFound):
        list_tree(mirror, "0" * 40)


@pytest.mark.parametrize("commit", ["main", "HEAD", "-r", "abc123", "A" * 40, "0" * 39 + "\n"])
def test_list_tree_wants_a_full_commit_id(commit: str, mirror: Path, no_processes: None) -> None:
    with pytest.raises(InvalidRef):
        list_tree(mirror, commit)


# --------------------------------------------------------------------------- BlobReader


def test_binary_blob_comes_back_exactly(source: Path, url: str, mirror: Path, allow: list[str]):
    payload = bytes(range(256)) * 64 + b"\r\n\x00\n" + b"\n" * 3
    _write(source, "bin.dat", payload)
    _write(source, "empty", b"")
    commit = _commit_all(source, "binary")
    mirror_update(url, mirror, allow=allow)
    by_path = _by_path(list_tree(mirror, commit))
    with BlobReader(mirror, max_blob_bytes=1 << 20) as reader:
        assert reader.read(by_path["bin.dat"].sha) == payload
        assert reader.read(by_path["empty"].sha) == b""
        assert reader.read(by_path["README.md"].sha) == b"# demo\n"


def test_large_blob_is_skipped_and_the_stream_stays_in_step(
    source: Path, url: str, mirror: Path, allow: list[str]
) -> None:
    _write(source, "big.bin", os.urandom(3 * 1024 * 1024))
    _write(source, "exact.bin", b"x" * 1024)
    commit = _commit_all(source, "big")
    mirror_update(url, mirror, allow=allow)
    by_path = _by_path(list_tree(mirror, commit))
    with BlobReader(mirror, max_blob_bytes=1024) as reader:
        tracemalloc.start()
        try:
            assert reader.read(by_path["big.bin"].sha) is None
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 1024 * 1024  # skipped in chunks, never held whole
        assert reader.read(by_path["README.md"].sha) == b"# demo\n"
        assert reader.read(by_path["exact.bin"].sha) == b"x" * 1024  # the limit is inclusive
        assert reader.read(by_path["big.bin"].sha) is None
        assert reader.read(by_path["run.sh"].sha) == b"#!/bin/sh\necho run\n"


def test_missing_object_is_an_error_and_the_reader_stays_usable(source: Path, mirror: Path) -> None:
    readme = _git(source, "rev-parse", "HEAD:README.md")
    tree = _git(source, "rev-parse", "HEAD^{tree}")
    with BlobReader(mirror, max_blob_bytes=1024) as reader:
        with pytest.raises(VcsError, match="not in this repository"):
            reader.read("f" * 40)
        with pytest.raises(VcsError, match="is a tree, not a file"):
            reader.read(tree)
        assert reader.read(readme) == b"# demo\n"


@pytest.mark.parametrize("sha", ["main", "HEAD:README.md", "a" * 40 + "\n" + "b" * 40, "A" * 40])
def test_reader_refuses_anything_but_an_object_id(sha: str, mirror: Path) -> None:
    with BlobReader(mirror, max_blob_bytes=1024) as reader, pytest.raises(InvalidRef):
        reader.read(sha)


def test_deadline_in_the_past_raises_limit_exceeded(mirror: Path, source: Path) -> None:
    readme = _git(source, "rev-parse", "HEAD:README.md")
    with pytest.raises(LimitExceeded) as err:
        BlobReader(mirror, max_blob_bytes=1024, deadline=time.monotonic() - 1)
    assert err.value.limit == "time"
    with pytest.raises(LimitExceeded) as err:
        list(read_blobs(mirror, [readme], max_blob_bytes=1024, deadline=time.monotonic() - 1))
    assert err.value.limit == "time"


def test_deadline_passing_during_reads_raises_limit_exceeded(mirror: Path, source: Path) -> None:
    readme = _git(source, "rev-parse", "HEAD:README.md")
    with BlobReader(mirror, max_blob_bytes=1024, deadline=time.monotonic() + 0.2) as reader:
        assert reader.read(readme) == b"# demo\n"
        pid = reader._proc.pid  # type: ignore[union-attr]
        with pytest.raises(LimitExceeded) as err:
            while True:
                reader.read(readme)
        assert err.value.limit == "time"
    assert not _alive(pid)


def test_closing_the_reader_ends_git(mirror: Path, source: Path) -> None:
    readme = _git(source, "rev-parse", "HEAD:README.md")
    with BlobReader(mirror, max_blob_bytes=1024) as reader:
        reader.read(readme)
        pid = reader._proc.pid  # type: ignore[union-attr]
        assert _alive(pid)
    assert not _alive(pid)
    reader.close()  # twice is fine
    with pytest.raises(VcsError, match="closed"):
        reader.read(readme)


def test_reader_on_a_missing_mirror_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(VcsError, match="No repository mirror"):
        BlobReader(tmp_path / "nothing.git", max_blob_bytes=1)


def test_reader_on_a_folder_that_is_not_a_repository_reports_git(tmp_path: Path) -> None:
    reader = BlobReader(tmp_path, max_blob_bytes=1)
    with reader, pytest.raises(VcsError, match="not a git repository"):
        reader.read("a" * 40)


def test_two_thousand_blobs_through_one_reader(tmp_path: Path, allow: list[str]) -> None:
    repo = tmp_path / "many"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for i in range(2000):
        _write(repo, f"d{i % 17}/f{i}.txt", f"file {i}\n".encode() * (1 + i % 5))
    commit = _commit_all(repo, "many files")
    mirror = mirror_update(f"file://{repo}", tmp_path / "many.git", allow=allow)
    entries = list_tree(mirror, commit)
    assert len(entries) == 2000
    results = list(read_blobs(mirror, [e.sha for e in entries], max_blob_bytes=1 << 20))
    assert [sha for sha, _ in results] == [e.sha for e in entries]  # same order
    for entry, (_, data) in zip(entries, results, strict=True):
        assert data is not None
        index = int(entry.path.split("/f")[1][:-4])
        assert data == f"file {index}\n".encode() * (1 + index % 5)
    # The same through single reads on one process.
    with BlobReader(mirror, max_blob_bytes=1 << 20) as reader:
        for entry in entries[::97]:
            assert reader.read(entry.sha) == dict(results)[entry.sha]


def test_read_blobs_yields_none_for_large_blobs_in_order(
    source: Path, url: str, mirror: Path, allow: list[str]
) -> None:
    _write(source, "big.bin", b"b" * 5000)
    commit = _commit_all(source, "big")
    mirror_update(url, mirror, allow=allow)
    by_path = _by_path(list_tree(mirror, commit))
    shas = [by_path[name].sha for name in ("README.md", "big.bin", "run.sh", "big.bin")]
    assert list(read_blobs(mirror, shas, max_blob_bytes=4999)) == [
        (shas[0], b"# demo\n"),
        (shas[1], None),
        (shas[2], b"#!/bin/sh\necho run\n"),
        (shas[3], None),
    ]


def test_stopping_read_many_early_closes_the_reader(mirror: Path, source: Path) -> None:
    readme = _git(source, "rev-parse", "HEAD:README.md")
    with BlobReader(mirror, max_blob_bytes=1024) as reader:
        stream = reader.read_many([readme] * 10)
        assert next(stream) == (readme, b"# demo\n")
        stream.close()  # nine answers left unread: the pipe is out of step
        with pytest.raises(VcsError, match="closed"):
            reader.read(readme)
    with BlobReader(mirror, max_blob_bytes=1024) as reader:
        assert list(reader.read_many([readme] * 3)) == [(readme, b"# demo\n")] * 3
        assert reader.read(readme) == b"# demo\n"  # fully read: still usable


def test_missing_object_in_read_blobs_raises(mirror: Path, source: Path) -> None:
    readme = _git(source, "rev-parse", "HEAD:README.md")
    stream = read_blobs(mirror, [readme, "e" * 40, readme], max_blob_bytes=1024)
    assert next(stream) == (readme, b"# demo\n")
    with pytest.raises(VcsError, match="not in this repository"):
        next(stream)


# --------------------------------------------------------------------------- errors


def test_limit_exceeded_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(LimitExceeded("too big", limit="repository_size")))
    assert isinstance(err, LimitExceeded)
    assert (str(err), err.limit) == ("too big", "repository_size")


def test_new_errors_are_vcs_errors() -> None:
    assert issubclass(LimitExceeded, VcsError)
    assert issubclass(RefNotFound, VcsError)
