"""Local bare mirrors of remote repositories: the only copy a scanner ever reads.

A mirror is a bare repository (no working tree), so nothing in the repository
is ever written to disk as a file: symlinks are never followed, submodules are
never fetched and no checkout filter, hook or attribute runs. One exclusive
lock per mirror means two fetches of the same repository never overlap; reads
(vcs.tree) do not take the lock, because git keeps a repository readable
while it is being fetched into.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from vcs.errors import GitTimeout, LimitExceeded, RepositoryUnreachable, VcsError
from vcs.git import _check_timeout, _describe_failure, _run_git
from vcs.remote import FETCH, Credentials, Resolver, remote_env, unreachable

log = logging.getLogger(__name__)

__all__ = ["mirror_dir_for", "mirror_update"]

#: Only branches and tags: never refs/pull/*, refs/changes/*, notes or stashes,
#: which can be far larger than the code and are not what anyone scans.
_FETCH_REFSPECS: tuple[str, ...] = ("+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")

#: Added to the shared hardening for clone and fetch. Submodules are off twice
#: (config and flag). Automatic gc stays on, so mirrors do not pile up loose
#: objects, but in the foreground: a detached gc would call setsid(), escape the
#: process group we kill on timeout and keep writing after the lock is released.
_MIRROR_CONFIG: tuple[str, ...] = (
    "submodule.recurse=false",
    "fetch.recurseSubmodules=false",
    "gc.autoDetach=false",
    "maintenance.autoDetach=false",
)

_LOCK_POLL_SECONDS = 0.05


def mirror_dir_for(base: Path, url: str) -> Path:
    """The folder under ``base`` that holds the mirror of ``url``: ``<sha256[:24]>.git``.

    Deterministic and free of user text, so a URL can never choose the path.
    """
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    return Path(base) / f"{digest}.git"


def mirror_update(
    url: str,
    mirror_dir: Path,
    *,
    allow: Sequence[str],
    timeout: float = 300,
    max_size_bytes: int | None = None,
    credentials: Credentials | None = None,
    resolver: Resolver | None = None,
) -> Path:
    """Create or refresh the bare mirror of ``url`` in ``mirror_dir`` and return its path.

    The first call clones into a temporary folder next to ``mirror_dir`` and
    renames it into place, so a half-finished clone is never mistaken for a
    mirror; later calls fetch branches and tags with ``--prune`` (force-pushes
    and deleted branches are followed). ``timeout`` covers the whole call,
    including waiting for another update of the same mirror to finish.

    If the mirror is larger than ``max_size_bytes`` afterwards, LimitExceeded
    (``limit="repository_size"``) is raised and the mirror is left in place for
    the caller to keep or delete. Idempotent. ``credentials`` may supply a
    header for ``url`` (see vcs.remote). Raises UnsafeURL (before any process or
    file is created), RepositoryUnreachable (GitTimeout on a time-out; the
    message is the same), LimitExceeded or VcsError.
    """
    env = remote_env(url, allow, purpose=FETCH, credentials=credentials, resolver=resolver)
    _check_timeout(timeout)
    if max_size_bytes is not None and (not isinstance(max_size_bytes, int) or max_size_bytes < 0):
        raise ValueError("max_size_bytes must be a non-negative integer or None")
    deadline = time.monotonic() + timeout
    mirror_dir = Path(os.path.abspath(mirror_dir))
    mirror_dir.parent.mkdir(parents=True, exist_ok=True)

    busy = f"Another update of {url} was still running; gave up waiting."
    with _exclusive_lock(mirror_dir.with_suffix(".lock"), deadline=deadline, busy=busy):
        _remove_stale_clones(mirror_dir)
        if mirror_dir.exists():
            if not (mirror_dir / "HEAD").is_file() or not (mirror_dir / "objects").is_dir():
                raise VcsError(f"{mirror_dir} exists but is not a repository mirror.")
            _fetch(url, mirror_dir, deadline=deadline, timeout=timeout, env=env)
        else:
            _clone(url, mirror_dir, deadline=deadline, timeout=timeout, env=env)

        if max_size_bytes is not None:
            size = _disk_usage(mirror_dir)
            if size > max_size_bytes:
                raise LimitExceeded(
                    f"The repository at {url} takes {_mebibytes(size)} on disk, "
                    f"more than the limit of {_mebibytes(max_size_bytes)}.",
                    limit="repository_size",
                )
    return mirror_dir


# --------------------------------------------------------------------------- internals


@contextlib.contextmanager
def _exclusive_lock(path: Path, *, deadline: float, busy: str, wait: bool = True) -> Iterator[bool]:
    """Hold an flock on ``path`` until the block ends; yields True once held.

    Waits until ``deadline`` and then raises GitTimeout(``busy``); with ``wait=False``
    it yields False at once if someone else holds the lock. flock locks belong to the
    open file description, so two threads of one process exclude each other as well
    as two worker processes do. The lock file is never deleted: unlinking a lock file
    lets a third party lock a new inode while the old one is still held.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    yield False
                    return
                if time.monotonic() >= deadline:
                    raise GitTimeout(busy) from None
                time.sleep(_LOCK_POLL_SECONDS)
        yield True
    finally:
        os.close(fd)  # releases the lock


