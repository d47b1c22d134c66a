"""Tests for vcs.export: real repositories made with git in tmp_path, no mocks."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from vcs import (
    Credentials,
    GitTimeout,
    InvalidRef,
    UnsafeURL,
    VcsError,
    list_tree,
    read_blobs,
)
from vcs.errors import PathNotFound, PushRejected
from vcs.export import (
    Identity,
    apply_commit_onto,
    build_export_tree,
    changed_blobs,
    commit_tree,
    create_tag,
    list_refs,
    log,
    push,
    ref_commit,
    tree_of,
    workspace_lock,
    workspace_update,
)

_ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "LC_ALL": "C",
}
BOT = Identity(name="Gatehouse Bot", email="bot@example.com")
DATE = "2024-05-01T12:00:00+02:00"
LINES = "".join(f"line {n}\n" for n in range(1, 11))


def _git(cwd: Path, *args: str, input: bytes | None = None) -> str:
    result = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        env=_ENV,
        input=input,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode().strip()


def _init(path: Path, *, bare: bool = False) -> Path:
    path.mkdir(parents=True)
    _git(path, "init", "-q", *(["--bare"] if bare else []))
    return path


def _write(repo: Path, files: dict[str, str | bytes | None]) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            target.unlink()
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)


def _commit(repo: Path, files: dict[str, str | bytes | None], message: str = "change") -> str:
    _write(repo, files)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _url(path: Path) -> str:
    return f"file://{path}"


def _files(workspace: Path, treeish: str) -> dict[str, tuple[str, bytes]]:
    """path -> (mode, contents) of every file in a commit or tree of the workspace."""
    entries = list_tree(workspace, treeish)
    blobs = dict(
        read_blobs(workspace, [e.sha for e in entries if e.kind == "blob"], max_blob_bytes=1 << 20)
    )
    return {e.path: (e.mode, blobs.get(e.sha, b"")) for e in entries}


@pytest.fixture
def allow(tmp_path: Path) -> list[str]:
    return [f"file://{tmp_path}/"]


@pytest.fixture
def internal(tmp_path: Path) -> Path:
    repo = _init(tmp_path / "internal")
    _write(repo, {"rpc/core/api.py": LINES, "rpc/core/sub/x.txt": "x\n", "secret/keys.txt": "k\n"})
    _write(repo, {"rpc/core/logo.bin": bytes(range(256)) * 4})
    os.symlink("api.py", repo / "rpc/core/link")
    (repo / "rpc/core/run.sh").write_text("#!/bin/sh\n")
    (repo / "rpc/core/run.sh").chmod(0o755)
    _commit(repo, {}, "initial")
    _git(repo, "tag", "-a", "v1", "-m", "v1")
    return repo


@pytest.fixture
def external(tmp_path: Path) -> Path:
    return _init(tmp_path / "external.git", bare=True)


@pytest.fixture
def workspace(tmp_path: Path, internal: Path, external: Path, allow: list[str]) -> Path:
    ws = tmp_path / "ws" / "project.git"
    workspace_update(ws, internal_url=_url(internal), external_url=_url(external), allow=allow)
    return ws


EXPORT_PATHS = [
    ("rpc/core/api.py", "api.py"),
    ("rpc/core/sub/x.txt", "sub/x.txt"),
    ("rpc/core/link", "link"),
    ("rpc/core/run.sh", "run.sh"),
    ("rpc/core/logo.bin", "logo.bin"),
]


def _to_internal(path: str) -> str | None:
    return f"rpc/core/{path}"


def _publish(workspace: Path, external: Path, allow: list[str]) -> str:
    """Export refs/internal/heads/main to external main; return the export commit."""
    source = ref_commit(workspace, "refs/internal/heads/main")
    assert source is not None
    tree = build_export_tree(workspace, commit=source, paths=EXPORT_PATHS)
    commit = commit_tree(
        workspace, tree=tree, parents=[], message="Release 1", author=BOT, date=DATE
    )
    push(workspace, url=_url(external), allow=allow, refspecs=[(commit, "refs/heads/main")])
    return commit


# --------------------------------------------------------------------------- workspace


def test_workspace_created_and_updated_incrementally(
    tmp_path: Path, internal: Path, external: Path, allow: list[str]
) -> None:
    # Enough files that a full (re)fetch arrives as a kept pack, not loose objects.
    _commit(internal, {f"bulk/{n}.txt": f"{n}\n" for n in range(150)}, "bulk")
    _git(internal, "branch", "feature")
    ws = tmp_path / "ws" / "project.git"
    workspace_update(ws, internal_url=_url(internal), external_url=_url(external), allow=allow)

    head = _git(internal, "rev-parse", "HEAD")
    assert (ws / "HEAD").is_file() and not (ws / "hooks").exists()
    assert ref_commit(ws, "refs/internal/heads/main") == head
    assert ref_commit(ws, "refs/internal/heads/feature") == head
    assert ref_commit(ws, "refs/internal/tags/v1") == _git(internal, "rev-parse", "v1^{commit}")
    assert ref_commit(ws, "refs/external/heads/main") is None  # empty external: fine
    assert _git(ws, "for-each-ref", "refs/tags", "refs/heads") == ""  # no tag auto-following
    assert not list(ws.parent.glob(".project.git.tmp-*"))
    packs = sorted((ws / "objects" / "pack").glob("*.pack"))
    assert len(packs) == 1

    create_tag(ws, name="keep", commit=head, message="m", tagger=BOT, date=DATE)
    (ws / "marker").write_text("same workspace")
    new = _commit(internal, {"rpc/core/api.py": LINES + "more\n"}, "second")
    _git(internal, "branch", "-D", "feature")
    workspace_update(ws, internal_url=_url(internal), external_url=_url(external), allow=allow)

    assert (ws / "marker").read_text() == "same workspace"
    assert ref_commit(ws, "refs/internal/heads/main") == new
    assert ref_commit(ws, "refs/internal/heads/feature") is None  # pruned
    assert ref_commit(ws, "refs/gatehouse/tags/keep") == head  # other namespaces untouched
    # Only the new commit's few objects travelled (loose); no second pack.
    assert sorted((ws / "objects" / "pack").glob("*.pack")) == packs
    count = _git(ws, "count-objects", "-v")
    assert "count: " in count and int(count.split("count: ")[1].split()[0]) < 10


def test_workspace_update_validates_urls_first(tmp_path: Path, internal: Path) -> None:
    ws = tmp_path / "ws" / "project.git"
    with pytest.raises(UnsafeURL):
        workspace_update(
            ws, internal_url=_url(internal), external_url="ext::sh -c touch% /tmp/x", allow=[]
        )
    with pytest.raises(UnsafeURL):
        workspace_update(
            ws, internal_url=_url(internal), external_url=None, allow=["file:///elsewhere/"]
        )
    assert not ws.parent.exists()


def test_workspace_lock_second_holder_skips(tmp_path: Path) -> None:
    ws = tmp_path / "ws" / "project.git"
    held = threading.Event()
    release = threading.Event()
    results: list[bool] = []

    def holder() -> None:
        with workspace_lock(ws, wait=True) as got:
            results.append(got)
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(10)
        with workspace_lock(ws, wait=False) as got:
            assert got is False
        with pytest.raises(GitTimeout), workspace_lock(ws, wait=True, timeout=0.2):
            pass
    finally:
        release.set()
        thread.join(10)
    assert results == [True]
    assert (tmp_path / "ws" / "project.git.lock").is_file()
    with workspace_lock(ws, wait=False) as got:
        assert got is True


# --------------------------------------------------------------------------- export trees


def test_build_export_tree_maps_paths_and_keeps_modes(workspace: Path) -> None:
    source = ref_commit(workspace, "refs/internal/heads/main")
    assert source is not None
    tree = build_export_tree(
        workspace, commit=source, paths=[*EXPORT_PATHS, ("rpc/core/sub", "docs/more")]
    )
    files = _files(workspace, tree)
    assert set(files) == {
        "api.py",
        "sub/x.txt",
        "link",
        "run.sh",
        "logo.bin",
        "docs/more/x.txt",
    }
    assert files["api.py"] == ("100644", LINES.encode())
    assert files["link"] == ("120000", b"api.py")  # a symlink blob, never followed
    assert files["run.sh"][0] == "100755"
    assert files["logo.bin"][1] == bytes(range(256)) * 4
    # Same inputs, same tree; nothing else leaked (secret/ was not listed).
    assert build_export_tree(workspace, commit=source, paths=EXPORT_PATHS) != tree
    assert (
        build_export_tree(
            workspace,
            commit="refs/internal/heads/main",
            paths=[*EXPORT_PATHS, ("rpc/core/sub", "docs/more")],
        )
        == tree
    )
    assert build_export_tree(workspace, commit=source, paths=[]) == _git(
        workspace, "hash-object", "-t", "tree", "/dev/null"
    )


@pytest.mark.parametrize(
    "target",
    ["/etc/passwd", "a/../b", "..", "a//b", "a/", "", ".git/config", "x/.GIT/hooks", "./a"],
)
def test_build_export_tree_rejects_targets_before_git(tmp_path: Path, target: str) -> None:
    missing = tmp_path / "no-workspace.git"  # any git call would fail differently
    with pytest.raises(ValueError):
        build_export_tree(missing, commit="a" * 40, paths=[("api.py", target)])


def test_build_export_tree_errors(workspace: Path) -> None:
    source = ref_commit(workspace, "refs/internal/heads/main")
    assert source is not None
    with pytest.raises(PathNotFound):
        build_export_tree(workspace, commit=source, paths=[("nope.py", "nope.py")])
    with pytest.raises(ValueError):
        build_export_tree(
            workspace,
            commit=source,
            paths=[("rpc/core/api.py", "a.py"), ("rpc/core/run.sh", "a.py")],
        )
    with pytest.raises(ValueError):
        build_export_tree(
            workspace,
            commit=source,
            paths=[("rpc/core/api.py", "a"), ("rpc/core/run.sh", "a/run.sh")],
        )
    with pytest.raises(InvalidRef):
        build_export_tree(workspace, commit="main~1", paths=[])


# --------------------------------------------------------------------------- commits, log


def test_commit_tree_is_deterministic(workspace: Path) -> None:
    tree = tree_of(workspace, "refs/internal/heads/main")
    first = commit_tree(workspace, tree=tree, parents=[], message="Export", author=BOT, date=DATE)
    again = commit_tree(workspace, tree=tree, parents=[], message="Export", author=BOT, date=DATE)
    later = commit_tree(
        workspace, tree=tree, parents=[], message="Export", author=BOT, date="2024-05-01T12:00:01Z"
    )
    assert first == again != later
    assert tree_of(workspace, first) == tree
    raw = _git(workspace, "cat-file", "commit", first)
    assert "author Gatehouse Bot <bot@example.com> 1714557600 +0200" in raw
    assert "committer Gatehouse Bot <bot@example.com> 1714557600 +0200" in raw
    with pytest.raises(ValueError):
        commit_tree(
            workspace, tree=tree, parents=[], message="x", author=BOT, date="2024-05-01T12:00:00"
        )
    with pytest.raises(ValueError):
        commit_tree(
            workspace,
            tree=tree,
            parents=[],
            message="x",
            author=Identity(name="Evil <x@y>", email="a@b"),
            date=DATE,
        )
    with pytest.raises(InvalidRef):
        commit_tree(workspace, tree="--help", parents=[], message="x", author=BOT, date=DATE)


def test_log_reads_trailers_files_and_ranges(workspace: Path) -> None:
    base = ref_commit(workspace, "refs/internal/heads/main")
    assert base is not None
    source_tree = tree_of(workspace, base)
    root = commit_tree(
        workspace, tree=source_tree, parents=[], message="Root", author=BOT, date=DATE
    )
    tree = build_export_tree(workspace, commit=base, paths=EXPORT_PATHS)
    message = (
        "Release 12\n\nSome body text.\n\n"
        "Gatehouse-Internal-Rev: abc123\n"
        "Gatehouse-Release: 11\n"
        "Gatehouse-Release: 12\n"
    )
    child = commit_tree(
        workspace, tree=tree, parents=[root], message=message, author=BOT, date=DATE
    )
    empty = commit_tree(
        workspace, tree=tree, parents=[child], message="Empty", author=BOT, date=DATE
    )

    history = log(workspace, include=empty)
    assert [c.sha for c in history] == [empty, child, root]
    top, mid, first = history
    assert top.files == () and top.trailers == {} and top.parents == (child,)
    assert mid.subject == "Release 12"
    assert mid.trailers == {"Gatehouse-Internal-Rev": "abc123", "Gatehouse-Release": "12"}
    assert mid.author_name == "Gatehouse Bot" and mid.author_email == "bot@example.com"
    assert mid.authored_at == DATE
    assert mid.parents == (root,)
    # Against its parent, every old path went away and the export paths appeared.
    assert set(mid.files) == {
        "api.py",
        "sub/x.txt",
        "link",
        "run.sh",
        "logo.bin",
        *(e.path for e in list_tree(workspace, root)),
    }
    assert first.parents == ()
    assert set(first.files) == {e.path for e in list_tree(workspace, root)}

    assert [c.sha for c in log(workspace, include=empty, exclude=root)] == [empty, child]
    assert [c.sha for c in log(workspace, include=empty, max_count=1)] == [empty]
    assert log(workspace, include=root, exclude=root) == []
    with pytest.raises(InvalidRef):
        log(workspace, include="HEAD@{1}")
    with pytest.raises(VcsError):
        log(workspace, include="refs/internal/heads/missing")


def test_log_merge_lists_files_against_first_parent(
    tmp_path: Path, internal: Path, allow: list[str]
) -> None:
    _git(internal, "checkout", "-q", "-b", "side")
    _commit(internal, {"side.txt": "s\n"}, "side")
    _git(internal, "checkout", "-q", "main")
    _commit(internal, {"main.txt": "m\n"}, "main")
    _git(internal, "merge", "-q", "--no-ff", "-m", "Merge side", "side")
    ws = tmp_path / "ws2.git"
    workspace_update(ws, internal_url=_url(internal), external_url=None, allow=allow)
    merge = log(ws, include="refs/internal/heads/main", max_count=1)[0]
    assert merge.subject == "Merge side" and len(merge.parents) == 2
    assert merge.files == ("side.txt",)


def test_ref_commit_and_tree_of(workspace: Path, internal: Path) -> None:
    assert ref_commit(workspace, "refs/internal/heads/nope") is None
    assert ref_commit(workspace, "0" * 40) is None
    with pytest.raises(InvalidRef):
        ref_commit(workspace, "--upload-pack=x")
    assert tree_of(workspace, "refs/internal/tags/v1") == _git(internal, "rev-parse", "v1^{tree}")


# --------------------------------------------------------------------------- tags and push


def test_create_tag_and_push_to_external(
    tmp_path: Path, workspace: Path, external: Path, allow: list[str], internal: Path
) -> None:
    commit = _publish(workspace, external, allow)
    tag = create_tag(
        workspace, name="v1.0", commit=commit, message="Release 1", tagger=BOT, date=DATE
    )
    assert tag == create_tag(
        workspace, name="v1.0", commit=commit, message="Release 1", tagger=BOT, date=DATE
    )
    assert ref_commit(workspace, "refs/gatehouse/tags/v1.0") == commit
    push(
        workspace,
        url=_url(external),
        allow=allow,
        refspecs=[("refs/gatehouse/tags/v1.0", "refs/tags/v1.0")],
        # A credential is for https only: a file:// push never carries one.
        credentials=Credentials.from_json(
            '[{"prefix": "https://git.example.com/", "header": "Authorization: Bearer t"}]'
        ),
    )
    assert _git(external, "rev-parse", "refs/heads/main") == commit
    assert _git(external, "cat-file", "-t", "refs/tags/v1.0") == "tag"
    assert _git(external, "rev-parse", "refs/tags/v1.0") == tag
    assert _git(external, "rev-parse", "refs/tags/v1.0^{commit}") == commit
    assert "tagger Gatehouse Bot <bot@example.com> 1714557600 +0200" in _git(
        external, "cat-file", "tag", "refs/tags/v1.0"
    )

    workspace_update(
        workspace, internal_url=_url(internal), external_url=_url(external), allow=allow
    )
    assert ref_commit(workspace, "refs/external/heads/main") == commit
    assert ref_commit(workspace, "refs/external/tags/v1.0") == commit
    assert list_refs(workspace, "refs/external/tags/") == {"v1.0": commit}
    assert list_refs(workspace, "refs/external/heads/") == {"main": commit}
    assert list_refs(workspace, "refs/internal/tags/") == {
        "v1": _git(internal, "rev-parse", "v1^{commit}")
    }
    assert list_refs(workspace, "refs/nothing/") == {}
    with pytest.raises(InvalidRef):
        list_refs(workspace, "--format=x/")

    with pytest.raises(InvalidRef):
        create_tag(workspace, name="bad..name", commit=commit, message="m", tagger=BOT, date=DATE)


def test_push_rejected_leaves_remote_unchanged(
    workspace: Path, external: Path, allow: list[str]
) -> None:
    commit = _publish(workspace, external, allow)
    create_tag(workspace, name="v1", commit=commit, message="one", tagger=BOT, date=DATE)
    push(
        workspace,
        url=_url(external),
        allow=allow,
        refspecs=[("refs/gatehouse/tags/v1", "refs/tags/v1")],
    )
    remote_tag = _git(external, "rev-parse", "refs/tags/v1")

    unrelated = commit_tree(
        workspace,
        tree=tree_of(workspace, commit),
        parents=[],
        message="Other",
        author=BOT,
        date=DATE,
    )
    with pytest.raises(PushRejected) as excinfo:
        push(
            workspace,
            url=_url(external),
            allow=allow,
            refspecs=[(unrelated, "refs/heads/main"), (unrelated, "refs/heads/new")],
        )
    assert "non-fast-forward" in str(excinfo.value)
    assert _git(external, "rev-parse", "refs/heads/main") == commit
    assert _git(external, "for-each-ref", "refs/heads/new") == ""  # atomic: nothing moved

    create_tag(workspace, name="v1", commit=commit, message="changed", tagger=BOT, date=DATE)
    with pytest.raises(PushRejected) as excinfo:
        push(
            workspace,
            url=_url(external),
            allow=allow,
            refspecs=[("refs/gatehouse/tags/v1", "refs/tags/v1")],
        )
    assert "refs/tags/v1" in str(excinfo.value)
    assert _git(external, "rev-parse", "refs/tags/v1") == remote_tag

    with pytest.raises(UnsafeURL):
        push(
            workspace,
            url="https://evil.example/x.git",
            allow=allow,
            refspecs=[(commit, "refs/heads/main")],
        )
    with pytest.raises(InvalidRef):
        push(
            workspace, url=_url(external), allow=allow, refspecs=[(f"+{commit}", "refs/heads/main")]
        )
    with pytest.raises(InvalidRef):
        push(workspace, url=_url(external), allow=allow, refspecs=[(commit, "main")])


# --------------------------------------------------------------------------- back-port


def _contribute(tmp_path: Path, external: Path, files: dict[str, str | bytes | None]) -> str:
    """An outside contributor's commit on external main; returns its sha."""
    clone = tmp_path / "contributor"
    if not clone.exists():
        _git(tmp_path, "clone", "-q", _url(external), str(clone))
    else:
        _git(clone, "pull", "-q", "--ff-only")
    sha = _commit(clone, files, "Fix line 3")
    _git(clone, "push", "-q", "origin", "HEAD:main")
    return sha


