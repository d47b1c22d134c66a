"""Reading local git objects of a bare mirror with GitPython: a blob at a commit and path,
and the difference between two commits, for the reviewer's view of the code.

GitPython reads the mirror's objects through its default object database, which asks
``git cat-file --batch`` / ``--batch-check`` (long-lived, local, no network): commits,
trees and blobs come from the object store, nothing is checked out, and no hook, filter,
textconv or diff driver runs (cat-file runs none without --textconv/--filters). Those git
processes get the same hardened environment as vcs.git's runner (system and global
config ignored, no replace objects), pinned to the mirror, with every other inherited
``GIT_*`` variable blanked. Everything that touches the network stays in vcs.git /
vcs.mirror. Only SHA-1 repositories are read this way; a 64-digit id is refused.

The difference of two commits compares their trees (it does not walk history), so it
works just as well across a force-push, as long as both commits are still in the mirror.
Identical subtrees are skipped unread. Renames are found by identical contents first,
then by similar text; hunks come from difflib over the two blobs, each read within a byte
limit (the size is read from the object header first), with a cap on the total number of
hunk lines returned.
"""

from __future__ import annotations

import difflib
import os
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitdb.exc import BadName, BadObject

from vcs.errors import InvalidRef, PathNotFound, RefNotFound, VcsError
from vcs.git import git_env

if TYPE_CHECKING:
    import git
from vcs.tree import _check_object_id

__all__ = [
    "BlobView",
    "CommitDiff",
    "DiffLine",
    "FileDiff",
    "Hunk",
    "commit_diff",
    "is_ancestor",
    "read_blob_at",
]

#: Bytes git looks at to decide whether a file is binary (a NUL byte in them).
_BINARY_SNIFF_BYTES = 8000
_MODE_TREE = 0o040000
_MODE_SUBMODULE = 0o160000
_MODE_SYMLINK = 0o120000
_MAX_PATH_BYTES = 4096


@dataclass(frozen=True, slots=True)
class BlobView:
    """One file of a commit, read within a byte limit."""

    path: str
    sha: str
    mode: str
    size: int
    #: The contents; None when the file is larger than the limit (``too_large``).
    data: bytes | None
    binary: bool
    too_large: bool

    @property
    def is_symlink(self) -> bool:
        return self.mode == "120000"

    def text(self) -> str:
        """The contents as text (invalid UTF-8 replaced); "" when not read."""
        return (self.data or b"").decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class DiffLine:
    #: " " context, "+" added, "-" removed.
    kind: str
    old_line: int | None
    new_line: int | None
    text: str


@dataclass(frozen=True, slots=True)
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: tuple[DiffLine, ...]

    @property
    def header(self) -> str:
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass(frozen=True, slots=True)
class FileDiff:
    #: "added", "modified", "deleted" or "renamed" (a rename may also change the text).
    status: str
    old_path: str
    new_path: str
    old_sha: str = ""
    new_sha: str = ""
    old_size: int | None = None
    new_size: int | None = None
    old_mode: str = ""
    new_mode: str = ""
    binary: bool = False
    #: One side is larger than the byte limit: listed, no hunks.
    too_large: bool = False
    #: A submodule pointer changed: listed, no hunks (its contents are elsewhere).
    submodule: bool = False
    #: Hunks left out because the diff's line cap was reached.
    hunks_omitted: bool = False
    similarity: int | None = None
    additions: int = 0
    deletions: int = 0
    hunks: tuple[Hunk, ...] = ()

    @property
    def path(self) -> str:
        """The path at the new commit (the old path for a deletion)."""
        return self.new_path or self.old_path


@dataclass(frozen=True, slots=True)
class CommitDiff:
    old_commit: str
    new_commit: str
    files: tuple[FileDiff, ...]
    #: The cap on hunk lines was reached: some files are listed without their hunks.
    truncated: bool = False
    #: Whether old_commit is an ancestor of new_commit; None when the walk gave up.
    old_is_ancestor: bool | None = None
    counts: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- opening


