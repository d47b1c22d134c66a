"""What every detector shares: the finding it reports and the policy it reads.

Plain Python, no Django: the engine runs detectors over blobs read straight from git, and
caches their findings per (blob SHA, file name, detector version, policy version). So a
detector sees only a blob's bytes and its file name (never the path's folders, never the
repository), and its result must depend on nothing else. Whatever depends on where a file
sits (the Open Core boundary: open or internal scope) is decided by the engine afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Protocol


class Kind:
    LICENSE = "license"
    COPYRIGHT = "copyright"
    SECRET = "secret"
    INTERNAL_REF = "internal_ref"
    HYGIENE = "hygiene"
    DEPENDENCY = "dependency"


class Severity:
    INFO = "info"
    WARNING = "warning"
    BLOCKING = "blocking"


@dataclass(frozen=True)
class Finding:
    """One thing a detector noticed in one blob.

    ``line`` is 1-based (0 for a finding about the whole file). ``excerpt`` is safe to
    show and store: for a secret it is a redacted preview, never the value. ``identity``
    is what makes two findings the same one across line moves (for a secret, a hash of
    the value; for a license, the SPDX id), from which the engine builds a fingerprint.
    """

    kind: str
    rule: str
    severity: str
    line: int
    message: str
    excerpt: str = ""
    identity: str = ""
    license: str | None = None
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, "")}


@dataclass(frozen=True)
class Policy:
    """The company's policy, as detectors read it (loaded from YAML or the database)."""

    internal_domains: Sequence[str] = ()
    internal_packages: Sequence[str] = ()
    internal_email_domains: Sequence[str] = ()
    internal_patterns: Sequence[str] = ()
    licenses_allowed: Sequence[str] = ()
    licenses_denied: Sequence[str] = ()
    #: Dependency names the company will not publish against: ``name`` (any ecosystem) or
    #: ``ecosystem:name`` (``npm:left-pad``, ``pypi:pycrypto``, ``maven:group:artifact``);
    #: see scans.detectors.dependencies.DenyList for how names are compared.
    dependencies_denied: Sequence[str] = ()
    #: Whole ecosystems denied ("npm"): every dependency declared in one is denied.
    dependency_ecosystems_denied: Sequence[str] = ()
    #: The severity of a secret in a test or test resource that is not in a provider's own
    #: format (a made-up password, a test TLS key): "warning" unless the policy says.
    fixture_severity: str = "warning"

    @cached_property  # computed once per policy: the engine keys every blob with it
    def version(self) -> str:
        """A short hash of the content: cached results made under another policy are stale."""
        payload = json.dumps(
            {k: sorted(v) if not isinstance(v, str) else v for k, v in asdict(self).items()},
            sort_keys=True,
        ).encode()
        return hashlib.sha256(payload).hexdigest()[:16]


class Detector(Protocol):
    """A detector: a kind, a version (bump it when results would change), and a scan."""

    kind: str
    version: str

    def scan(self, data: bytes, *, filename: str, policy: Policy) -> list[Finding]: ...
