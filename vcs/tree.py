"""Reading commits, trees and blobs out of a bare mirror (see vcs.mirror).

Nothing here checks anything out: trees are listed with ``git ls-tree`` and
file contents come from the object database through one long-lived
``git cat-file --batch`` process. A symlink is therefore just a small blob
holding its target text, and a submodule is just a commit id.

Paths are decoded from git's bytes with ``surrogateescape``: every path
round-trips exactly (``entry.path.encode("utf-8", "surrogateescape")`` is the
name git stores), even when it is not UTF-8 or contains a newline. Such a
string cannot be encoded as strict UTF-8, so use ``TreeEntry.display_path``
for anything that is stored in the database, rendered or logged.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from vcs.errors import GitTimeout, InvalidRef, LimitExceeded, RefNotFound, VcsError
from vcs.git import (
    _SHA_RE,
    _check_ref_name,
    _describe_failure,
    _git_command,
    _kill_process_group,
    _run_git,
)

__all__ = [
    "BlobReader",
    "TreeEntry",
    "changed_paths",
    "list_tree",
    "read_blobs",
    "resolve_commitish",
    "resolve_ref",
    "stream_blob",
]

#: One record of ``ls-tree -r -l -z``: "<mode> SP <type> SP <sha> SP+ <size or -> TAB
#: <path> NUL"; with -z the path is not quoted, and the metadata never holds a tab.
_LS_TREE_RECORD = re.compile(
    rb"([0-7]{6}) ([a-z]+) ([0-9a-f]{40}|[0-9a-f]{64}) +([0-9]+|-)\t([^\0]*)\0"
)
_HEADER_RE = re.compile(rb"^([0-9a-f]{40}|[0-9a-f]{64}) ([a-z]+) ([0-9]+)\n$")
_MAX_HEADER_BYTES = 256
#: Read-buffer size for cat-file's stdout: most source files fit in one read.
_PIPE_BUFFER_BYTES = 1 << 16
#: Requests sent before reading answers: 48 lines of at most 65 bytes stay under
#: PIPE_BUF (4096), the least a pipe can hold, so writing a batch never blocks.
_BATCH_SIZE = 48
#: Oversized blobs are skipped by reading them into this reused buffer.
_DISCARD_CHUNK_BYTES = 1 << 16


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One file (or submodule) of a commit, as ``git ls-tree -r -l`` lists it."""

    path: str  # full path, decoded with surrogateescape (see module docstring)
    mode: str  # "100644", "100755", "120000" (symlink) or "160000" (submodule)
    kind: str  # "blob" or "commit" (a submodule: a commit of another repository)
    sha: str
    size: int | None  # bytes of the blob; None for submodules
    is_symlink: bool
    is_executable: bool

    @property
    def raw_path(self) -> bytes:
        """The path exactly as git stores it."""
        return self.path.encode("utf-8", "surrogateescape")

    @property
    def display_path(self) -> str:
        """The path as valid UTF-8 text; undecodable bytes become U+FFFD."""
        if self.path.isascii():
            return self.path  # nearly every path: nothing to replace
        return self.raw_path.decode("utf-8", "replace")


def _check_object_id(value: str, *, what: str) -> str:
    if not isinstance(value, str) or not _SHA_RE.match(value):
        raise InvalidRef(f"{what} must be a full commit id (40 or 64 lowercase hex digits).")
    return value


def _git_dir_args(mirror: Path) -> list[str]:
    # An explicit --git-dir means git never searches upwards for a repository.
    return [f"--git-dir={os.path.abspath(mirror)}"]


def _run_in_mirror(
    mirror: Path, args: list[str], *, timeout: float, action: str
) -> subprocess.CompletedProcess[bytes]:
    mirror = Path(mirror)
    if not mirror.is_dir():
        raise VcsError(f"No repository mirror at {mirror}.")
    try:
        return _run_git([*_git_dir_args(mirror), *args], timeout=timeout, cwd=mirror)
    except GitTimeout:
        raise GitTimeout(f"{action} timed out after {timeout:g} s.") from None


