"""Who may see and rotate a repository's push hook: plain predicates."""

from governance.models import Repository
from governance.repositories import holder_of
from governance.rules import is_owner


def can_manage_hook(user, repository: Repository) -> bool:
    """The owners of the component holding the repository, and the open-source office.
    A repository no component holds is the office's alone."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    holder = holder_of(repository)
    return holder is not None and is_owner(user, holder[0])
