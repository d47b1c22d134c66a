"""vcs.objects: blobs at a commit and diffs between commits, read from a bare mirror with
GitPython (real repositories, real clones)."""

from __future__ import annotations

import os
import subprocess

import pytest

import vcs
from tests.gitrepo import GitRepo

API = "x = 1\n" + "".join(f"line {i}\n" for i in range(30))


def mirror_of(repo: GitRepo, tmp_path):
    target = tmp_path / "mirror.git"
    if target.exists():
        subprocess.run(["git", f"--git-dir={target}", "fetch", "-q", "--prune", str(repo.path),
                        "+refs/heads/*:refs/heads/*"], check=True)  # fmt: skip
    else:
        subprocess.run(["git", "clone", "-q", "--mirror", str(repo.path), str(target)], check=True)
    return target


@pytest.fixture
def repo(tmp_path):
    repo = GitRepo(tmp_path / "work")
    repo.commit(
        {
            "README.md": "# demo\n",
            "core/api.py": API,
            "core/old.py": "".join(f"old {i}\n" for i in range(20)),
            "core/big.txt": "b" * 5000,
        },
        "one",
    )
    (repo.path / "core" / "bin.dat").write_bytes(b"\0\1\2" * 10)
    os.symlink("README.md", repo.path / "link")
    repo.commit({}, "binary and link")
    return repo


def test_read_blob_at_reads_text_binary_oversized_and_symlinks(repo, tmp_path):
    mirror = mirror_of(repo, tmp_path)
    head = repo.head()
    blob = vcs.read_blob_at(mirror, head, "core/api.py", max_bytes=10_000)
    assert (blob.binary, blob.too_large, blob.size) == (False, False, len(API))
    assert blob.text().startswith("x = 1\nline 0\n")
    assert blob.sha == repo.git("rev-parse", f"{head}:core/api.py")
    assert vcs.read_blob_at(mirror, head, "core/bin.dat", max_bytes=10_000).binary
    big = vcs.read_blob_at(mirror, head, "core/big.txt", max_bytes=1000)
    assert big.too_large and big.data is None and big.size == 5000
    link = vcs.read_blob_at(mirror, head, "link", max_bytes=100)
    assert link.is_symlink and link.data == b"README.md"


@pytest.mark.parametrize("path", ["core", "missing.py", "../x", "/etc/passwd", "core//api.py",
                                  "core/./api.py", "", "README.md/x"])  # fmt: skip
def test_read_blob_at_refuses_paths_not_in_the_tree(repo, tmp_path, path):
    with pytest.raises(vcs.PathNotFound):
        vcs.read_blob_at(mirror_of(repo, tmp_path), repo.head(), path, max_bytes=100)


@pytest.mark.parametrize("commit", ["--output=/tmp/x", "HEAD", "main", "abc", "A" * 40, "1" * 64])
def test_object_ids_are_checked_before_git_runs(repo, tmp_path, commit):
    with pytest.raises(vcs.InvalidRef):
        vcs.read_blob_at(mirror_of(repo, tmp_path), commit, "README.md", max_bytes=100)


def test_a_commit_not_in_the_mirror_is_ref_not_found(repo, tmp_path):
    with pytest.raises(vcs.RefNotFound):
        vcs.commit_diff(mirror_of(repo, tmp_path), "0" * 40, repo.head())


def test_diff_lists_added_modified_deleted_renamed_with_line_numbers(repo, tmp_path):
    old = repo.head()
    repo.git("mv", "core/old.py", "core/new.py")
    repo.git("rm", "-q", "README.md")
    (repo.path / "core" / "bin.dat").write_bytes(b"\0\3" * 10)
    new = repo.commit(
        {
            "core/api.py": "x = 2\n" + "".join(f"line {i}\n" for i in range(30)) + "tail\n",
            "core/big.txt": "c" * 5000,
            "docs/added.md": "new\n",
        },
        "two",
    )
    diff = vcs.commit_diff(mirror_of(repo, tmp_path), old, new, max_blob_bytes=2000)
    by_path = {f.path: f for f in diff.files}
    assert diff.counts == {"added": 1, "modified": 3, "deleted": 1, "renamed": 1}
    assert diff.old_is_ancestor is True and not diff.truncated
    renamed = by_path["core/new.py"]
    assert (renamed.status, renamed.old_path, renamed.similarity) == ("renamed", "core/old.py", 100)
    assert by_path["README.md"].status == "deleted" and by_path["README.md"].new_path == ""
    assert by_path["core/bin.dat"].binary and not by_path["core/bin.dat"].hunks
    assert by_path["core/big.txt"].too_large and not by_path["core/big.txt"].hunks
    api = by_path["core/api.py"]
    assert (api.additions, api.deletions) == (2, 1)
    assert [h.header for h in api.hunks] == ["@@ -1,4 +1,4 @@", "@@ -29,3 +29,4 @@"]
    first = api.hunks[0].lines[:3]
    assert [(x.kind, x.old_line, x.new_line, x.text) for x in first] == [
        ("-", 1, None, "x = 1"), ("+", None, 1, "x = 2"), (" ", 2, 2, "line 0"),
    ]  # fmt: skip
    assert api.hunks[1].lines[-1] == vcs.DiffLine("+", None, 32, "tail")


def test_a_renamed_and_edited_file_is_paired_by_similarity(repo, tmp_path):
    old = repo.head()
    repo.git("mv", "core/old.py", "core/moved.py")
    new = repo.commit({"core/moved.py": "".join(f"old {i}\n" for i in range(19)) + "end\n"})
    diff = vcs.commit_diff(mirror_of(repo, tmp_path), old, new)
    [moved] = diff.files
    assert (moved.status, moved.old_path, moved.new_path) == ("renamed", "core/old.py",
                                                               "core/moved.py")  # fmt: skip
    assert 80 <= moved.similarity < 100 and moved.additions == 1 and moved.deletions == 1


def test_the_line_cap_lists_later_files_without_hunks(repo, tmp_path):
    old = repo.head()
    new = repo.commit({f"gen/f{i}.txt": "x\n" * 50 for i in range(5)})
    diff = vcs.commit_diff(mirror_of(repo, tmp_path), old, new, max_lines=120)
    assert diff.truncated
    assert [bool(f.hunks) for f in diff.files] == [True, True, False, False, False]
    assert all(f.hunks_omitted for f in diff.files[2:])


def test_diff_across_a_force_push(repo, tmp_path):
    mirror = mirror_of(repo, tmp_path)
    old = repo.head()
    repo.git("reset", "-q", "--hard", "HEAD~1")
    new = repo.commit({"core/api.py": "rewritten\n"}, "rewritten")
    mirror_of(repo, tmp_path)  # the forced update: old is no longer on any branch
    diff = vcs.commit_diff(mirror, old, new)
    assert diff.old_is_ancestor is False
    assert {f.path: f.status for f in diff.files} == {
        "core/api.py": "modified", "core/bin.dat": "deleted", "link": "deleted",
    }  # fmt: skip
    assert vcs.is_ancestor(mirror, new, old) is False

    for args in (["reflog", "expire", "--expire=now", "--all"], ["gc", "-q", "--prune=now"]):
        subprocess.run(["git", f"--git-dir={mirror}", *args], check=True)
    with pytest.raises(vcs.RefNotFound, match="not in the repository"):
        vcs.commit_diff(mirror, old, new)


def test_no_mirror_is_a_vcs_error(tmp_path):
    with pytest.raises(vcs.VcsError):
        vcs.read_blob_at(tmp_path / "nothing.git", "a" * 40, "x", max_bytes=1)
