"""The only code in Gatehouse that runs git.

Everything that needs a repository goes through this package so that URL and
branch validation and the hardened git environment live in exactly one place.
Remote repositories are read through local bare mirrors (vcs.mirror) and
never checked out (vcs.tree).
"""

from vcs.errors import (
    BranchNotFound,
    GitTimeout,
    InvalidRef,
    LimitExceeded,
    RefNotFound,
    RepositoryUnreachable,
    UnsafeURL,
    VcsError,
)
from vcs.git import git_env, ls_remote_branch, validate_branch, validate_url
from vcs.mirror import mirror_dir_for, mirror_update
from vcs.tree import (
    BlobReader,
    TreeEntry,
    changed_paths,
    list_tree,
    read_blobs,
    resolve_ref,
)

__all__ = [
    "BlobReader",
    "BranchNotFound",
    "GitTimeout",
    "InvalidRef",
    "LimitExceeded",
    "RefNotFound",
    "RepositoryUnreachable",
    "TreeEntry",
    "UnsafeURL",
    "VcsError",
    "changed_paths",
    "git_env",
    "list_tree",
    "ls_remote_branch",
    "mirror_dir_for",
    "mirror_update",
    "read_blobs",
    "resolve_ref",
    "validate_branch",
    "validate_url",
]
