from tests.releases.conftest import (  # noqa: F401
    _sync_dir,
    approved,
    external,
    policy,
    ready,
)