def _temp_prefix(mirror_dir: Path) -> str:
    return f".{mirror_dir.name}.tmp-"


def _remove_stale_clones(mirror_dir: Path) -> None:
    """Delete temporary clones a killed worker left behind (safe: we hold the lock)."""
    prefix = _temp_prefix(mirror_dir)
    for leftover in mirror_dir.parent.glob(f"{prefix}*"):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)


def _remaining(deadline: float, url: str, timeout: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise unreachable(url, f"fetch timed out after {timeout:g} s", timed_out=True)
    return left


def _mirror_git(
    args: Sequence[str],
    *,
    url: str,
    deadline: float,
    timeout: float,
    env: dict[str, str],
    cwd: Path | None = None,
) -> None:
    command: list[str] = []
    for item in _MIRROR_CONFIG:
        command += ["-c", item]
    command += list(args)
    try:
        result = _run_git(command, timeout=_remaining(deadline, url, timeout), cwd=cwd, env=env)
    except GitTimeout:
        raise unreachable(url, f"fetch timed out after {timeout:g} s", timed_out=True) from None
    if result.returncode != 0:
        raise unreachable(url, _describe_failure(result))


def _clone(
    url: str, mirror_dir: Path, *, deadline: float, timeout: float, env: dict[str, str]
) -> None:
    if url.startswith("file://"):
        # A repository on this machine (already checked against the allow-list by its
        # real path): its object files are copied, not repacked through the pack
        # protocol, which for a large repository took most of a first scan's start.
        # Copied, never hardlinked: the mirror shares no inode with the source.
        source = os.path.realpath(url[len("file://") :])
        try:
            return _clone_into(mirror_dir, source, ["--local", "--no-hardlinks"],
                               url=url, deadline=deadline, timeout=timeout, env=env)  # fmt: skip
        except RepositoryUnreachable as exc:
            if isinstance(exc, GitTimeout) or _LOCAL_REFUSED in exc.detail:
                raise  # out of time, or a symlink in the source's objects: never read it
            # The source changed under the copy (its own gc packed and pruned loose
            # objects): the pack protocol reads through git's object lookup instead.
            log.info("local copy of %s failed (%s); cloning through git instead", url, exc)
    _clone_into(mirror_dir, url, ["--no-local"] if url.startswith("file://") else [],
                url=url, deadline=deadline, timeout=timeout, env=env)  # fmt: skip


#: What git says when a local clone meets a symlink among the source's objects.
_LOCAL_REFUSED = "refusing to clone with --local"


def _clone_into(
    mirror_dir: Path, source: str, options: list[str], *, url: str, deadline: float,
    timeout: float, env: dict[str, str],
) -> None:  # fmt: skip
    temp = Path(tempfile.mkdtemp(prefix=_temp_prefix(mirror_dir), dir=mirror_dir.parent))
    try:
        # --template= : no sample hooks or info/ files copied from the system.
        _mirror_git(
            ["clone", "--bare", *options, "--no-recurse-submodules", "--template=", "--quiet",
             "--", source, str(temp)],
            url=url, deadline=deadline, timeout=timeout, env=env,
        )  # fmt: skip
        os.rename(temp, mirror_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _fetch(
    url: str, mirror_dir: Path, *, deadline: float, timeout: float, env: dict[str, str]
) -> None:
    # The validated URL is passed every time instead of a configured remote, so
    # what git contacts is always what validate_url approved just now.
    _mirror_git(
        [
            f"--git-dir={mirror_dir}",
            "fetch",
            "--prune",
            "--no-recurse-submodules",
            "--quiet",
            "--",
            url,
            *_FETCH_REFSPECS,
        ],
        url=url,
        deadline=deadline,
        timeout=timeout,
        env=env,
        cwd=mirror_dir,
    )


def _disk_usage(folder: Path) -> int:
    """Sum of the sizes of the regular files under ``folder`` (symlinks are not followed)."""
    total = 0
    stack = [os.fspath(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
    return total


def _mebibytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"