# --------------------------------------------------------------------------- refs and trees


def resolve_ref(mirror: Path, ref: str, *, timeout: float = 30) -> str:
    """Return the commit id that ``ref`` (branch, tag, ``refs/...`` name, sha or HEAD) names.

    ``ref`` is checked with the branch-name rules (so no revision syntax such as
    ``main~1`` or ``HEAD@{1}``) before any process starts; annotated tags are
    peeled to their commit. A name that is both a tag and a branch resolves the
    way git does (tag first); pass ``refs/heads/<name>`` to be exact. Raises
    InvalidRef, RefNotFound, GitTimeout or VcsError.
    """
    if ref != "HEAD":
        _check_ref_name(ref, noun="Ref")
    return _commit_of(
        mirror, ref, timeout=timeout,
        missing=f"'{ref}' is not a branch, tag or commit of this repository.",
    )  # fmt: skip


def _commit_of(mirror: Path, rev: str, *, timeout: float, missing: str) -> str:
    """``rev-parse --verify --end-of-options <rev>^{commit}`` on a checked ``rev``."""
    result = _run_in_mirror(
        mirror,
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        timeout=timeout,
        action=f"Resolving '{rev}'",
    )
    sha = result.stdout.decode("ascii", "replace").strip()
    if result.returncode != 0 or not _SHA_RE.match(sha):
        raise RefNotFound(missing)
    return sha


_COMMITISH_RE = re.compile(r"^[A-Za-z0-9._/@{}^~-]{1,255}$")


def resolve_commitish(mirror: Path, rev: str, *, timeout: float = 30) -> str:
    """The commit ``rev`` names, with git's revision syntax allowed (``HEAD~1``, ``v1.2^``,
    ``main@{upstream}`` is refused for lack of a reflog in a mirror): checked to be plain
    revision characters, never an option, and resolved with ``rev-parse --verify
    --end-of-options <rev>^{commit}``. Raises InvalidRef, RefNotFound, GitTimeout or
    VcsError."""
    if not isinstance(rev, str) or not _COMMITISH_RE.match(rev) or rev.startswith("-"):
        raise InvalidRef("Give a branch, a tag, a commit id or a revision such as HEAD~1.")
    return _commit_of(
        mirror, rev, timeout=timeout, missing=f"'{rev}' does not name a commit of this repository."
    )


def commit_reachable(mirror: Path, commit: str, head: str, *, timeout: float = 30) -> bool:
    """Whether ``commit`` is ``head`` or one of its ancestors (both full object ids), by
    ``git merge-base --is-ancestor``: exact on any history length. A missing object is
    False."""
    _check_object_id(commit, what="commit")
    _check_object_id(head, what="commit")
    result = _run_in_mirror(
        mirror, ["merge-base", "--is-ancestor", "--end-of-options", commit, head],
        timeout=timeout, action="Checking ancestry",
    )  # fmt: skip
    return result.returncode == 0


def recent_tags(
    mirror: Path, *, limit: int = 10, merged: str = "", timeout: float = 30
) -> list[tuple[str, str]]:
    """The ``limit`` newest tags (by creation date) as (name, commit), tags of other
    objects left out; with ``merged`` (a full commit id), only tags reachable from it."""
    only = [f"--merged={_check_object_id(merged, what='commit')}"] if merged else []
    result = _run_in_mirror(
        mirror,
        ["for-each-ref", "--sort=-creatordate", f"--count={int(limit) * 2}", *only,
         "--format=%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objectname)",
         "--end-of-options", "refs/tags/"],
        timeout=timeout, action="Listing tags",
    )  # fmt: skip
    tags = []
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\0")
        if len(parts) != 4:
            continue
        name, kind, sha, peeled = parts
        commit = sha if kind == "commit" else peeled
        if _SHA_RE.match(commit or ""):
            tags.append((name, commit))
    return tags[:limit]