@contextmanager
def _open(mirror: Path) -> Iterator[git.Repo]:
    # Imported on first use: importing GitPython runs `git version`, which every process
    # that imports vcs (workers, management commands) would otherwise pay for.
    import git

    mirror = Path(mirror)
    if not mirror.is_dir():
        raise VcsError(f"No repository mirror at {mirror}.")
    try:
        repo = git.Repo(str(mirror), search_parent_directories=False)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise VcsError(f"{mirror} is not a git repository.") from exc
    repo.git.update_environment(**_reader_env(mirror))
    try:
        yield repo
    except git.GitCommandError as exc:
        raise VcsError("git could not read the repository's objects.") from exc
    finally:
        repo.close()


def _reader_env(mirror: Path) -> dict[str, str]:
    """GitPython starts git with the server's environment plus these: the hardened
    environment of vcs.git, the mirror named explicitly, and any other ``GIT_*`` blanked."""
    root = os.path.abspath(mirror)
    env = {
        **git_env(),
        "GIT_DIR": root,
        "GIT_COMMON_DIR": root,
        "GIT_OBJECT_DIRECTORY": os.path.join(root, "objects"),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": "",
        "GIT_CONFIG_PARAMETERS": "",
        "GIT_CONFIG_COUNT": "0",
        "GIT_CONFIG_SYSTEM": os.devnull,
    }
    for name in os.environ:
        if name.startswith("GIT_") and name not in env:
            env[name] = ""
    return env


def _sha1(value: str, *, what: str) -> bytes:
    _check_object_id(value, what=what)
    if len(value) != 40:
        raise InvalidRef("Only SHA-1 repositories can be read for the code view.")
    return bytes.fromhex(value)


def _commit(repo: git.Repo, sha: str, *, what: str = "commit") -> git.Commit:
    import git

    binsha = _sha1(sha, what=what)
    try:
        info = repo.odb.info(binsha)
    except (BadObject, BadName, ValueError, git.GitCommandError):
        raise RefNotFound(f"Commit {sha[:10]} is not in the repository (any more).") from None
    if info.type != b"commit":
        raise RefNotFound(f"{sha[:10]} is not a commit.")
    return git.Commit(repo, binsha)


def _tree_entries(repo: git.Repo, binsha: bytes) -> list[tuple[bytes, int, bytes]]:
    """(sha, mode, raw name) of a tree's direct entries, parsed from the raw object."""
    data = repo.odb.stream(binsha).read()
    entries, i, end = [], 0, len(data)
    while i < end:
        space = data.index(b" ", i)
        nul = data.index(b"\0", space)
        mode = int(data[i:space], 8)
        name = data[space + 1 : nul]
        entries.append((data[nul + 1 : nul + 21], mode, name))
        i = nul + 21
    return entries


def _check_path(path: str) -> bytes:
    if not isinstance(path, str) or not path:
        raise PathNotFound("Give the path of a file.")
    raw = path.encode("utf-8", "surrogateescape")
    parts = raw.split(b"/")
    if (
        len(raw) > _MAX_PATH_BYTES
        or b"\0" in raw
        or any(part in (b"", b".", b"..") for part in parts)
    ):
        raise PathNotFound(f"{path!r} is not a path in this repository.")
    return raw


def _lookup(repo: git.Repo, tree: bytes, raw_path: bytes) -> tuple[bytes, int]:
    """(sha, mode) of ``raw_path`` under ``tree``; PathNotFound if it is not there."""
    parts = raw_path.split(b"/")
    current = tree
    for index, part in enumerate(parts):
        found = next(((s, m) for s, m, n in _tree_entries(repo, current) if n == part), None)
        if found is None:
            raise PathNotFound("No such file at this commit.")
        sha, mode = found
        last = index == len(parts) - 1
        if last:
            return sha, mode
        if mode != _MODE_TREE:
            raise PathNotFound("No such file at this commit.")
        current = sha
    raise PathNotFound("No such file at this commit.")  # pragma: no cover - parts is non-empty


