"""Internal references: what the policy declares internal -- domains and their hosts, URLs
and e-mail addresses, package namespaces, and extra regular expressions (ticket ids).

Domains, e-mail domains and packages become lower-case literals, compiled once per policy
version and run over the lower-cased text. Each literal is anchored on its rarest
character, the rest checked by a look-behind, and the literals sharing an anchor form one
alternation that starts with that literal character -- which Python's ``re`` finds with a
fast scan. One alternation of all literals would be tried at every position holding any
of their first characters: on 10 MB of source, 105 MB/s for a three-entry policy and 70
MB/s for a 220-entry one, against 650 and 80 MB/s this way (and 790 and 11 MB/s for one
``str.find`` per literal). Boundaries are then checked in Python, so that
``corp.example.net`` matches ``git.corp.example.net`` but not ``mycorp.example.net`` or
``corp.example.net.evil.org``, and ``com.example.internal`` matches
``com.example.internal.billing.Invoice`` but not ``com.example.internalx`` or
``notcom.example.internal``. Anything not declared is never reported: public hosts and
packages need no list.

The policy's extra patterns are the administrator's own regular expressions, run as
written (case-sensitive unless they say ``(?i)``), each in its own pass so that their
groups and flags cannot interfere. They are checked when compiled: an invalid pattern, one
that matches the empty string, or one with nested unbounded repeats such as ``(a+)+``
(which can take exponential time on a crafted line) raises ValueError naming the pattern.
The last check reads Python's internal regex parser; should that module change, the check
is skipped and the other two remain.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scans.detectors.base import Finding, Kind, Policy, Severity

_BINARY_SNIFF = 8192
_EXCERPT_LIMIT = 200
_CACHE_SIZE = 8

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
_LOCAL_PART_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._%+-")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_$")
_NPM_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# Characters of lower-cased source text, most frequent first (measured on a mix of Python,
# JavaScript, HTML and translation files); characters not listed count as rarest.
_FREQUENCY_ORDER = "etsranioldcmpufg_.hbyv0wk-x1j2/q3z4568+97@~$"


@dataclass(frozen=True)
class _Literal:
    """One lower-case string to look for, and how to read what surrounds it."""

    text: str
    kind: str  # "domain", "email-domain", "npm-scope", "npm-package", "dotted", "path", "name"
    declared: str  # the policy entry it comes from, for the message


@dataclass(frozen=True)
class _Reference:
    rule: str
    start: int
    end: int
    message: str


class _CompiledPolicy:
    """The policy's declared names as literal passes (one per anchor character), plus the
    policy's own patterns, compiled."""

    def __init__(self, policy: Policy) -> None:
        literals: dict[str, list[_Literal]] = {}
        for literal in _literals(policy):
            literals.setdefault(literal.text, []).append(literal)
        self.literals = literals
        # Per anchor character: its alternation, and the literals anchored on it with the
        # anchor's index in each.
        anchored: dict[str, list[tuple[str, int]]] = {}
        for text in sorted(literals, key=len, reverse=True):
            i = max(range(len(text)), key=lambda i: _rarity(text[i]))
            anchored.setdefault(text[i], []).append((text, i))
        self.passes = [
            (_anchored_pattern(anchor, items), items) for anchor, items in anchored.items()
        ]
        self.patterns = [
            (pattern, _compile_pattern(pattern)) for pattern in policy.internal_patterns
        ]


def _anchored_pattern(anchor: str, items: list[tuple[str, int]]) -> re.Pattern[str]:
    rests = [
        (f"(?<={re.escape(text[: i + 1])})" if i else "") + re.escape(text[i + 1 :])
        for text, i in items
    ]
    return re.compile(re.escape(anchor) + "(?:" + "|".join(rests) + ")")


def _rarity(char: str) -> int:
    position = _FREQUENCY_ORDER.find(char)
    return len(_FREQUENCY_ORDER) if position < 0 else position


def _literals(policy: Policy) -> Iterable[_Literal]:
    for entry in policy.internal_domains:
        domain = _domain(entry)
        yield _Literal(domain, "domain", domain)
    for entry in policy.internal_email_domains:
        domain = _domain(entry)
        yield _Literal(domain, "email-domain", domain)
    for entry in policy.internal_packages:
        yield from _package_literals(entry)


def _domain(entry: str) -> str:
    domain = entry.strip().lower()
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain)  # a URL: keep its host
    domain = re.split(r"[/:]", domain, maxsplit=1)[0]
    domain = domain.lstrip("*@.").rstrip(".")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"internal domain {entry!r} is not a domain name like corp.example.com")
    return domain


