"""Git plumbing for publishing an Open Core export and syncing repositories back.

Everything happens in one bare *workspace* repository per project: the
internal and external repositories are fetched into separate namespaces
(``refs/internal/...`` and ``refs/external/...``), export trees are assembled
in temporary index files (``GIT_INDEX_FILE``) from blobs that are already in
the object database, and commits and tags are written with ``commit-tree`` and
``mktag``. Nothing is ever checked out, so no file of either repository is
written to disk, no symlink is followed and no hook, filter or attribute runs.

Commits and tags are deterministic: the same inputs (tree, parents, message,
identity, date) always give the same object id, so a retried publication
produces exactly the commit that a crashed attempt may already have pushed.

The caller holds :func:`workspace_lock` around a whole sync (update, build,
push); the functions here do not lock on their own.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from vcs.errors import (
    GitTimeout,
    InvalidRef,
    PathNotFound,
    PushRejected,
    RefNotFound,
    VcsError,
)
from vcs.git import (
    _SHA_RE,
    _check_ref_name,
    _check_timeout,
    _describe_failure,
    _run_git,
)
from vcs.mirror import _exclusive_lock
from vcs.remote import FETCH, PUSH, Credentials, Resolver, remote_env, unreachable

__all__ = [
    "ApplyResult",
    "ChangedBlob",
    "CommitInfo",
    "Identity",
    "apply_commit_onto",
    "build_export_tree",
    "changed_blobs",
    "commit_tree",
    "create_tag",
    "list_refs",
    "log",
    "push",
    "ref_commit",
    "tree_of",
    "workspace_lock",
    "workspace_update",
]

#: Namespaces the two repositories are fetched into. Only these are pruned.
_INTERNAL_REFSPECS: tuple[str, ...] = (
    "+refs/heads/*:refs/internal/heads/*",
    "+refs/tags/*:refs/internal/tags/*",
)
_EXTERNAL_REFSPECS: tuple[str, ...] = (
    "+refs/heads/*:refs/external/heads/*",
    "+refs/tags/*:refs/external/tags/*",
)

#: Added to the shared hardening (vcs.git) for every workspace command.
#: Signing, submodules and tag following are off; gc runs in the foreground so
#: it never outlives the process group we kill on timeout; patches always use
#: the a/ b/ prefixes; no attribute file can change what apply writes.
_WORKSPACE_CONFIG: tuple[str, ...] = (
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "gc.autoDetach=false",
    "maintenance.autoDetach=false",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "push.gpgSign=false",
    "push.followTags=false",
    "push.recurseSubmodules=no",
    "core.attributesFile=/dev/null",
    "core.autocrlf=false",
    "core.safecrlf=false",
    "diff.noprefix=false",
    "diff.mnemonicPrefix=false",
    "apply.whitespace=nowarn",
)

_LOCAL_TIMEOUT = 120.0
_MAX_IDENTITY_LENGTH = 200
_GITLINK_MODE = "160000"
_RAW_RE = re.compile(
    r"^:([0-7]{6}) ([0-7]{6}) ([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64}) ([AMDT])$"
)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Identity:
    """Author, committer or tagger: a name and an e-mail address."""

    name: str
    email: str


@dataclass(frozen=True)
class CommitInfo:
    """One commit as :func:`log` reads it."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    authored_at: str  # strict ISO 8601 (%aI), e.g. "2024-05-01T12:00:00+02:00"
    subject: str
    trailers: dict[str, str]  # last value per key, as git parses the trailer block
    files: tuple[str, ...]  # changed against the first parent (all paths of a root commit)


@dataclass(frozen=True)
class ApplyResult:
    """The outcome of :func:`apply_commit_onto`: a commit, or the reasons there is none."""

    commit: str | None
    conflicts: tuple[str, ...]


# --------------------------------------------------------------------------- running git


