"""Semantic versions (https://semver.org), parsed and ordered. Plain Python."""

from __future__ import annotations

import re
from functools import total_ordering

# re.ASCII: \d is 0-9 only (not other scripts' digits); fullmatch: no trailing newline.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)
MAX_LENGTH = 64


@total_ordering
class Version:
    """A parsed semantic version. Build metadata is kept but ignored in comparisons;
    a pre-release sorts before its release (1.0.0-rc.1 < 1.0.0)."""

    def __init__(self, text: str):
        match = _SEMVER.fullmatch(text) if len(text) <= MAX_LENGTH else None
        if not match:
            raise ValueError(
                f"{text[:80]!r} is not a semantic version of at most {MAX_LENGTH} characters "
                "(MAJOR.MINOR.PATCH, e.g. 1.4.0 or 2.0.0-rc.1)."
            )
        self.text = text
        self.core = tuple(int(match.group(i)) for i in (1, 2, 3))
        self.pre = tuple(match.group(4).split(".")) if match.group(4) else ()

    def _key(self):
        # Numeric identifiers sort numerically and below alphanumeric ones.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        return (self.core, not self.pre, pre)

    def __eq__(self, other):
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other):
        return self._key() < other._key()

    def __hash__(self):
        return hash(self._key())

    def __str__(self):
        return self.text