def _read(repo: git.Repo, binsha: bytes, *, max_bytes: int) -> tuple[int, bytes | None]:
    """(size, contents or None when over ``max_bytes``); the size is known before reading."""
    info = repo.odb.info(binsha)
    if info.type != b"blob":
        raise PathNotFound("That path is not a file.")
    if info.size > max_bytes:
        return info.size, None
    return info.size, repo.odb.stream(binsha).read()


def _is_binary(data: bytes | None) -> bool:
    return data is not None and b"\0" in data[:_BINARY_SNIFF_BYTES]


def _mode(mode: int) -> str:
    return f"{mode:06o}"


# --------------------------------------------------------------------------- blobs


def read_blob_at(mirror: Path, commit: str, path: str, *, max_bytes: int) -> BlobView:
    """The file at ``path`` in ``commit``, read from the mirror's objects (no checkout).

    A file larger than ``max_bytes`` comes back with ``too_large`` and no data (its size
    is read from the object header, so it is never loaded); a NUL byte in the first 8000
    bytes marks it ``binary`` (git's rule). A symlink is its target text. ``path`` is
    looked up in the commit's tree, never on the filesystem. Raises InvalidRef (a bad
    id), RefNotFound (no such commit), PathNotFound (no such file, a folder, a
    submodule) or VcsError (no mirror)."""
    if max_bytes < 0:
        raise ValueError("max_bytes must not be negative")
    raw_path = _check_path(path)
    with _open(mirror) as repo:
        root = _commit(repo, commit).tree.binsha
        sha, mode = _lookup(repo, root, raw_path)
        if mode in (_MODE_TREE, _MODE_SUBMODULE):
            raise PathNotFound("That path is a folder or a submodule, not a file.")
        size, data = _read(repo, sha, max_bytes=max_bytes)
    return BlobView(
        path=path, sha=sha.hex(), mode=_mode(mode), size=size, data=data,
        binary=_is_binary(data), too_large=data is None,
    )  # fmt: skip


# --------------------------------------------------------------------------- diffs


@dataclass(frozen=True, slots=True)
class _Entry:
    sha: bytes
    mode: int


def _changed_entries(
    repo: git.Repo, old: bytes | None, new: bytes | None, prefix: bytes, out: dict
) -> None:
    """Fill ``out[path] = (old entry or None, new entry or None)`` for every file that
    differs between two trees; identical subtrees (same id) are skipped unread."""
    if old == new:
        return
    old_items = {n: (s, m) for s, m, n in _tree_entries(repo, old)} if old else {}
    new_items = {n: (s, m) for s, m, n in _tree_entries(repo, new)} if new else {}
    for name in sorted(old_items.keys() | new_items.keys()):
        a, b = old_items.get(name), new_items.get(name)
        if a == b:
            continue
        path = prefix + name
        a_tree = a[0] if a and a[1] == _MODE_TREE else None
        b_tree = b[0] if b and b[1] == _MODE_TREE else None
        if a_tree or b_tree:
            _changed_entries(repo, a_tree, b_tree, path + b"/", out)
        a_file = _Entry(*a) if a and a[1] != _MODE_TREE else None
        b_file = _Entry(*b) if b and b[1] != _MODE_TREE else None
        if a_file or b_file:
            before = out.get(path, (None, None))
            out[path] = (a_file or before[0], b_file or before[1])


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()


