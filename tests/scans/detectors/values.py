"""Credential-shaped values for the detector tests, drawn from a seeded random source with
each format's alphabet and length: nothing made here is a real credential, and a test file
gets the same values on every run."""

from __future__ import annotations

import base64
import random
import string
import uuid

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"
_KINDS = (str.isdigit, str.islower, str.isupper)


class Values:
    """One test file's source of values. ``mixed_from``: from this length on, a value holds
    every kind of character (lower, upper, digit) its alphabet has, as generated keys do."""

    def __init__(self, seed: int, *, mixed_from: int = 8):
        self.random = random.Random(seed)
        self._mixed_from = mixed_from

    def rand(self, n: int, alphabet: str = ALNUM) -> str:
        wanted = [kind for kind in _KINDS if any(kind(c) for c in alphabet)]
        while True:
            value = "".join(self.random.choice(alphabet) for _ in range(n))
            if n < self._mixed_from or all(any(kind(c) for c in value) for kind in wanted):
                return value

    def letters(self, n: int) -> str:
        return "".join(self.random.choice(string.ascii_letters) for _ in range(n))

    def digits(self, n: int) -> str:
        return str(self.random.randint(10 ** (n - 1), 10**n - 1))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
