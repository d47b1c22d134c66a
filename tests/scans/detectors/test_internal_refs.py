"""InternalRefsDetector: hosts, e-mail addresses, package namespaces and the policy's own
patterns; look-alikes and public names that must not match; policy errors."""

# Tables of realistic lines read best unwrapped.
# ruff: noqa: E501

from __future__ import annotations

import re

import pytest

from scans.detectors.base import Kind, Policy, Severity
from scans.detectors.internal_refs import InternalRefsDetector
from tests.scans.detectors import corpus

POLICY = Policy(
    internal_domains=("corp.example-internal.net", "build.acme.local"),
    internal_email_domains=("example-mail.com",),
    internal_packages=(
        "com.example.internal",
        "@example-internal",
        "@acme/secret-sauce",
        "example_internal",
        "git.corp.example-internal.net/platform/go-kit",
    ),
    internal_patterns=(r"EXJIRA-\d+", r"(?i)\bsec-incident-\d{4}\b"),
)


def scan(text: str, policy: Policy = POLICY, filename: str = "file.txt") -> list:
    return InternalRefsDetector().scan(text.encode(), filename=filename, policy=policy)


@pytest.mark.parametrize(
    ("rule", "text", "reference"),
    [
        # hosts under an internal domain, in URLs, bare, with ports, any case
        ("internal-domain", 'url = "https://wiki.corp.example-internal.net/display/OPS"', "wiki.corp.example-internal.net"),
        ("internal-domain", "proxy: corp.example-internal.net:3128", "corp.example-internal.net"),
        ("internal-domain", "# dashboards at grafana.ops.corp.example-internal.net.", "grafana.ops.corp.example-internal.net"),
        ("internal-domain", "DB_HOST=db01.build.acme.local", "db01.build.acme.local"),
        ("internal-domain", "<url>https://NEXUS.Corp.Example-Internal.NET/repo</url>", "NEXUS.Corp.Example-Internal.NET"),
        ("internal-domain", "git clone git@git.corp.example-internal.net:team/app.git", "git.corp.example-internal.net"),
        # e-mail addresses at internal domains and internal e-mail domains
        ("internal-email", "# Maintainer: jane.doe@example-mail.com", "jane.doe@example-mail.com"),
        ("internal-email", '  "author": "Ops <ops+alerts@corp.example-internal.net>",', "ops+alerts@corp.example-internal.net"),
        ("internal-email", "mailto:b.smith@eu.example-mail.com", "b.smith@eu.example-mail.com"),
        ("internal-email", "Reviewed-by: jane@example-mail.com: looks good", "jane@example-mail.com"),
        # package namespaces: Java, Maven, paths, npm, Python, Go
        ("internal-package", "import com.example.internal.billing.InvoiceService;", "com.example.internal.billing.InvoiceService"),
        ("internal-package", "package com.example.internal;", "com.example.internal"),
        ("internal-package", "import static com.example.internal.Util.*;", "com.example.internal.Util"),
        ("internal-package", "    <groupId>com.example.internal.platform</groupId>", "com.example.internal.platform"),
        ("internal-package", "src/main/java/com/example/internal/Billing.java", "com/example/internal/Billing.java"),
        ("internal-package", '    "@example-internal/design-system": "^2.1.0",', "@example-internal/design-system"),
        ("internal-package", "import { login } from '@example-internal/auth/client';", "@example-internal/auth"),
        ("internal-package", 'const sauce = require("@acme/secret-sauce");', "@acme/secret-sauce"),
        ("internal-package", "from example_internal.db import session", "example_internal.db"),
        ("internal-package", "import example_internal", "example_internal"),
        ("internal-package", "example-internal==3.2.1", "example-internal"),
        ("internal-package", 'import "git.corp.example-internal.net/platform/go-kit/log"', "git.corp.example-internal.net/platform/go-kit/log"),
        # the policy's own patterns
        ("internal-pattern", "# TODO(EXJIRA-4711): drop after the migration", "EXJIRA-4711"),
        ("internal-pattern", "See SEC-INCIDENT-2024 for the timeline", "SEC-INCIDENT-2024"),
    ],
)  # fmt: skip
def test_internal_reference_is_reported(rule, text, reference):
    findings = scan("first line\n" + text + "\n")
    assert [(f.rule, f.line, f.excerpt) for f in findings] == [(rule, 2, reference)]
    assert findings[0].identity == reference.lower()
    assert findings[0].kind == Kind.INTERNAL_REF
    assert findings[0].severity == Severity.BLOCKING