def _package_literals(entry: str) -> Iterable[_Literal]:
    package = entry.strip().lower()
    package = re.sub(r"(?:[./]\*{1,2}|[./])$", "", package)  # com.example.internal.*
    if len(package) < 2 or not re.fullmatch(r"@?[a-z0-9_$.\-/]+", package):
        raise ValueError(f"internal package {entry!r} is not a package name or namespace")
    if package.startswith("@"):
        if "/" in package:
            yield _Literal(package, "npm-package", package)
        else:
            yield _Literal(package + "/", "npm-scope", package)
    elif "/" in package:
        yield _Literal(package, "path", package)  # a Go module or repository path
    elif "." in package:
        yield _Literal(package, "dotted", package)
        yield _Literal(package.replace(".", "/"), "path", package)
    else:
        # A Python or npm package: pip treats '-', '_' and '.' alike in names.
        for variant in {package, package.replace("-", "_"), package.replace("_", "-")}:
            yield _Literal(variant, "name", package)


def _compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"internal reference pattern {pattern!r} is not a valid regular expression: {error}"
        ) from None
    if regex.search("") is not None:
        raise ValueError(
            f"internal reference pattern {pattern!r} matches the empty string, "
            "so it would match everywhere"
        )
    if _has_nested_repeat(pattern):
        raise ValueError(
            f"internal reference pattern {pattern!r} repeats a repeated group, "
            "which can take exponential time; write it without the nesting"
        )
    return regex


def _has_nested_repeat(pattern: str) -> bool:
    """True for ``(a+)+``, ``(a*)*``, ``(?:\\w+\\s?)*``: an unbounded repeat inside another."""
    try:
        from re import _constants, _parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - other Python versions
        return False
    repeats = {_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT}
    unbounded = _constants.MAXREPEAT

    def walk(items: Sequence, inside_unbounded: bool) -> bool:
        for op, argument in items:
            if op in repeats:
                low, high, body = argument
                if high == unbounded or high > 100:
                    if inside_unbounded:
                        return True
                    if walk(body, True):
                        return True
                elif walk(body, inside_unbounded):
                    return True
            elif op is _constants.SUBPATTERN:
                if walk(argument[-1], inside_unbounded):
                    return True
            elif op is _constants.BRANCH:
                if any(walk(branch, inside_unbounded) for branch in argument[1]):
                    return True
            elif op in (_constants.ASSERT, _constants.ASSERT_NOT) and walk(
                argument[1], inside_unbounded
            ):
                return True
        return False

    try:
        return walk(_parser.parse(pattern), False)
    except Exception:  # noqa: BLE001 - the parser is internal; its failure is not ours
        return False


class InternalRefsDetector:
    """References to what the policy declares internal. Every finding is blocking; the
    engine lowers findings inside the policy's internal paths to information."""

    kind = Kind.INTERNAL_REF
    version = "internal-refs-1"

    def __init__(self, policy: Policy | None = None) -> None:
        self._compiled: dict[str, _CompiledPolicy] = {}
        self._last: tuple[Policy, _CompiledPolicy] | None = None
        if policy is not None:
            self._compile(policy)

    def _compile(self, policy: Policy) -> _CompiledPolicy:
        # Policy.version serialises and hashes the whole policy (two thirds of a scan's
        # time on small files), so the policy of the previous call is compared first.
        if self._last is not None and self._last[0] == policy:
            return self._last[1]
        version = policy.version
        compiled = self._compiled.get(version)
        if compiled is None:
            compiled = _CompiledPolicy(policy)
            if len(self._compiled) >= _CACHE_SIZE:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[version] = compiled
        self._last = (policy, compiled)
        return compiled

    def prepare(self, policy: Policy) -> None:
        """Compile ``policy``'s patterns now (kept for its version), before scanning."""
        self._compile(policy)

    def scan(self, data: bytes, *, filename: str, policy: Policy) -> list[Finding]:
        compiled = self._compile(policy)
        if not compiled.passes and not compiled.patterns:
            return []
        if b"\0" in data[:_BINARY_SNIFF]:
            return []
        text = data.decode("utf-8", errors="replace")
        references = []
        if compiled.passes:
            references += _declared_references(text, compiled)
        for pattern, regex in compiled.patterns:
            for match in regex.finditer(text):
                if match.end() > match.start():
                    references.append(
                        _Reference(
                            "internal-pattern",
                            match.start(),
                            match.end(),
                            f"Matches the policy's internal-reference pattern `{pattern}`.",
                        )
                    )
        return _findings(text, references)


def _declared_references(text: str, compiled: _CompiledPolicy) -> list[_Reference]:
    lowered = text.lower()
    if len(lowered) != len(text):  # a few characters lower-case to two; keep offsets
        lowered = text.translate(_ASCII_LOWER)
    hits = []  # (start, literal text) of every declared name found
    for regex, items in compiled.passes:
        for match in regex.finditer(lowered):
            anchor = match.start()
            for text, i in items:
                start = anchor - i
                if start >= 0 and lowered.startswith(text, start):
                    hits.append((start, text))
    hits.sort(key=lambda hit: (hit[0], -len(hit[1])))  # at one position, the longest first
    references: list[_Reference] = []
    covered = 0
    for start, text in hits:
        if start < covered:
            continue  # inside a reference already read (a host, a qualified name)
        for literal in compiled.literals[text]:
            reference = _read(lowered, start, start + len(text), literal)
            if reference is not None:
                references.append(reference)
                covered = reference.end
                break
    return references


