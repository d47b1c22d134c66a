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
    PathNotFound,
    PushRejected,
    RefNotFound,
    RepositoryUnreachable,
    UnsafeURL,
    VcsError,
)
from vcs.export import (
    ApplyResult,
    CommitInfo,
    Identity,
    apply_commit_onto,
    build_export_tree,
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
from vcs.git import git_env, validate_branch, validate_url
from vcs.mirror import mirror_dir_for, mirror_update
from vcs.remote import (
    Credentials,
    check_egress,
    ls_remote_branch,
    normalize_url,
)
from vcs.tree import (
    BlobReader,
    TreeEntry,
    changed_paths,
    list_tree,
    read_blobs,
    resolve_commitish,
    resolve_ref,
    stream_blob,
)

__all__ = [
    "ApplyResult",
    "BlobReader",
    "BranchNotFound",
    "CommitInfo",
    "Credentials",
    "GitTimeout",
    "Identity",
    "InvalidRef",
    "LimitExceeded",
    "PathNotFound",
    "PushRejected",
    "RefNotFound",
    "RepositoryUnreachable",
    "TreeEntry",
    "UnsafeURL",
    "VcsError",
    "apply_commit_onto",
    "build_export_tree",
    "changed_paths",
    "check_egress",
    "commit_tree",
    "create_tag",
    "git_env",
    "list_refs",
    "list_tree",
    "log",
    "ls_remote_branch",
    "mirror_dir_for",
    "mirror_update",
    "normalize_url",
    "push",
    "read_blobs",
    "ref_commit",
    "resolve_commitish",
    "resolve_ref",
    "stream_blob",
    "tree_of",
    "validate_branch",
    "validate_url",
    "workspace_lock",
    "workspace_update",
]
