"""The only code in Gatehouse that runs git.

Everything that needs a repository goes through this package so that URL and
branch validation and the hardened git environment live in exactly one place.
"""

from vcs.errors import (
    BranchNotFound,
    GitTimeout,
    InvalidRef,
    RepositoryUnreachable,
    UnsafeURL,
    VcsError,
)
from vcs.git import git_env, ls_remote_branch, validate_branch, validate_url

__all__ = [
    "BranchNotFound",
    "GitTimeout",
    "InvalidRef",
    "RepositoryUnreachable",
    "UnsafeURL",
    "VcsError",
    "git_env",
    "ls_remote_branch",
    "validate_branch",
    "validate_url",
]