def _read(text: str, start: int, end: int, literal: _Literal) -> _Reference | None:
    """The reference around a literal found at ``start:end`` of the lower-cased text."""
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if literal.kind in ("domain", "email-domain"):
        return _read_host(text, start, end, literal)
    if literal.kind == "dotted":
        if before in _NAME_CHARS or before in ".-" or after in _NAME_CHARS or after == "-":
            return None
        end = _extend(text, end, _NAME_CHARS | {"."})
        what = "package"
    elif literal.kind == "path":
        if before in _NAME_CHARS or before in ".-" or after in _NAME_CHARS or after in ".-":
            return None
        end = _extend(text, end, _NAME_CHARS | {"/", ".", "-"}) if after == "/" else end
        what = "package"
    elif literal.kind == "name":
        if before in _NAME_CHARS or before in ".-" or after in _NAME_CHARS or after == "-":
            return None
        if after == "." and end + 1 < len(text) and text[end + 1] in _NAME_CHARS:
            end = _extend(text, end, _NAME_CHARS | {"."})
        what = "package"
    elif literal.kind == "npm-scope":
        if before in _NAME_CHARS or after not in _NPM_NAME_CHARS:
            return None
        end = _extend(text, end, _NPM_NAME_CHARS)
        what = "npm package"
    else:  # npm-package
        if before in _NAME_CHARS or after in _NPM_NAME_CHARS:
            return None
        what = "npm package"
    while text[end - 1] in ".-/":
        end -= 1
    return _Reference(
        "internal-package",
        start,
        end,
        f"Reference to the internal {what} namespace `{literal.declared}`.",
    )


def _read_host(text: str, start: int, end: int, literal: _Literal) -> _Reference | None:
    after = text[end : end + 2]
    if after[:1] in _NAME_CHARS or after[:1] == "-":
        return None  # corp.example.network, corp.example.net_backup
    if after[:1] == "." and after[1:2] and (after[1] in _NAME_CHARS or after[1] == "-"):
        return None  # corp.example.net.evil.org
    host_start = start
    if start and text[start - 1] == ".":
        host_start = _extend_left(text, start - 1, _HOST_CHARS, limit=253)
        while text[host_start] in ".-":
            host_start += 1
        if host_start == start:
            return None  # "..corp.example.net"
    elif start and (text[start - 1] in _NAME_CHARS or text[start - 1] == "-"):
        return None  # mycorp.example.net
    if host_start and text[host_start - 1] == "@":
        local_start = _extend_left(text, host_start - 1, _LOCAL_PART_CHARS, limit=64)
        local = text[local_start : host_start - 1].strip(".")
        # git@host:team/repo.git names a host, not a mailbox
        scp_like = local == "git" or (text[end : end + 1] == ":" and text[end + 1 : end + 2] > " ")
        if local and not scp_like:
            return _Reference(
                "internal-email",
                local_start + (len(text[local_start : host_start - 1]) - len(local)),
                end,
                f"E-mail address at the internal domain `{literal.declared}`.",
            )
    if literal.kind != "domain":
        return None  # an e-mail domain only counts in e-mail addresses
    return _Reference(
        "internal-domain",
        host_start,
        end,
        f"Host under the internal domain `{literal.declared}`.",
    )


def _extend(text: str, end: int, chars: frozenset[str] | set[str], limit: int = 500) -> int:
    stop = min(len(text), end + limit)
    while end < stop and text[end] in chars:
        end += 1
    return end


def _extend_left(text: str, start: int, chars: frozenset[str], *, limit: int) -> int:
    stop = max(0, start - limit)
    while start > stop and text[start - 1] in chars:
        start -= 1
    return start


def _findings(text: str, references: list[_Reference]) -> list[Finding]:
    if not references:
        return []
    references.sort(key=lambda r: (r.start, -r.end))
    newline_offsets = [m.start() for m in re.finditer("\n", text)]
    findings = []
    for reference in references:
        matched = text[reference.start : reference.end]
        findings.append(
            Finding(
                kind=Kind.INTERNAL_REF,
                rule=reference.rule,
                severity=Severity.BLOCKING,
                line=bisect.bisect_left(newline_offsets, reference.start) + 1,
                message=reference.message,
                excerpt=matched[:_EXCERPT_LIMIT],
                identity=matched.lower(),
            )
        )
    return findings