def _run(
    workspace: Path | None,
    args: Sequence[str],
    *,
    action: str,
    timeout: float = _LOCAL_TIMEOUT,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """vcs.git._run_git on ``workspace`` (explicit --git-dir), with the workspace config
    above, optional stdin and extra environment. Return code is not checked."""
    prefix: list[str] = []
    for item in _WORKSPACE_CONFIG:
        prefix += ["-c", item]
    if workspace is not None:
        workspace = Path(os.path.abspath(workspace))
        if not (workspace / "HEAD").is_file() or not (workspace / "objects").is_dir():
            raise VcsError(f"No workspace repository at {workspace}.")
        prefix.append(f"--git-dir={workspace}")
    try:
        return _run_git([*prefix, *args], timeout=timeout, cwd=workspace, input=stdin, env=env)
    except GitTimeout:
        raise GitTimeout(f"{action} timed out after {timeout:g} s.") from None


def _run_ok(
    workspace: Path, args: Sequence[str], *, action: str, **kwargs: object
) -> subprocess.CompletedProcess[bytes]:
    """_run, raising VcsError("<action> failed: <git's reason>") on a non-zero exit."""
    result = _run(workspace, args, action=action, **kwargs)  # type: ignore[arg-type]
    if result.returncode != 0:
        raise VcsError(f"{action} failed: {_describe_failure(result)}")
    return result


def _single_sha(result: subprocess.CompletedProcess[bytes], *, action: str) -> str:
    sha = result.stdout.decode("ascii", "replace").strip()
    if not _SHA_RE.match(sha):
        raise VcsError(f"{action}: git printed no object id.")
    return sha


@contextlib.contextmanager
def _temp_index(workspace: Path) -> Iterator[dict[str, str]]:
    """A fresh GIT_INDEX_FILE (as an env dict) that is deleted afterwards."""
    folder = tempfile.mkdtemp(prefix="gatehouse-index-")
    try:
        yield {"GIT_INDEX_FILE": os.path.join(folder, "index")}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- validation


def _check_rev(value: str, *, what: str) -> str:
    """A full ref name or an object id; never revision syntax or an option."""
    if not isinstance(value, str):
        raise InvalidRef(f"{what} must be text.")
    if _SHA_RE.match(value):
        return value
    _check_ref_name(value, noun="Ref")
    if not value.startswith("refs/"):
        raise InvalidRef(f"{what} must be a full ref name (refs/...) or a commit id.")
    return value


def _check_sha(value: str, *, what: str) -> str:
    if not isinstance(value, str) or not _SHA_RE.match(value):
        raise InvalidRef(f"{what} must be a full object id (40 or 64 lowercase hex digits).")
    return value


def _check_target(path: str) -> str:
    """Refuse export paths git (or a checkout of the export) could misread."""
    if not isinstance(path, str) or path == "":
        raise ValueError("Export path must be non-empty text.")
    if "\0" in path:
        raise ValueError(f"Export path {path!r} must not contain NUL.")
    if path.startswith("/"):
        raise ValueError(f"Export path {path!r} must be relative.")
    for part in path.split("/"):
        if part == "":
            raise ValueError(f"Export path {path!r} must not contain empty components.")
        if part in (".", ".."):
            raise ValueError(f"Export path {path!r} must not contain '.' or '..'.")
        if part.lower() == ".git":
            raise ValueError(f"Export path {path!r} must not contain a '.git' component.")
    return path


def _check_identity(identity: Identity, *, what: str) -> Identity:
    for label, value in (("name", identity.name), ("e-mail", identity.email)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{what} {label} must be non-empty text.")
        if len(value) > _MAX_IDENTITY_LENGTH:
            raise ValueError(f"{what} {label} is too long.")
        if any(ch in value for ch in "<>\n\r\0") or value != value.strip():
            raise ValueError(f"{what} {label} must not contain '<', '>', line breaks or padding.")
    return identity


def _git_date(date: str) -> str:
    """ISO 8601 with a UTC offset → git's raw "<epoch> <+hhmm>" (no parser ambiguity)."""
    try:
        moment = datetime.fromisoformat(date)
    except (TypeError, ValueError):
        raise ValueError(f"date {date!r} is not an ISO 8601 timestamp.") from None
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"date {date!r} must include a UTC offset (e.g. +00:00).")
    minutes, rest = divmod(int(offset.total_seconds()), 60)
    if rest:
        raise ValueError(f"date {date!r} has a UTC offset that is not whole minutes.")
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{int(moment.timestamp())} {sign}{hours:02d}{mins:02d}"


def _check_message(message: str) -> bytes:
    if not isinstance(message, str) or "\0" in message:
        raise ValueError("message must be text without NUL characters.")
    return (message.rstrip("\n") + "\n").encode("utf-8", "surrogateescape")


def _display(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _encode(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- lock and update


def _lock_path(workspace: Path) -> Path:
    workspace = Path(os.path.abspath(workspace))
    return workspace.parent / f"{workspace.name}.lock"


@contextlib.contextmanager
def workspace_lock(workspace: Path, *, wait: bool, timeout: float = 300) -> Iterator[bool]:
    """Hold an exclusive flock on ``<workspace>.lock`` (a sibling file) for the block.

    Yields True once the lock is held. With ``wait=False`` it yields False at
    once if someone else holds it (the caller skips its run: two concurrent
    syncs run once). With ``wait=True`` it waits up to ``timeout`` seconds and
    then raises GitTimeout. Threads of one process exclude each other too
    (flock belongs to the open file). The lock file is never deleted.
    """
    _check_timeout(timeout)
    path = _lock_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(
        path, deadline=time.monotonic() + timeout, wait=wait,
        busy="Another sync of this workspace was still running; gave up waiting.",
    ) as held:  # fmt: skip
        yield held


def workspace_update(
    workspace: Path,
    *,
    internal_url: str,
    external_url: str | None,
    allow: Sequence[str],
    timeout: float = 300,
    credentials: Credentials | None = None,
    resolver: Resolver | None = None,
) -> None:
    """Create the bare workspace if missing, then fetch both repositories into it.

    Internal branches and tags land in ``refs/internal/heads/*`` and
    ``refs/internal/tags/*``, external ones in ``refs/external/...``; each
    fetch prunes only its own namespace, follows force-pushes and is
    incremental (only missing objects travel). An external repository without
    commits is fine (nothing is fetched). ``timeout`` covers the whole call.
    Each URL gets its own egress check and only its own credential (see
    vcs.remote). Hold :func:`workspace_lock` around it. Raises UnsafeURL
    (before any process or file is created), RepositoryUnreachable, GitTimeout
    or VcsError.
    """
    internal_env = remote_env(
        internal_url, allow, purpose=FETCH, credentials=credentials, resolver=resolver
    )
    external_env = None
    if external_url is not None:
        external_env = remote_env(
            external_url, allow, purpose=FETCH, credentials=credentials, resolver=resolver
        )
    _check_timeout(timeout)
    deadline = time.monotonic() + timeout
    workspace = Path(os.path.abspath(workspace))
    workspace.parent.mkdir(parents=True, exist_ok=True)
    if workspace.exists():
        if not (workspace / "HEAD").is_file() or not (workspace / "objects").is_dir():
            raise VcsError(f"{workspace} exists but is not a workspace repository.")
    else:
        _create_workspace(workspace, deadline=deadline, timeout=timeout)
    _fetch(
        workspace, internal_url, _INTERNAL_REFSPECS, deadline=deadline, timeout=timeout,
        env=internal_env,
    )  # fmt: skip
    if external_url is not None:
        _fetch(
            workspace, external_url, _EXTERNAL_REFSPECS, deadline=deadline, timeout=timeout,
            env=external_env,
        )  # fmt: skip


def _remaining(deadline: float, timeout: float, what: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise GitTimeout(f"{what} timed out after {timeout:g} s.")
    return left


def _create_workspace(workspace: Path, *, deadline: float, timeout: float) -> None:
    prefix = f".{workspace.name}.tmp-"
    for leftover in workspace.parent.glob(f"{prefix}*"):  # a killed worker's half-made one
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
    temp = Path(tempfile.mkdtemp(prefix=prefix, dir=workspace.parent))
    try:
        result = _run_git(
            ["init", "--bare", "--template=", "--quiet", "--", str(temp)],
            timeout=_remaining(deadline, timeout, "Creating the workspace"),
        )
        if result.returncode != 0:
            raise VcsError(f"Could not create the workspace: {_describe_failure(result)}")
        os.rename(temp, workspace)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _fetch(
    workspace: Path,
    url: str,
    refspecs: Sequence[str],
    *,
    deadline: float,
    timeout: float,
    env: dict[str, str] | None,
) -> None:
    # The validated URL is passed every time (no configured remote); --no-tags
    # stops tag auto-following from writing refs/tags/* outside our namespaces.
    left = deadline - time.monotonic()
    if left <= 0:
        raise unreachable(url, f"fetch timed out after {timeout:g} s", timed_out=True)
    try:
        result = _run(
            workspace,
            [
                "fetch",
                "--prune",
                "--no-tags",
                "--no-recurse-submodules",
                "--quiet",
                "--",
                url,
                *refspecs,
            ],
            action=f"Fetching {url}",
            timeout=left,
            env=env,
        )
    except GitTimeout:
        raise unreachable(url, f"fetch timed out after {timeout:g} s", timed_out=True) from None
    if result.returncode != 0:
        raise unreachable(url, _describe_failure(result))


# --------------------------------------------------------------------------- reading


def _resolve(workspace: Path, rev: str, *, peel: str = "commit") -> str | None:
    result = _run(
        workspace,
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{{peel}}}"],
        action=f"Resolving '{rev}'",
    )
    sha = result.stdout.decode("ascii", "replace").strip()
    if result.returncode != 0 or not _SHA_RE.match(sha):
        return None
    return sha


def _resolve_commit(workspace: Path, rev: str, *, what: str) -> str:
    _check_rev(rev, what=what)
    sha = _resolve(workspace, rev)
    if sha is None:
        raise RefNotFound(f"'{rev}' is not a commit of this workspace.")
    return sha


def ref_commit(workspace: Path, ref: str) -> str | None:
    """The commit ``ref`` (full ref name or object id) points to, tags peeled; None if missing."""
    _check_rev(ref, what="ref")
    return _resolve(workspace, ref)


def list_refs(workspace: Path, prefix: str) -> dict[str, str]:
    """Refs under ``prefix`` (e.g. ``"refs/external/tags/"``): name after the prefix → commit.

    Annotated tags are peeled to the commit they point to; refs that do not
    lead to a commit (a tag of a tree or blob) are left out.
    """
    if not isinstance(prefix, str) or not prefix.startswith("refs/") or not prefix.endswith("/"):
        raise InvalidRef("prefix must be a full ref prefix ending in '/' (refs/.../).")
    _check_ref_name(prefix.rstrip("/"), noun="Ref")
    result = _run_ok(
        workspace,
        [
            "for-each-ref",
            "--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)%00%(*objectname)",
            "--end-of-options",
            prefix,
        ],
        action="Listing refs",
    )
    refs: dict[str, str] = {}
    for line in result.stdout.decode("utf-8", "surrogateescape").splitlines():
        parts = line.split("\0")
        if len(parts) != 5 or not parts[0].startswith(prefix):
            continue
        name, kind, sha, peeled_kind, peeled = parts
        if kind == "commit" and _SHA_RE.match(sha):
            refs[name[len(prefix) :]] = sha
        elif peeled_kind == "commit" and _SHA_RE.match(peeled):
            refs[name[len(prefix) :]] = peeled
    return refs


def tree_of(workspace: Path, commit: str) -> str:
    """The tree id of ``commit`` (full ref name or commit id). Raises RefNotFound."""
    sha = _resolve_commit(workspace, commit, what="commit")
    tree = _resolve(workspace, sha, peel="tree")
    if tree is None:
        raise RefNotFound(f"Commit {sha} has no tree in this workspace.")
    return tree


_LOG_FIELDS = 7
_LOG_FORMAT = (
    "tformat:%x00%H%x00%P%x00%an%x00%ae%x00%aI%x00%s%x00"
    "%(trailers:only=true,unfold=true,separator=%x1e,key_value_separator=%x1f)%x00"
)


def log(
    workspace: Path, *, include: str, exclude: str | None = None, max_count: int = 1000
) -> list[CommitInfo]:
    """Commits reachable from ``include`` but not from ``exclude``, newest first.

    ``include``/``exclude`` are full ref names or commit ids; ``exclude=None``
    means the whole history. Merges list the files changed against their first
    parent; a root commit lists all its files. Trailers are parsed by git
    (last value per key). Raises InvalidRef, RefNotFound, GitTimeout, VcsError.
    """
    _check_rev(include, what="include")
    if exclude is not None:
        _check_rev(exclude, what="exclude")
    if not isinstance(max_count, int) or max_count < 1:
        raise ValueError("max_count must be a positive integer")
    revs = [include] if exclude is None else [include, f"^{exclude}"]
    result = _run(
        workspace,
        [
            "log",
            "-z",
            f"--format={_LOG_FORMAT}",
            "--name-only",
            "--no-renames",
            "--root",
            "--diff-merges=first-parent",
            "--no-abbrev",
            "--no-color",
            f"--max-count={max_count}",
            "--end-of-options",
            *revs,
        ],
        action="Reading the history",
    )
    if result.returncode != 0:
        raise RefNotFound(f"Could not read the history: {_describe_failure(result)}")
    return _parse_log(result.stdout)


def _parse_log(output: bytes) -> list[CommitInfo]:
    # Each record is "\0" + 7 NUL-terminated fields + "\0" (tformat's terminator
    # under -z), then, if it changed files, "\n" + one NUL-terminated path each.
    # A path is never empty, so an empty token always starts the next record.
    tokens = output.split(b"\0")
    commits: list[CommitInfo] = []
    i = 0
    while i < len(tokens) - 1:
        fields = tokens[i + 1 : i + 1 + _LOG_FIELDS]
        i += 1 + _LOG_FIELDS
        if tokens[i - 1 - _LOG_FIELDS] != b"" or len(fields) != _LOG_FIELDS:
            raise VcsError("git log printed output that could not be read.")
        if i >= len(tokens) or tokens[i] != b"":
            raise VcsError("git log printed output that could not be read.")
        i += 1
        files: list[str] = []
        if i < len(tokens) and tokens[i].startswith(b"\n"):
            files.append(_decode(tokens[i][1:]))
            i += 1
            while i < len(tokens) and tokens[i] != b"":
                files.append(_decode(tokens[i]))
                i += 1
        sha, parents, name, email, date, subject, trailers = (
            f.decode("utf-8", "replace") for f in fields
        )
        commits.append(
            CommitInfo(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=name,
                author_email=email,
                authored_at=date,
                subject=subject,
                trailers=_parse_trailers(trailers),
                files=tuple(files),
            )
        )
    return commits


def _parse_trailers(text: str) -> dict[str, str]:
    trailers: dict[str, str] = {}
    for item in text.split("\x1e"):
        key, sep, value = item.partition("\x1f")
        if sep and key.strip():
            trailers[key.strip()] = value.strip()
    return trailers


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Entry:
    mode: str
    kind: str
    sha: str


def _ls_tree(workspace: Path, commit: str) -> dict[str, _Entry]:
    result = _run_ok(
        workspace,
        ["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit],
        action=f"Listing the files of {commit}",
    )
    entries: dict[str, _Entry] = {}
    for record in result.stdout.split(b"\0"):
        if not record:
            continue
        meta, tab, raw_path = record.partition(b"\t")
        fields = meta.decode("ascii", "replace").split()
        if not tab or len(fields) != 3:
            raise VcsError("git ls-tree printed a line that could not be read.")
        mode, kind, sha = fields
        if kind in ("blob", "commit"):
            entries[_decode(raw_path)] = _Entry(mode, kind, sha)
    return entries


def _write_tree(workspace: Path, entries: Sequence[tuple[str, _Entry]], *, action: str) -> str:
    """Write a tree holding exactly ``entries`` (path, mode/kind/sha) via a temporary index."""
    info = b"".join(
        f"{e.mode} {e.kind} {e.sha}\t".encode("ascii") + _encode(path) + b"\0"
        for path, e in entries
    )
    with _temp_index(workspace) as env:
        if info:
            _run_ok(
                workspace,
                ["update-index", "-z", "--index-info"],
                action=action,
                stdin=info,
                env=env,
            )
        result = _run_ok(workspace, ["write-tree"], action=action, env=env)
    return _single_sha(result, action=action)


def _check_no_overlap(targets: Sequence[str]) -> None:
    seen: set[str] = set()
    for target in targets:
        if target in seen:
            raise ValueError(f"Export path {target!r} is given twice.")
        seen.add(target)
    for target in targets:
        parts = target.split("/")
        for n in range(1, len(parts)):
            if "/".join(parts[:n]) in seen:
                raise ValueError(
                    f"Export path {target!r} is inside the file {'/'.join(parts[:n])!r}."
                )


def build_export_tree(
    workspace: Path,
    *,
    commit: str,
    paths: Sequence[tuple[str, str]],
    extra: Mapping[str, bytes] | None = None,
) -> str:
    """The id of a new tree holding ``commit``'s files at their export paths, and the
    ``extra`` files (target path -> contents, written as ordinary files, 100644).

    ``paths`` are (source path in ``commit``'s tree, target path in the export).
    A source that names a folder carries every file below it. Modes and blob
    ids come from ``ls-tree``: a symlink stays a symlink blob (never followed),
    a submodule stays a gitlink. Targets that are absolute or contain '..', '.',
    empty components or a '.git' component raise ValueError before any process
    starts; a missing source raises PathNotFound.
    """
    pairs = [(src, _check_target(tgt)) for src, tgt in paths]
    for src, _ in pairs:
        if not isinstance(src, str) or src == "" or src.startswith("/") or src.endswith("/"):
            raise ValueError(f"Source path {src!r} must be a relative path.")
    sha = _resolve_commit(workspace, commit, what="commit")
    files = _ls_tree(workspace, sha)
    entries: list[tuple[str, _Entry]] = []
    for src, tgt in pairs:
        if src in files:
            entries.append((tgt, files[src]))
            continue
        below = [(p, e) for p, e in files.items() if p.startswith(src + "/")]
        if not below:
            raise PathNotFound(f"'{_display(src)}' is not in commit {sha}.")
        entries.extend((tgt + p[len(src) :], e) for p, e in below)
    for target, data in (extra or {}).items():
        blob = _run_ok(
            workspace, ["hash-object", "-w", "--stdin"], action="Writing a file of the export",
            stdin=data,
        )  # fmt: skip
        entries.append((_check_target(target), _Entry("100644", "blob", _single_sha(
            blob, action="Writing a file of the export"))))  # fmt: skip
    _check_no_overlap([path for path, _ in entries])
    return _write_tree(workspace, entries, action="Building the export tree")


# --------------------------------------------------------------------------- writing objects


def _identity_env(
    identity: Identity, date: str, committer: Identity | None = None
) -> dict[str, str]:
    committer = committer or identity
    return {
        "GIT_AUTHOR_NAME": identity.name,
        "GIT_AUTHOR_EMAIL": identity.email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": committer.name,
        "GIT_COMMITTER_EMAIL": committer.email,
        "GIT_COMMITTER_DATE": date,
    }


def commit_tree(
    workspace: Path,
    *,
    tree: str,
    parents: Sequence[str],
    message: str,
    author: Identity,
    date: str,
    committer: Identity | None = None,
) -> str:
    """Write a commit and return its id, authored by ``author`` and committed by
    ``committer`` (the author when not given), both dated ``date``.

    ``date`` is ISO 8601 with a UTC offset. The message gets exactly one
    trailing newline. The same inputs always give the same id. Nothing points
    at the commit afterwards (push it, or keep its id).
    """
    _check_sha(tree, what="tree")
    for parent in parents:
        _check_sha(parent, what="parent")
    if len(set(parents)) != len(parents):
        raise ValueError("parents must not repeat a commit.")
    _check_identity(author, what="author")
    if committer is not None:
        _check_identity(committer, what="committer")
    git_date = _git_date(date)
    body = _check_message(message)
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    args += ["-F", "-"]
    result = _run_ok(
        workspace,
        args,
        action="Writing a commit",
        stdin=body,
        env=_identity_env(author, git_date, committer),
    )
    return _single_sha(result, action="Writing a commit")


def create_tag(
    workspace: Path, *, name: str, commit: str, message: str, tagger: Identity, date: str
) -> str:
    """Write an annotated tag of ``commit`` with ``git mktag``; return the tag object id.

    The tag is stored at ``refs/gatehouse/tags/<name>`` (replacing what was
    there: the workspace is a staging area; pushing never forces). Deterministic
    like commit_tree. ``name`` follows the branch-name rules.
    """
    _check_ref_name(name, noun="Tag")
    _check_identity(tagger, what="tagger")
    git_date = _git_date(date)
    body = _check_message(message)
    sha = _resolve_commit(workspace, commit, what="commit")
    header = (
        f"object {sha}\ntype commit\ntag {name}\n"
        f"tagger {tagger.name} <{tagger.email}> {git_date}\n\n"
    )
    result = _run_ok(
        workspace,
        ["mktag"],
        action=f"Writing the tag {name}",
        stdin=header.encode("utf-8") + body,
    )
    tag = _single_sha(result, action=f"Writing the tag {name}")
    _run_ok(
        workspace,
        ["update-ref", "--no-deref", f"refs/gatehouse/tags/{name}", tag],
        action=f"Storing the tag {name}",
    )
    return tag


# --------------------------------------------------------------------------- push


_PORCELAIN_RE = re.compile(r"^([ +\-*=!])\t([^\t]*)\t(.*)$")


def push(
    workspace: Path,
    *,
    url: str,
    allow: Sequence[str],
    refspecs: Sequence[tuple[str, str]],
    timeout: float = 300,
    credentials: Credentials | None = None,
    resolver: Resolver | None = None,
) -> None:
    """``git push --porcelain --atomic -- <url> <src>:<dst> ...``, never forced.

    ``src`` is a full ref name or object id of the workspace, ``dst`` a full
    ref name at the remote. A credential that ``credentials`` scopes to ``url``
    for pushing reaches git through GIT_CONFIG_* variables, so it is neither in
    the URL, on the command line, nor in any message (see vcs.remote). Raises
    PushRejected (with the remote's short reason per ref) when the remote
    refuses, RepositoryUnreachable (GitTimeout on a time-out), UnsafeURL,
    InvalidRef or VcsError.
    """
    env = remote_env(url, allow, purpose=PUSH, credentials=credentials, resolver=resolver)
    _check_timeout(timeout)
    if not refspecs:
        raise ValueError("refspecs must not be empty.")
    specs: list[str] = []
    for src, dst in refspecs:
        _check_rev(src, what="source ref")
        _check_ref_name(dst, noun="Ref")
        if not dst.startswith("refs/"):
            raise InvalidRef("Destination must be a full ref name (refs/...).")
        specs.append(f"{src}:{dst}")
    deadline = time.monotonic() + timeout
    action = f"Pushing to {url}"

    def attempt(atomic: bool) -> subprocess.CompletedProcess[bytes]:
        args = ["push", "--porcelain", "--no-verify", "--no-follow-tags"]
        if atomic:
            args.append("--atomic")
        left = deadline - time.monotonic()
        if left <= 0:
            raise unreachable(url, f"push timed out after {timeout:g} s", timed_out=True)
        try:
            return _run(workspace, [*args, "--", url, *specs], action=action, timeout=left, env=env)
        except GitTimeout:
            raise unreachable(url, f"push timed out after {timeout:g} s", timed_out=True) from None

    result = attempt(atomic=True)
    if result.returncode != 0 and b"does not support --atomic" in result.stderr:
        result = attempt(atomic=False)

    rejected: list[str] = []
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        match = _PORCELAIN_RE.match(line)
        if match and match.group(1) == "!":
            dst = match.group(2).rpartition(":")[2]
            rejected.append(f"{dst}: {match.group(3).strip()}")
    if rejected:
        primary = [r for r in rejected if "atomic push failed" not in r] or rejected
        raise PushRejected(f"{url} refused the push: " + "; ".join(primary))
    if result.returncode != 0:
        raise unreachable(url, _describe_failure(result))


# --------------------------------------------------------------------------- back-port


#: git apply's messages (LC_ALL=C) → (path, human reason). Order matters.
_APPLY_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^error: patch failed: (.+):(\d+)$"), "patch does not apply at line {1}"),
    (re.compile(r"^error: (.+): does not exist in index$"), "does not exist in the target"),
    (re.compile(r"^error: (.+): already exists in index$"), "already exists in the target"),
    (re.compile(r"^error: (.+): does not match index$"), "does not match the target"),
    (re.compile(r"^error: (.+): wrong type$"), "has a different file type in the target"),
    (
        re.compile(r"^error: (.+) has type ([0-7]+), expected ([0-7]+)$"),
        "has mode {1} in the target, expected {2}",
    ),
    (re.compile(r"^error: binary patch does not apply to '(.+)'$"), "binary change does not apply"),
    (
        re.compile(r"^error: affected file '(.+)' is beyond a symbolic link$"),
        "is inside a symbolic link in the target",
    ),
    (re.compile(r"^error: (.+): patch does not apply$"), "patch does not apply"),
)


def _parse_apply_errors(stderr: bytes, sources: dict[str, str]) -> list[str]:
    reasons: dict[str, str] = {}
    other: list[str] = []
    for line in stderr.decode("utf-8", "surrogateescape").splitlines():
        line = line.rstrip()
        if not line.startswith("error:"):
            continue
        for pattern, template in _APPLY_ERRORS:
            match = pattern.match(line)
            if match:
                path = match.group(1)
                reason = template.format(*match.groups())
                reasons.setdefault(path, reason)  # the first (most precise) reason wins
                break
        else:
            text = "".join(ch for ch in _display(line) if ch.isprintable())
            other.append(text.removeprefix("error:").strip())
    conflicts = [f"{_label(path, sources)}: {reason}" for path, reason in reasons.items()]
    return conflicts + [o for o in other if o]


def _label(target: str, sources: dict[str, str]) -> str:
    source = sources.get(target)
    if source is None or source == target:
        return _display(target)
    return f"{_display(target)} (from {_display(source)})"


def _empty_tree(workspace: Path) -> str:
    result = _run_ok(workspace, ["mktree", "-z"], action="Writing the empty tree", stdin=b"")
    return _single_sha(result, action="Writing the empty tree")


def _first_parent(workspace: Path, commit: str) -> str | None:
    result = _run_ok(
        workspace,
        ["rev-list", "--parents", "--max-count=1", "--end-of-options", commit],
        action=f"Reading the parents of {commit}",
    )
    shas = result.stdout.decode("ascii", "replace").split()
    return shas[1] if len(shas) > 1 else None


def _raw_diff(workspace: Path, old: str, new: str) -> list[tuple[str, str, str, str, str, str]]:
    """(status, old mode, new mode, old sha, new sha, path) of each changed path, no renames."""
    result = _run_ok(
        workspace,
        ["diff-tree", "-r", "-z", "--raw", "--no-renames", "--no-abbrev", old, new],
        action="Comparing the commit with its parent",
    )
    tokens = result.stdout.split(b"\0")
    changes = []
    i = 0
    while i < len(tokens) and tokens[i]:
        match = _RAW_RE.match(tokens[i].decode("ascii", "replace"))
        if match is None or i + 1 >= len(tokens):
            raise VcsError("git diff-tree printed a line that could not be read.")
        old_mode, new_mode, old_sha, new_sha, status = match.groups()
        changes.append((status, old_mode, new_mode, old_sha, new_sha, _decode(tokens[i + 1])))
        i += 2
    return changes


def _entry(mode: str, sha: str) -> _Entry:
    return _Entry(mode, "commit" if mode == _GITLINK_MODE else "blob", sha)


@dataclass(frozen=True)
class ChangedBlob:
    """A file a commit added or modified: its path (decoded with surrogateescape, like
    vcs.tree's), its new blob and mode."""

    path: str
    sha: str
    mode: str

    @property
    def display_path(self) -> str:
        return _display(self.path)


def changed_blobs(workspace: Path, commit: str) -> list[ChangedBlob]:
    """The files ``commit`` added, modified or changed in type against its first parent
    (every file of a root commit): what a scan of only that commit's change reads.
    Deletions and submodules are left out. Raises InvalidRef, VcsError."""
    commit = _check_sha(commit, what="commit")
    parent = _first_parent(workspace, commit)
    base = parent if parent is not None else _empty_tree(workspace)
    return [
        ChangedBlob(path, new_sha, new_mode)
        for status, _old_mode, new_mode, _old_sha, new_sha, path in _raw_diff(
            workspace, base, commit
        )
        if status != "D" and new_mode != _GITLINK_MODE
    ]


def apply_commit_onto(
    workspace: Path,
    *,
    source: str,
    onto: str,
    path_map: Callable[[str], str | None],
    message: str,
    author: Identity,
    date: str,
    committer: Identity | None = None,
) -> ApplyResult:
    """Back-port ``source``'s change (against its first parent) onto ``onto``.

    Every changed path goes through ``path_map`` (None: no counterpart, which
    is a conflict). The mapped change is produced by git itself: the old and
    new versions of the changed files are placed at their mapped paths in two
    temporary trees and diffed (``diff-tree -p --binary --full-index``), so
    paths are never rewritten in patch text. The patch is applied to ``onto``'s
    tree in a temporary index (``apply --cached``, then ``--3way`` if that
    fails), and the result committed with parent ``onto``.

    On any failure the commit is None and ``conflicts`` names each file and
    why; nothing is written that points at a partial result. A change that is
    empty after mapping gives a commit with ``onto``'s tree.
    """
    _check_identity(author, what="author")
    _git_date(date)
    _check_message(message)
    source_sha = _resolve_commit(workspace, source, what="source")
    onto_sha = _resolve_commit(workspace, onto, what="onto")
    parent = _first_parent(workspace, source_sha)
    base = parent if parent is not None else _empty_tree(workspace)

    conflicts: list[str] = []
    old_side: list[tuple[str, _Entry]] = []
    new_side: list[tuple[str, _Entry]] = []
    sources: dict[str, str] = {}  # target path -> source path
    for status, old_mode, new_mode, old_sha, new_sha, path in _raw_diff(
        workspace, base, source_sha
    ):
        target = path_map(path)
        if target is None:
            conflicts.append(f"{_display(path)}: has no counterpart in the target")
            continue
        _check_target(target)
        if target in sources:
            conflicts.append(
                f"{_display(path)}: maps to {_display(target)}, like {_display(sources[target])}"
            )
            continue
        sources[target] = path
        if status != "A":
            old_side.append((target, _entry(old_mode, old_sha)))
        if status != "D":
            new_side.append((target, _entry(new_mode, new_sha)))

    patch = b""
    if sources:
        try:
            _check_no_overlap(list(sources))
        except ValueError as exc:
            return ApplyResult(None, (*conflicts, str(exc)))
        old_tree = _write_tree(workspace, old_side, action="Preparing the change")
        new_tree = _write_tree(workspace, new_side, action="Preparing the change")
        patch = _run_ok(
            workspace,
            [
                "diff-tree",
                "-p",
                "--binary",
                "--full-index",
                "--no-renames",
                "-r",
                old_tree,
                new_tree,
            ],
            action="Preparing the change",
        ).stdout

    tree: str | None = None
    if not conflicts:
        tree, apply_conflicts = _apply(workspace, onto_sha, patch, sources)
        conflicts.extend(apply_conflicts)
    elif patch:
        # Still try, to report every conflicting file at once; never commit.
        conflicts.extend(_apply(workspace, onto_sha, patch, sources)[1])
    if conflicts or tree is None:
        return ApplyResult(None, tuple(conflicts) or ("the change could not be applied",))
    commit = commit_tree(
        workspace, tree=tree, parents=[onto_sha], message=message, author=author, date=date,
        committer=committer,
    )  # fmt: skip
    return ApplyResult(commit, ())


def _apply(
    workspace: Path, onto: str, patch: bytes, sources: dict[str, str]
) -> tuple[str | None, list[str]]:
    """Apply ``patch`` to ``onto``'s tree in a temporary index: (tree, []) or (None, conflicts)."""
    first_error = b""
    for three_way in (False, True):
        with _temp_index(workspace) as env:
            _run_ok(workspace, ["read-tree", onto], action="Reading the target tree", env=env)
            if patch:
                args = ["apply", "--cached", "--whitespace=nowarn"]
                if three_way:
                    args.append("--3way")
                result = _run(
                    workspace, [*args, "-"], action="Applying the change", stdin=patch, env=env
                )
                if result.returncode != 0:
                    if not three_way:
                        first_error = result.stderr
                    continue
            written = _run(workspace, ["write-tree"], action="Writing the tree", env=env)
            if written.returncode == 0:
                return _single_sha(written, action="Writing the tree"), []
            if not patch:
                raise VcsError(f"Writing the tree failed: {_describe_failure(written)}")
    return None, _parse_apply_errors(first_error, sources) or ["the change could not be applied"]