def _sync(workspace: Path, internal: Path, external: Path, allow: list[str]) -> None:
    workspace_update(
        workspace, internal_url=_url(internal), external_url=_url(external), allow=allow
    )


def test_apply_commit_onto_maps_paths(
    tmp_path: Path, workspace: Path, internal: Path, external: Path, allow: list[str]
) -> None:
    _publish(workspace, external, allow)
    changed = LINES.replace("line 3\n", "line three\n")
    source = _contribute(
        tmp_path,
        external,
        {"api.py": changed, "new/mod.py": "new\n", "sub/x.txt": None, "logo.bin": b"\0\1\2" * 50},
    )
    os.symlink("api.py", tmp_path / "contributor" / "alias")
    source2 = _commit(tmp_path / "contributor", {}, "Add a symlink")
    _git(tmp_path / "contributor", "push", "-q", "origin", "HEAD:main")
    _sync(workspace, internal, external, allow)
    onto = ref_commit(workspace, "refs/internal/heads/main")
    assert onto is not None

    result = apply_commit_onto(
        workspace,
        source=source,
        onto="refs/internal/heads/main",
        path_map=_to_internal,
        message="Back-port: Fix line 3",
        author=BOT,
        date=DATE,
    )
    assert result.conflicts == ()
    assert result.commit is not None
    info = log(workspace, include=result.commit, max_count=1)[0]
    assert info.parents == (onto,)
    assert set(info.files) == {
        "rpc/core/api.py",
        "rpc/core/new/mod.py",
        "rpc/core/sub/x.txt",
        "rpc/core/logo.bin",
    }
    files = _files(workspace, result.commit)
    assert files["rpc/core/api.py"][1] == changed.encode()
    assert files["rpc/core/new/mod.py"][1] == b"new\n"
    assert files["rpc/core/logo.bin"][1] == b"\0\1\2" * 50
    assert "rpc/core/sub/x.txt" not in files
    assert files["secret/keys.txt"][1] == b"k\n"  # untouched
    assert files["rpc/core/link"][0] == "120000"
    # Same inputs, same commit (idempotent retry).
    again = apply_commit_onto(
        workspace,
        source=source,
        onto=onto,
        path_map=_to_internal,
        message="Back-port: Fix line 3",
        author=BOT,
        date=DATE,
    )
    assert again.commit == result.commit

    # A symlink added outside arrives as a symlink, never followed.
    linked = apply_commit_onto(
        workspace,
        source=source2,
        onto=result.commit,
        path_map=_to_internal,
        message="Back-port: symlink",
        author=BOT,
        date=DATE,
    )
    assert linked.commit is not None
    assert _files(workspace, linked.commit)["rpc/core/alias"] == ("120000", b"api.py")