def list_tree(mirror: Path, commit: str, *, timeout: float = 60) -> list[TreeEntry]:
    """Every file of ``commit`` (recursively, in git's order), with sizes and modes.

    Submodules are listed as kind "commit" with size None; their contents are
    not in this repository and are never fetched. Raises InvalidRef, RefNotFound,
    GitTimeout or VcsError.
    """
    _check_object_id(commit, what="commit")
    result = _run_in_mirror(
        mirror,
        ["ls-tree", "-r", "-l", "-z", "--full-tree", commit],
        timeout=timeout,
        action=f"Listing the files of {commit}",
    )
    if result.returncode != 0:
        raise RefNotFound(f"Commit {commit} is not in this repository: {_describe_failure(result)}")
    out = result.stdout
    records = _LS_TREE_RECORD.findall(out)
    if len(records) != out.count(b"\0"):  # a record the pattern did not read
        raise VcsError("git ls-tree printed a line that could not be read.")
    entries: list[TreeEntry] = []
    append = entries.append
    for mode, kind, sha, size, raw_path in records:
        # -r without -t never lists trees; skip anything unexpected.
        if kind == b"blob":
            path = raw_path.decode("utf-8", "surrogateescape")
            append(TreeEntry(path, mode.decode(), "blob", sha.decode(), int(size),
                             mode == b"120000", mode == b"100755"))  # fmt: skip
        elif kind == b"commit":
            path = raw_path.decode("utf-8", "surrogateescape")
            append(TreeEntry(path, mode.decode(), "commit", sha.decode(), None, False, False))
    return entries


def changed_paths(
    mirror: Path, old_commit: str, new_commit: str, *, timeout: float = 60
) -> list[str]:
    """Paths added, modified, deleted or changed in type between two commits.

    Renames are reported as a deletion plus an addition (both paths listed), so
    a scanner that rescans the returned paths misses nothing. Paths are decoded
    like list_tree's. Raises InvalidRef, RefNotFound, GitTimeout or VcsError.
    """
    _check_object_id(old_commit, what="old_commit")
    _check_object_id(new_commit, what="new_commit")
    result = _run_in_mirror(
        mirror,
        ["diff-tree", "-r", "-z", "--name-only", "--no-renames", old_commit, new_commit],
        timeout=timeout,
        action=f"Comparing {old_commit} and {new_commit}",
    )
    if result.returncode != 0:
        raise RefNotFound(f"Could not compare the commits: {_describe_failure(result)}")
    return [raw.decode("utf-8", "surrogateescape") for raw in result.stdout.split(b"\0") if raw]


# --------------------------------------------------------------------------- blobs