def _hunks(old: list[str], new: list[str], *, context: int) -> list[Hunk]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=len(old) + len(new) > 2000)
    hunks = []
    for group in matcher.get_grouped_opcodes(context):
        lines: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine(" ", i + 1, j1 + i - i1 + 1, old[i]) for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                lines += [DiffLine("-", i + 1, None, old[i]) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                lines += [DiffLine("+", None, j + 1, new[j]) for j in range(j1, j2)]
        first, last = group[0], group[-1]
        hunks.append(
            Hunk(
                old_start=first[1] + 1 if last[2] > first[1] else first[1],
                old_count=last[2] - first[1],
                new_start=first[3] + 1 if last[4] > first[3] else first[3],
                new_count=last[4] - first[3],
                lines=tuple(lines),
            )
        )
    return hunks


def _similarity(old: bytes, new: bytes) -> int:
    matcher = difflib.SequenceMatcher(None, _lines(old), _lines(new), autojunk=True)
    if matcher.real_quick_ratio() < 0.5 or matcher.quick_ratio() < 0.5:
        return 0
    return int(matcher.ratio() * 100)


def _pair_renames(
    repo: git.Repo, deleted: dict[bytes, _Entry], added: dict[bytes, _Entry], *,
    max_bytes: int, max_candidates: int, threshold: int,
) -> list[tuple[bytes, bytes, int]]:  # fmt: skip
    """(old path, new path, similarity %) pairs: identical contents first, then the most
    similar text above ``threshold`` among at most ``max_candidates`` files each side."""
    pairs = []
    by_sha: dict[bytes, list[bytes]] = {}
    for path, entry in sorted(deleted.items()):
        if entry.mode != _MODE_SUBMODULE:
            by_sha.setdefault(entry.sha, []).append(path)
    for path, entry in sorted(added.items()):
        candidates = by_sha.get(entry.sha)
        if entry.mode != _MODE_SUBMODULE and candidates:
            pairs.append((candidates.pop(0), path, 100))
    used_old = {p[0] for p in pairs}
    used_new = {p[1] for p in pairs}
    rest_old = [p for p in sorted(deleted) if p not in used_old][:max_candidates]
    rest_new = [p for p in sorted(added) if p not in used_new][:max_candidates]
    if not rest_old or not rest_new:
        return pairs

    def text(entry: _Entry) -> bytes | None:
        if entry.mode == _MODE_SUBMODULE:
            return None
        _, data = _read(repo, entry.sha, max_bytes=max_bytes)
        return None if data is None or _is_binary(data) else data

    old_text = {p: text(deleted[p]) for p in rest_old}
    new_text = {p: text(added[p]) for p in rest_new}
    scored = []
    for o, a in old_text.items():
        if a is None:
            continue
        for n, b in new_text.items():
            if b is not None:
                score = _similarity(a, b)
                if score >= threshold:
                    scored.append((score, o, n))
    for score, o, n in sorted(scored, key=lambda s: (-s[0], s[1], s[2])):
        if o not in used_old and n not in used_new:
            used_old.add(o)
            used_new.add(n)
            pairs.append((o, n, score))
    return pairs


def is_ancestor(mirror: Path, ancestor: str, descendant: str, *, max_commits: int = 20_000):
    """Whether ``ancestor`` is reachable from ``descendant`` by parent links: True, False,
    or None when more than ``max_commits`` commits would have to be walked. Raises like
    read_blob_at."""
    with _open(mirror) as repo:
        return _is_ancestor(repo, ancestor, descendant, max_commits=max_commits)


def _is_ancestor(repo: git.Repo, ancestor: str, descendant: str, *, max_commits: int):
    target = _sha1(ancestor, what="ancestor")
    start = _commit(repo, descendant)
    seen, queue = {start.binsha}, deque([start])
    while queue:
        commit = queue.popleft()
        if commit.binsha == target:
            return True
        if len(seen) > max_commits:
            return None
        for parent in commit.parents:
            if parent.binsha not in seen:
                seen.add(parent.binsha)
                queue.append(parent)
    return False


def commit_diff(
    mirror: Path,
    old_commit: str,
    new_commit: str,
    *,
    max_blob_bytes: int = 1 << 20,
    max_lines: int = 5000,
    context: int = 3,
    rename_threshold: int = 50,
    max_rename_candidates: int = 100,
    max_ancestry_commits: int = 20_000,
) -> CommitDiff:
    """What changed from ``old_commit`` to ``new_commit``: each file added, modified,
    deleted or renamed (old and new path), with its hunks and line numbers.

    Compares the two trees, so the commits need not be related (a force-push is fine).
    A file is ``binary`` when either side has a NUL byte near its start, ``too_large``
    when either side exceeds ``max_blob_bytes``; neither gets hunks. Once ``max_lines``
    hunk lines have been returned, later files are listed with ``hunks_omitted`` and the
    diff is ``truncated``. Renames: identical contents, else at least
    ``rename_threshold`` % similar lines (only the first ``max_rename_candidates``
    unpaired files each side are compared). Raises InvalidRef, RefNotFound (a commit is
    not in the mirror, e.g. force-pushed away and pruned) or VcsError."""
    if max_blob_bytes < 0 or max_lines < 0 or context < 0:
        raise ValueError("limits must not be negative")
    with _open(mirror) as repo:
        old = _commit(repo, old_commit, what="old commit")
        new = _commit(repo, new_commit, what="new commit")
        changed: dict[bytes, tuple[_Entry | None, _Entry | None]] = {}
        try:
            _changed_entries(repo, old.tree.binsha, new.tree.binsha, b"", changed)
        except (BadObject, BadName, ValueError) as exc:
            raise VcsError(f"The mirror is missing objects of these commits: {exc}") from None
        deleted = {p: a for p, (a, b) in changed.items() if a and not b}
        added = {p: b for p, (a, b) in changed.items() if b and not a}
        renames = _pair_renames(
            repo, deleted, added, max_bytes=max_blob_bytes,
            max_candidates=max_rename_candidates, threshold=rename_threshold,
        )  # fmt: skip
        renamed_to = {n: (o, score) for o, n, score in renames}
        renamed_from = {o for o, _, _ in renames}

        budget = max_lines
        truncated = False
        files: list[FileDiff] = []
        order = sorted(p for p in changed if p not in renamed_from)
        for path in order:
            a, b = changed[path]
            similarity = None
            old_path = path
            if path in renamed_to:
                old_path, similarity = renamed_to[path]
                a = deleted[old_path]
            status = (
                "renamed" if similarity is not None
                else "added" if a is None
                else "deleted" if b is None
                else "modified"
            )  # fmt: skip
            common = {
                "status": status,
                "old_path": _decode(old_path) if a else "",
                "new_path": _decode(path) if b else "",
                "old_sha": a.sha.hex() if a else "",
                "new_sha": b.sha.hex() if b else "",
                "old_mode": _mode(a.mode) if a else "",
                "new_mode": _mode(b.mode) if b else "",
                "similarity": similarity,
            }
            if (a and a.mode == _MODE_SUBMODULE) or (b and b.mode == _MODE_SUBMODULE):
                files.append(FileDiff(**common, submodule=True))
                continue
            old_size, old_data = _read(repo, a.sha, max_bytes=max_blob_bytes) if a else (0, b"")
            new_size, new_data = _read(repo, b.sha, max_bytes=max_blob_bytes) if b else (0, b"")
            common.update(old_size=old_size if a else None, new_size=new_size if b else None)
            if old_data is None or new_data is None:
                files.append(FileDiff(**common, too_large=True))
                continue
            if _is_binary(old_data) or _is_binary(new_data):
                files.append(FileDiff(**common, binary=True))
                continue
            hunks = _hunks(_lines(old_data), _lines(new_data), context=context)
            additions = sum(line.kind == "+" for h in hunks for line in h.lines)
            deletions = sum(line.kind == "-" for h in hunks for line in h.lines)
            size = sum(len(h.lines) for h in hunks)
            if size > budget:
                truncated = True
                files.append(
                    FileDiff(**common, additions=additions, deletions=deletions,
                             hunks_omitted=True)
                )  # fmt: skip
                continue
            budget -= size
            files.append(
                FileDiff(**common, additions=additions, deletions=deletions, hunks=tuple(hunks))
            )
        ancestor = _is_ancestor(repo, old_commit, new_commit, max_commits=max_ancestry_commits)
    counts = {s: sum(f.status == s for f in files) for s in ("added", "modified", "deleted",
                                                                "renamed")}  # fmt: skip
    return CommitDiff(
        old_commit=old_commit, new_commit=new_commit, files=tuple(files), truncated=truncated,
        old_is_ancestor=ancestor, counts=counts,
    )  # fmt: skip