def test_apply_commit_onto_three_way_when_context_moved(
    tmp_path: Path, workspace: Path, internal: Path, external: Path, allow: list[str]
) -> None:
    _publish(workspace, external, allow)
    source = _contribute(tmp_path, external, {"api.py": LINES.replace("line 3\n", "line three\n")})
    _commit(internal, {"rpc/core/api.py": LINES.replace("line 5\n", "line five\n")}, "internal")
    _sync(workspace, internal, external, allow)
    result = apply_commit_onto(
        workspace,
        source=source,
        onto="refs/internal/heads/main",
        path_map=_to_internal,
        message="Back-port",
        author=BOT,
        date=DATE,
    )
    assert result.conflicts == ()
    assert result.commit is not None
    content = _files(workspace, result.commit)["rpc/core/api.py"][1].decode()
    assert "line three\n" in content and "line five\n" in content


def test_apply_commit_onto_conflict(
    tmp_path: Path, workspace: Path, internal: Path, external: Path, allow: list[str]
) -> None:
    _publish(workspace, external, allow)
    source = _contribute(tmp_path, external, {"api.py": LINES.replace("line 3\n", "line three\n")})
    _commit(internal, {"rpc/core/api.py": LINES.replace("line 3\n", "line 3 (internal)\n")}, "x")
    _sync(workspace, internal, external, allow)
    before = _git(workspace, "for-each-ref")
    result = apply_commit_onto(
        workspace,
        source=source,
        onto="refs/internal/heads/main",
        path_map=_to_internal,
        message="Back-port",
        author=BOT,
        date=DATE,
    )
    assert result.commit is None
    assert len(result.conflicts) == 1
    assert result.conflicts[0].startswith("rpc/core/api.py (from api.py): patch does not apply")
    assert "line" in result.conflicts[0]
    assert _git(workspace, "for-each-ref") == before  # nothing written that points anywhere