class BlobReader:
    """Read many blobs through ONE ``git cat-file --batch`` process.

    Use as a context manager; leaving it kills git's process group. Each
    ``read()`` is one request/response on git's pipes, read with exact sizes
    from a buffered reader, so thousands of small files cost no process starts.

    ``deadline`` is a ``time.monotonic()`` value: once it passes, reads raise
    LimitExceeded(limit="time"), and a watchdog kills git so even a read that
    is already waiting on git returns. After any error that could leave the
    pipe half-read, the reader closes itself and further reads raise VcsError.
    """

    def __init__(self, mirror: Path, *, max_blob_bytes: int, deadline: float | None = None) -> None:
        if not isinstance(max_blob_bytes, int) or max_blob_bytes < 0:
            raise ValueError("max_blob_bytes must be a non-negative integer")
        self._max_blob_bytes = max_blob_bytes
        self._deadline = deadline
        self._proc: subprocess.Popen[bytes] | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()  # orders the watchdog's kill against close()
        self._closed = False
        self._discard = memoryview(bytearray(_DISCARD_CHUNK_BYTES))
        self._check_deadline()

        mirror = Path(mirror)
        if not mirror.is_dir():
            raise VcsError(f"No repository mirror at {mirror}.")
        command, env = _git_command([*_git_dir_args(mirror), "cat-file", "--batch"])
        # stderr goes to a file, not a pipe: nobody reads it while blobs stream,
        # and a full stderr pipe would stall git.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        try:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
                cwd=mirror,
                close_fds=True,
                start_new_session=True,
                bufsize=_PIPE_BUFFER_BYTES,
            )
        except OSError as exc:
            self._stderr.close()
            raise VcsError("git could not be started on this server.") from exc
        if deadline is not None:
            self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
            self._timer.daemon = True
            self._timer.start()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def read(self, sha: str) -> bytes | None:
        """The contents of blob ``sha``, or None if it is larger than ``max_blob_bytes``.

        An oversized blob is skipped by reading it in fixed-size chunks into a
        reused buffer, never held in memory whole. Raises InvalidRef for a
        malformed id, VcsError for an object that is missing or not a blob (the
        reader stays usable), LimitExceeded(limit="time") after the deadline.
        """
        _check_object_id(sha, what="blob id")
        self._send([sha])
        try:
            return self._receive(sha)
        except _ObjectMissing as exc:
            raise VcsError(str(exc)) from None  # the stream is still in step

    def read_many(self, shas: Iterable[str]) -> Iterator[tuple[str, bytes | None]]:
        """Yield ``(sha, read(sha))`` for each sha, with requests sent ahead in batches.

        Sending a batch of requests before reading the answers lets git work
        while Python parses, instead of waiting for each other once per blob.
        At most PIPE_BUF bytes of requests are ever unanswered, and git has read
        every earlier request before the next batch is written, so the write
        can never block on a full pipe (no deadlock, no thread). If iteration
        stops early or raises, answers are left unread, so the reader closes.
        """
        pending = iter(shas)
        while batch := list(itertools.islice(pending, _BATCH_SIZE)):
            for sha in batch:
                _check_object_id(sha, what="blob id")
            self._send(batch)
            answered = 0
            try:
                for sha in batch:
                    try:
                        data = self._receive(sha)
                    except _ObjectMissing as exc:
                        raise VcsError(str(exc)) from None
                    answered += 1
                    yield sha, data
            finally:
                if answered < len(batch):
                    self.close()

    def close(self) -> None:
        """Kill git's process group and release the pipes; safe to call twice."""
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            proc = self._proc
            if proc is not None:
                _kill_process_group(proc)
        if proc is not None:
            proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
            self._stderr.close()

    # ------------------------------------------------------------------ internals

    def _send(self, shas: list[str]) -> None:
        self._check_deadline()
        if self._closed or self._proc is None:
            raise VcsError("The blob reader is closed.")
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            stdin.write(b"".join(sha.encode("ascii") + b"\n" for sha in shas))
            stdin.flush()
        except BrokenPipeError:
            error = self._stream_error()  # before close(): it reads git's stderr
            self.close()
            raise error from None
        except BaseException:
            self.close()
            raise

    def _receive(self, sha: str) -> bytes | None:
        """Read git's answer for ``sha``; _ObjectMissing leaves the stream in step."""
        stdout = self._proc.stdout  # type: ignore[union-attr]
        assert stdout is not None
        try:
            header = stdout.readline(_MAX_HEADER_BYTES)
            if header == f"{sha} missing\n".encode("ascii"):
                raise _ObjectMissing(f"Object {sha} is not in this repository.")
            match = _HEADER_RE.match(header)
            if match is None or match.group(1) != sha.encode("ascii"):
                raise self._stream_error()
            kind, size = match.group(2), int(match.group(3))
            if kind != b"blob" or size > self._max_blob_bytes:
                self._skip(size + 1)  # contents and the LF after them
                if kind != b"blob":
                    raise _ObjectMissing(f"Object {sha} is a {kind.decode()}, not a file.")
                return None
            data = stdout.read(size)
            if len(data) != size or stdout.read(1) != b"\n":
                raise self._stream_error()
            return data
        except _ObjectMissing:
            raise
        except BaseException:
            self.close()  # the pipe may be half-read: never reuse it
            raise

    def _check_deadline(self) -> None:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            raise LimitExceeded("Reading the repository took longer than allowed.", limit="time")

    def _expire(self) -> None:
        with self._lock:
            if not self._closed and self._proc is not None:
                _kill_process_group(self._proc)

    def _skip(self, count: int) -> None:
        stdout = self._proc.stdout  # type: ignore[union-attr]
        assert stdout is not None
        while count:
            self._check_deadline()
            got = stdout.readinto(self._discard[: min(count, _DISCARD_CHUNK_BYTES)])
            if not got:
                raise self._stream_error()
            count -= got

    def _stream_error(self) -> VcsError:
        """The error for output that ended early or made no sense."""
        self._check_deadline()  # the watchdog killed git: report the deadline
        detail = ""
        proc = self._proc
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)  # git closed its output, so it is exiting
        if proc is not None and proc.returncode is not None and not self._stderr.closed:
            self._stderr.seek(0)
            stderr = self._stderr.read(4096)
            detail = ": " + _describe_failure(
                subprocess.CompletedProcess(proc.args, proc.returncode, b"", stderr)
            )
        return VcsError(f"git cat-file stopped answering{detail}")


