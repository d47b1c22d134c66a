"""SecretsDetector on hostile input: text built so that a careless pattern backtracks
without end (a run re-split every way, a long line re-read per candidate). Each blob must
be scanned in a bounded time; the bound here is hundreds of times what the scan takes, so
only a return of exponential or quadratic work can trip it.

Each scan runs in a child process that is killed at the bound: a regex stuck in C holds
the interpreter lock, so a thread could not time it out. The child is spawned, not
forked: a fork of the test process (its threads, its locks) can hang before it scans.
"""

from __future__ import annotations

import multiprocessing

import pytest

from scans.detectors.base import Policy
from scans.detectors.secrets import SecretsDetector

_BOUND_SECONDS = 30


def _scan(text: str, filename: str) -> None:
    SecretsDetector().scan(text.encode(), filename=filename, policy=Policy())


HOSTILE = {
    # a URL password of a stand-in word and a long run of digits, then a character that
    # fails the match: 2**n ways to re-split the digits
    "url-stand-in-digits": ("db.py", "url = 'postgres://app:changeme" + "1" * 60 + "?@db/x'\n"),
    "url-stand-in-x": ("db.py", "url = 'postgres://app:" + "x" * 5000 + "?@db/x'\n"),
    # a key block whose lines end in a long run of wrapping characters, then a letter
    "key-wrapping-run": (
        "key.py",
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + ("# " + " " * 20000 + "a\n") * 3
        + "-----END RSA PRIVATE KEY-----\n",
    ),
    "key-base64-run": (
        "key.py",
        "-----BEGIN RSA PRIVATE KEY-----\n"
        + ("# " + "A" * 20000 + "!\n") * 3
        + "-----END RSA PRIVATE KEY-----\n",
    ),
    # a value given a name ending in key, of word pieces and then a character that ends no
    # piece: every way to cut the letters into pieces was tried
    "key-value-of-word-pieces": (
        "a.go",
        'validKey = "SharedAccessSignaturekeykeykeykeykeyservice_accountpassglpat-Xy7kq9Xy7kq9"\n',
    ),
    # one line holding thousands of identical assignments (a minified bundle)
    "long-line-of-assignments": ("bundle.js", '"password": "Xy7!kq9#", ' * 40000),
    "long-line-of-keywords": ("bundle.js", "pass=" * 100000),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_text_is_scanned_in_bounded_time(case):
    filename, text = HOSTILE[case]
    child = multiprocessing.get_context("spawn").Process(target=_scan, args=(text, filename))
    child.start()
    child.join(_BOUND_SECONDS)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"{case}: the scan did not finish in {_BOUND_SECONDS} s")
    assert child.exitcode == 0


def test_a_long_line_of_one_password_is_one_finding_with_its_count():
    text = '"password": "Xy7!kq9#", ' * 5000
    findings = SecretsDetector().scan(text.encode(), filename="bundle.js", policy=Policy())
    assert len(findings) == 1
    assert findings[0].data["count"] == 5000