@pytest.mark.parametrize(
    "text",
    [
        # public hosts and look-alike domains
        'url = "https://github.com/example/internal"',
        "homepage: https://www.example.com/products",
        "mirror = corp.example-internal.network",
        "proxy = corp.example-internal.net.cache.example.org",
        "other = mycorp.example-internal.net",
        "host = notcorp.example-internal.net.example",
        "DB_HOST=build.acme.localhost",
        "service: acme.local",  # the parent of an internal domain is not internal
        # an e-mail domain only counts in e-mail addresses
        "docs: https://example-mail.com/help",
        "# mail jane@example-mail.com.au",
        'contact = "noreply@github.com"',
        # packages: only the declared namespace, on name boundaries
        "import com.example.internalx.Foo;",
        "import notcom.example.internal.Foo;",
        "import org.com.example.internal.Shadow;",
        "import com.example.public.api.Client;",
        "import com.example.Internally;",
        '    "@example-internal-tools/lint": "^1.0.0",',
        '    "@acme/secret-sauce-docs": "^1.0.0",',
        '    "@acme/other": "^1.0.0",',
        "from example_internal_extras import helpers",
        "import my_example_internal",
        "pip install example-internals",
        'import "git.corp.example-internal.net/platform/go-kitten"',
        # patterns that do not match
        "See EXJIRA- for the board",
        "sec-incident-12 is too short",
    ],
)  # fmt: skip
def test_public_and_look_alike_names_are_not_reported(text):
    if "git.corp.example-internal.net/platform/go-kitten" in text:
        # The host is internal even when the Go package is not the declared one.
        assert [f.rule for f in scan(text)] == ["internal-domain"]
    else:
        assert scan(text) == []


def test_lines_and_several_references_on_one_line():
    text = (
        "# header\n\n"
        "a = 'https://ci.corp.example-internal.net' # owner: ops@example-mail.com EXJIRA-1\r\n"
        "b = 2\n"
        "import com.example.internal.X;\n"
    )
    findings = scan(text)
    assert [(f.rule, f.line) for f in findings] == [
        ("internal-domain", 3),
        ("internal-email", 3),
        ("internal-pattern", 3),
        ("internal-package", 5),
    ]


def test_binary_data_is_ignored():
    data = b"\x00\x01binary\x00 https://ci.corp.example-internal.net"
    assert InternalRefsDetector().scan(data, filename="blob.bin", policy=POLICY) == []


def test_empty_policy_reports_nothing():
    assert scan("https://ci.corp.example-internal.net EXJIRA-1", policy=Policy()) == []


def test_one_detector_serves_several_policies():
    detector = InternalRefsDetector(POLICY)
    other = Policy(internal_domains=("intra.acme.io",))
    text = b"https://ci.corp.example-internal.net https://wiki.intra.acme.io"
    first = detector.scan(text, filename="a", policy=POLICY)
    second = detector.scan(text, filename="a", policy=other)
    again = detector.scan(text, filename="a", policy=POLICY)
    assert (
        [f.excerpt for f in first] == [f.excerpt for f in again] == ["ci.corp.example-internal.net"]
    )
    assert [f.excerpt for f in second] == ["wiki.intra.acme.io"]


def test_policy_entries_are_normalised():
    policy = Policy(
        internal_domains=("https://Corp.Example-Internal.NET/", "*.build.acme.local"),
        internal_packages=("com.example.internal.*",),
    )
    text = "ci.corp.example-internal.net x.build.acme.local com.example.internal.Y"
    assert [f.rule for f in scan(text, policy=policy)] == [
        "internal-domain",
        "internal-domain",
        "internal-package",
    ]


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        (Policy(internal_patterns=("EXJIRA-(\\d+",)), "'EXJIRA-(\\\\d+' is not a valid regular"),
        (Policy(internal_patterns=("x*",)), "'x*' matches the empty string"),
        (Policy(internal_patterns=("(a+)+b",)), "'(a+)+b' repeats a repeated group"),
        (Policy(internal_patterns=("(?:\\w+\\s?)+$",)), "repeats a repeated group"),
        (Policy(internal_domains=("localhost",)), "'localhost' is not a domain name"),
        (Policy(internal_domains=("bad_domain.example",)), "is not a domain name"),
        (Policy(internal_packages=("x",)), "'x' is not a package name"),
    ],
)
def test_bad_policy_entries_raise_at_construction_naming_the_entry(policy, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        InternalRefsDetector(policy)


def test_bad_policy_raises_on_scan_too():
    with pytest.raises(ValueError, match="EXJIRA"):
        scan("text", policy=Policy(internal_patterns=("EXJIRA-[",)))


def test_bounded_nested_repeats_are_accepted():
    InternalRefsDetector(Policy(internal_patterns=(r"(?:[A-Z]{2,5}-\d{1,6}\s?){1,3}",)))


def test_detector_declares_its_kind_and_version():
    detector = InternalRefsDetector()
    assert detector.kind == Kind.INTERNAL_REF
    assert detector.version.startswith("internal-refs-")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_corpus_is_found_entirely_and_nothing_else(seed):
    """Recall 1.0 and no false positive on generated files with planted references."""
    detector = InternalRefsDetector(corpus.POLICY)
    for file in corpus.generate(seed):
        findings = detector.scan(file.text.encode(), filename=file.filename, policy=corpus.POLICY)
        planted = {p.line for p in file.planted if p.kind == "internal_ref"}
        assert {f.line for f in findings} == planted, file.filename