class _ObjectMissing(Exception):
    """Internal: a per-object error after which the stream is still in step."""


def stream_blob(
    mirror: Path,
    sha: str,
    *,
    chunk_bytes: int = 1 << 20,
    overlap_lines: int = 20,
    deadline: float | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(first line number, chunk)`` pieces of blob ``sha``, for a file too large to
    hold whole: each chunk ends at a line break (a line longer than ``chunk_bytes`` is cut
    there), and repeats the last ``overlap_lines`` lines of the one before, so a finding
    that spans a few lines is seen whole in one of them. Memory stays at about two chunks
    whatever the blob's size. Raises LimitExceeded(limit="time") after ``deadline``
    (git is killed), VcsError when git cannot read the blob."""
    _check_object_id(sha, what="blob id")
    if chunk_bytes < 1024 or overlap_lines < 0:
        raise ValueError("chunk_bytes must be at least 1024; overlap_lines non-negative")
    command, env = _git_command([*_git_dir_args(Path(mirror)), "cat-file", "blob", sha])
    proc = subprocess.Popen(  # noqa: S603 - argv built from checked parts, no shell
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=env, cwd=mirror, close_fds=True, start_new_session=True,
    )  # fmt: skip
    timer = None
    if deadline is not None:
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), _kill_process_group, [proc])
        timer.daemon = True
        timer.start()
    try:
        assert proc.stdout is not None
        overlap, rest, line = b"", b"", 1  # ``overlap`` starts at line ``line``
        while True:
            block = proc.stdout.read(chunk_bytes)
            if deadline is not None and time.monotonic() >= deadline:
                raise LimitExceeded("Reading a large file took longer than allowed.", limit="time")
            if not block:
                if rest:
                    yield line, overlap + rest
                break
            data = overlap + rest + block
            cut = data.rfind(b"\n") + 1 or len(data)
            chunk, rest = data[:cut], data[cut:]
            yield line, chunk
            if chunk.endswith(b"\n"):
                complete = chunk[:-1].split(b"\n")
                tail = complete[-overlap_lines:] if overlap_lines else []
                overlap = b"".join(t + b"\n" for t in tail)
                if len(overlap) > chunk_bytes // 4:  # long lines: no room to repeat them
                    tail, overlap = [], b""
                line += len(complete) - len(tail)
            else:  # one line longer than a chunk, cut: the rest continues on the same line
                overlap = b""
        if proc.wait() != 0:
            raise VcsError(f"git could not read blob {sha}.")
    finally:
        if timer is not None:
            timer.cancel()
        _kill_process_group(proc)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def read_blobs(
    mirror: Path,
    shas: Iterable[str],
    *,
    max_blob_bytes: int,
    deadline: float | None = None,
) -> Iterator[tuple[str, bytes | None]]:
    """Yield ``(sha, contents or None)`` for each sha, through one BlobReader.

    The git process lives as long as the iteration: it is killed when the
    generator is exhausted, closed or garbage-collected.
    """
    with BlobReader(mirror, max_blob_bytes=max_blob_bytes, deadline=deadline) as reader:
        yield from reader.read_many(shas)
