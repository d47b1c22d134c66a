"""Exceptions raised by the vcs package.

Every message is written for the person who typed the URL or branch: it never
contains credentials, environment details or raw git output beyond one short,
sanitised line. Callers can therefore show ``str(err)`` directly in a form.
"""

from __future__ import annotations

import functools

__all__ = [
    "BranchNotFound",
    "GitTimeout",
    "InvalidRef",
    "LimitExceeded",
    "PathNotFound",
    "PushRejected",
    "RefNotFound",
    "RepositoryUnreachable",
    "UnsafeURL",
    "VcsError",
]


class VcsError(Exception):
    """Base class; ``str(err)`` is a message that is safe to show a user."""


class UnsafeURL(VcsError):
    """The repository URL was refused before any git process started."""


class InvalidRef(VcsError):
    """The branch name is not one git (or we) would accept."""


class BranchNotFound(VcsError):
    """The remote answered, but it has no branch with that exact name."""


class RepositoryUnreachable(VcsError):
    """git could not read the remote: missing path, not a repository, network, auth."""

    #: git's own words, for logs and for the caller's decisions; never shown to a user.
    detail: str = ""


class GitTimeout(RepositoryUnreachable):
    """git did not finish in time; a subclass so callers can treat it as unreachable."""


class RefNotFound(VcsError):
    """The local mirror has no branch, tag or commit by that name (or it is not a commit)."""


class PathNotFound(VcsError):
    """A path asked for is not in the commit's tree."""


class PushRejected(VcsError):
    """The remote refused the push (non-fast-forward, tag exists, hook declined, ...).

    Nothing was updated at the remote (pushes are atomic where the server can).
    """


class LimitExceeded(VcsError):
    """A configured limit was hit; ``limit`` names it ("repository_size" or "time").

    Not a failure of git or of the repository: the caller decides whether to
    report it, retry with a larger limit, or skip the work.
    """

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Exceptions are rebuilt as cls(*args) when unpickled (e.g. by a task
        # queue); keep the keyword-only ``limit`` across that trip.
        return functools.partial(type(self), limit=self.limit), self.args