def test_apply_commit_onto_missing_counterparts(
    tmp_path: Path, workspace: Path, internal: Path, external: Path, allow: list[str]
) -> None:
    _publish(workspace, external, allow)
    source = _contribute(
        tmp_path,
        external,
        {"api.py": LINES.replace("line 3\n", "line three\n"), "docs/x.md": "doc\n", "run.sh": "x"},
    )
    _commit(internal, {"rpc/core/run.sh": None}, "remove run.sh internally")
    _sync(workspace, internal, external, allow)

    def path_map(path: str) -> str | None:
        return None if path.startswith("docs/") else f"rpc/core/{path}"

    result = apply_commit_onto(
        workspace,
        source=source,
        onto="refs/internal/heads/main",
        path_map=path_map,
        message="Back-port",
        author=BOT,
        date=DATE,
    )
    assert result.commit is None
    assert "docs/x.md: has no counterpart in the target" in result.conflicts
    assert "rpc/core/run.sh (from run.sh): does not exist in the target" in result.conflicts
    assert not any("api.py" in c for c in result.conflicts)  # that file applied fine


# --------------------------------------------------------------------------- watching


def test_changed_blobs_lists_what_a_commit_added_or_modified_not_what_it_deleted(
    tmp_path: Path, workspace: Path, internal: Path, external: Path, allow: list[str]
) -> None:
    root = ref_commit(workspace, "refs/internal/heads/main")
    assert root is not None
    everything = {b.path for b in changed_blobs(workspace, root)}  # a root commit: every file
    assert everything == {e.path for e in list_tree(workspace, root)}
    _publish(workspace, external, allow)
    source = _contribute(tmp_path, external, {"api.py": "changed\n", "new/mod.py": "new\n",
                                               "sub/x.txt": None})  # fmt: skip
    _sync(workspace, internal, external, allow)
    changed = changed_blobs(workspace, source)
    assert sorted(b.path for b in changed) == ["api.py", "new/mod.py"]
    contents = dict(read_blobs(workspace, [b.sha for b in changed], max_blob_bytes=1 << 20))
    assert sorted(contents.values()) == [b"changed\n", b"new\n"]
    assert all(b.mode == "100644" for b in changed)
    with pytest.raises(InvalidRef):
        changed_blobs(workspace, "main")
