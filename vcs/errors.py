"""Exceptions raised by the vcs package.

Every message is written for the person who typed the URL or branch: it never
contains credentials, environment details or raw git output beyond one short,
sanitised line. Callers can therefore show ``str(err)`` directly in a form.
"""

from __future__ import annotations

__all__ = [
    "BranchNotFound",
    "GitTimeout",
    "InvalidRef",
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


class GitTimeout(RepositoryUnreachable):
    """git did not finish in time; a subclass so callers can treat it as unreachable."""
