"""Which licenses a file declares: SPDX tags, standard header notices, and license files.

Three sources, each reported with the SPDX id (or expression) in ``Finding.license``:

- ``SPDX-License-Identifier:`` tags anywhere in the file, validated and normalised with
  license_expression; a tag that is not a valid expression is reported as such.
- Header notices of common licenses ("Licensed under the Apache License, Version 2.0 ...")
  in the first lines of a file, recognised on normalised text (comment markers,
  punctuation, case and line wrapping removed) from sets of distinctive phrases kept in
  ``license_texts/signatures.toml``, so re-wrapped and partial headers are still found.
- Files named like LICENSE, COPYING or UNLICENSE, classified from their whole text.

Policy decides the severity: a denied license blocks, one outside a non-empty allow-list
is a warning, anything else is informational.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseWithExceptionSymbol,
    get_spdx_licensing,
)

from scans.detectors.base import Finding, Kind, Policy, Severity

HEAD_BYTES = 32 * 1024
HEAD_LINES = 200
LICENSE_FILE_BYTES = 512 * 1024
BINARY_SNIFF_BYTES = 8 * 1024

RULE_SPDX_TAG = "spdx-tag"
RULE_INVALID_SPDX_TAG = "invalid-spdx-tag"
RULE_HEADER = "license-header"
RULE_FIELD = "license-field"
RULE_LICENSE_FILE = "license-file"
RULE_UNKNOWN_LICENSE_FILE = "unrecognised-license-file"
RULE_DENIED = "denied-license"
RULE_NOT_ALLOWED = "license-not-allowed"

_SIGNATURES_FILE = Path(__file__).with_name("license_texts") / "signatures.toml"

# Names of files that hold a project's license text. Source files that happen to be
# called license.py or License.java are code, not license texts.
_LICENSE_FILE_NAME = re.compile(r"^(?:un)?licen[cs]e|^copying", re.IGNORECASE)
_CODE_SUFFIX = re.compile(
    r"\.(?:py|pyi|js|mjs|cjs|ts|tsx|jsx|java|kt|scala|go|rs|rb|php|c|h|cc|cpp|hpp|cs|swift|m"
    r"|sh|bash|pl|pm|lua|json|ya?ml|toml|xml|html?|css|scss|sql|ini|cfg)$",
    re.IGNORECASE,
)

# Cheap gate on the lower-cased head: a file mentioning none of these has no license text.
# Only the stretch from a little before the first of them to well after the last is
# normalised and matched: notices are a few paragraphs long, files can be 200 lines of code.
_GATE_WORDS = (
    "licen",
    "gpl",
    "redistribut",
    "permission is",
    "permission to",
    "public domain",
    "cc0",
    "copyleft",
    "royalty",
)
_WINDOW_BEFORE = 1500
_WINDOW_AFTER = 4000

# A license named by a manifest field or a banner tag: `"license": "MIT"` (package.json),
# `license = "Apache-2.0"` (pyproject, Cargo), `license="BSD-3-Clause",` (setup.py),
# `License-Expression: 0BSD` (PKG-INFO), `license: GPL-3.0-or-later` (YAML), `@license MIT`
# (JavaScript banners), trove classifiers. The value counts if it is an SPDX expression of
# known licenses or a name that identifies one license ("MIT License", "GPLv3+"); free
# text ("BSD", "see LICENSE") does not.
_FIELD = re.compile(
    r"""[ \t]*(?:(?:\#+|//+|/?\*+!?|;+|--|%+)[ \t]*)?
    (?:@license[ \t]+
      |["']?licen[cs]e(?:[-_]expression)?["']?[ \t]*[:=][ \t]*\[?[ \t]*
       (?:\{[ \t]*text[ \t]*=[ \t]*)?
      |[ \t]*["']license[ \t]*::[ \t]*(?:osi[ \t]+approved[ \t]*::[ \t]*)?)
    ["']?(?P<value>[A-Za-z0-9][A-Za-z0-9.+(),/ -]{0,80}?)["']?[ \t]*[,\]}]*[ \t]*(?:\*/)?[ \t]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_GNU_NAME = re.compile(
    r"(?:gnu )?(?:(?:lesser|library|affero) )?(?:general public license|[al]?gpl(?:v\d+)?\+?)"
    r"(?: (?:v?\d+\+?|version|or|any|later|only|[al]?gpl(?:v\d+)?\+?))*"
)
# The same field holding a list written over several lines (YAML, JSON): the first item.
_FIELD_OPENS_LIST = re.compile(
    r"""[ \t]*["']?(?:license|licence)["']?[ \t]*[:=][ \t]*\[?[ \t]*$""", re.I
)
_LIST_ITEM = re.compile(
    r"""[ \t]*-?[ \t]*["']?(?P<value>[A-Za-z0-9][A-Za-z0-9.+() -]{0,80}?)["']?[ \t]*,?[ \t]*$"""
)
_SPDX_TAG = re.compile(r"SPDX-License-Identifier:[ \t]*([^\r\n]*)")
_TAG_END = re.compile(r"\*/|-->|#}|%}|\*\)|\"\"\"|'''")
_TEMPLATE_CHARS = re.compile(r"[{}$%<>]")
_LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")

# Normalisation works on bytes with one translation table (fast, in C): letters and digits
# stay (upper case folded), "+" stays because "GPL-2.0+" means "or later", line breaks
# stay so that offsets map back to lines, and everything else (punctuation, comment
# markers, any non-ASCII byte) becomes a space. Runs of spaces are then collapsed per line.
_TABLE = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c in (10, 43)) else 32
    for c in range(256)
)
_SPACES = re.compile("  +")
# Batch-file and m4 comments start with a word, not a symbol.
_COMMENT_WORDS = frozenset({"rem", "dnl"})

_GNU_FAMILY = re.compile(
    r"\b(?:gnu )?(?:(lesser|library|affero) )?general public license\b|\b([al])?gpl(?:v\d)?\b"
)
_GNU_VERSION = re.compile(r"\b(?:version|v|[al]?gplv|[al]?gpl) ?([123])(?: ([01]))?(\+)?(?![0-9])")
_GNU_LATER = re.compile(r"\b(?:any later version|or later|or newer)\b")
_BSD_ADVERTISING = " all advertising materials mentioning features or use of this software "
_BSD_ENDORSE = " endorse or promote products derived from "
_GNU_WINDOW = 2000
_GNU_LOOKBEHIND = 300
_BSD_WINDOW = 3000
_ABSENT_WINDOW = 600


def normalise(text: str) -> str:
    """Lower case, British spelling folded, every run of punctuation and spaces one space.

    Line breaks are kept, with no space beside them, so that offsets map back to lines.
    """
    folded = text.encode("utf-8", "replace").translate(_TABLE).decode("ascii")
    folded = folded.replace("licenc", "licens").replace("noninfringement", "non infringement")
    folded = _SPACES.sub(" ", folded).replace(" \n", "\n").replace("\n ", "\n").strip(" ")
    if "rem " in folded or "dnl " in folded:
        folded = "\n".join(_drop_comment_word(line) for line in folded.split("\n"))
    return folded


def _drop_comment_word(line: str) -> str:
    word, _, rest = line.partition(" ")
    return rest if word in _COMMENT_WORDS else line


def _normalise_phrase(phrase: str) -> str:
    return " ".join(normalise(phrase).split())


@dataclass(frozen=True)
class Signature:
    id: str
    kind: str  # "notice" or "text"
    keys: frozenset[str]
    threshold: float
    phrases: tuple[str, ...]
    references: tuple[re.Pattern[str], ...]
    titles: tuple[str, ...]
    required: tuple[str, ...]
    absent: tuple[str, ...]
    includes: frozenset[str]


def _compile_reference(pattern: str) -> re.Pattern[str]:
    # Words in the padded text always have a space before them, and a pattern that starts
    # with a literal is searched for far faster than one that starts with \b.
    if pattern.startswith("\\b") and pattern[2:3].isalnum():
        pattern = " " + pattern[2:]
    return re.compile(pattern)


@cache
def signatures() -> tuple[Signature, ...]:
    """The phrase sets, loaded once and normalised like the text they are matched against."""
    raw = tomllib.loads(_SIGNATURES_FILE.read_text(encoding="utf-8"))
    return tuple(
        Signature(
            id=entry["id"],
            kind=entry["kind"],
            keys=frozenset(entry["keys"]),
            threshold=entry.get("threshold", 0.6),
            phrases=tuple(f" {_normalise_phrase(p)} " for p in entry.get("phrases", ())),
            references=tuple(_compile_reference(r) for r in entry.get("references", ())),
            titles=tuple(f" {_normalise_phrase(t)} " for t in entry.get("titles", ())),
            required=tuple(f" {_normalise_phrase(r)} " for r in entry.get("required", ())),
            absent=tuple(f" {_normalise_phrase(a)} " for a in entry.get("absent", ())),
            includes=frozenset(entry.get("includes", ())),
        )
        for entry in raw["signature"]
    )


@cache
def license_names() -> dict[str, str]:
    """Normalised license names as package metadata writes them, to SPDX ids."""
    raw = tomllib.loads(_SIGNATURES_FILE.read_text(encoding="utf-8"))
    return {_normalise_phrase(name): spdx for name, spdx in raw["names"].items()}


def field_license(value: str) -> str | None:
    """The SPDX expression a metadata field's value names, or None for free text."""
    value = value.strip().rstrip(",").strip()
    parsed = parse_expression(value)
    if parsed and not _licensing().unknown_license_keys(parsed[0]):
        return parsed[0]
    name = _normalise_phrase(value)
    if name in license_names():
        return license_names()[name]
    if _GNU_NAME.fullmatch(name):
        return _refine_gnu(f" {name} ", 0)
    return None


@cache
def _licensing():
    return get_spdx_licensing()


@lru_cache(maxsize=4096)
def parse_expression(value: str) -> tuple[str, tuple[str, ...]] | None:
    """An SPDX expression normalised, with its license ids; None when it is not valid.

    ``LicenseRef-`` ids are valid SPDX although no list knows them.
    """
    licensing = _licensing()
    try:
        parsed = licensing.parse(value, validate=False, strict=True)
    except ExpressionError:
        return None
    if parsed is None:
        return None
    if not all(_LICENSE_REF.match(key) for key in licensing.unknown_license_keys(parsed)):
        return None
    return str(parsed), tuple(licensing.license_keys(parsed))


def _policy_key(license_id: str) -> str:
    parsed = parse_expression(license_id)
    return (parsed[0] if parsed else license_id).casefold()


@dataclass(frozen=True)
class _Match:
    expression: str
    keys: tuple[str, ...]
    rule: str
    line: int
    excerpt: str
    how: str


class _Text:
    """A decoded region of a file, normalised to one line, with a way back to lines.

    ``padded`` has a space at both ends so that phrases, searched with spaces around
    them, only match whole words. A blank line (or one with only comment markers) leaves
    two spaces, so no phrase runs across a paragraph break.
    """

    def __init__(self, text: str) -> None:
        lined = normalise(text)
        self._lined = lined
        self.padded = f" {lined.replace(chr(10), ' ')} "
        self.words = frozenset(self.padded.replace("+", " ").split())

    def line_at(self, offset: int) -> int:
        """1-based line of the word that starts just after ``offset`` in ``padded``."""
        return self._lined.count("\n", 0, offset) + 1


def _match_signature(sig: Signature, text: _Text) -> int | None:
    """Offset where the signature's text starts in ``text.padded``, or None if absent."""
    padded = text.padded
    if sig.kind == "text":
        title_at = [i for i in (padded.find(t) for t in sig.titles) if i >= 0]
        if not title_at or not _enough_phrases(sig, padded):
            return None
        return min(title_at)
    found = _enough_phrases(sig, padded)
    if found:
        start = min(found)
        near = padded[start : start + _ABSENT_WINDOW]
        return None if any(a in near for a in sig.absent) else start
    ref_at = [m.start() for m in (r.search(padded) for r in sig.references) if m]
    return min(ref_at) if ref_at else None


def _enough_phrases(sig: Signature, padded: str) -> list[int]:
    """Offsets of the signature's phrases if enough of them occur, else an empty list."""
    if not sig.phrases or not all(r in padded for r in sig.required):
        return []
    found = [i for i in (padded.find(p) for p in sig.phrases) if i >= 0]
    return found if len(found) >= sig.threshold * len(sig.phrases) else []


def _refine_gnu(padded: str, offset: int) -> str:
    """GPL, LGPL or AGPL; which version; "only" or "or later", from the words of the notice.

    The family is the first one named from a little before the match (a URL reference
    follows the name it refers to); the version is the first one named after it, and "or
    later" has to follow that version closely.
    """
    window = padded[max(offset - _GNU_LOOKBEHIND, 0) : offset + _GNU_WINDOW]
    family_match = _GNU_FAMILY.search(window)
    if family_match is None:
        return "GPL-1.0-or-later"
    qualifier, letter = family_match.groups()
    family = {"lesser": "LGPL", "library": "LGPL", "affero": "AGPL"}.get(
        qualifier or "", {"l": "LGPL", "a": "AGPL"}.get(letter or "", "GPL")
    )
    version_match = _GNU_VERSION.search(window, family_match.start(), family_match.end() + 250)
    if version_match:
        major, minor, plus = version_match.groups()
        later_zone = window[family_match.start() : version_match.end() + 150]
        later = bool(plus) or _GNU_LATER.search(later_zone) is not None
    else:
        major = minor = None
        later = (
            _GNU_LATER.search(window, family_match.start(), family_match.end() + 250) is not None
        )
    if family == "GPL":
        version = {"1": "1.0", "2": "2.0", "3": "3.0"}.get(major or "")
    elif family == "LGPL":
        if major == "2":
            version = "2.1" if minor == "1" else "2.0"
        else:
            version = {"3": "3.0"}.get(major or "")
    else:
        version = {"1": "1.0", "3": "3.0"}.get(major or "")
    if version is None:
        # With no version named, the GNU licenses let the recipient pick any version.
        version = {"GPL": "1.0", "LGPL": "2.0" if qualifier == "library" else "2.1"}.get(
            family, "3.0"
        )
        later = True
    spdx = f"{family}-{version}-{'or-later' if later else 'only'}"
    if " classpath exception " in window:
        spdx += " WITH Classpath-exception-2.0"
    return spdx


def _refine_bsd(window: str) -> str:
    if _BSD_ADVERTISING in window:
        return "BSD-4-Clause"
    if _BSD_ENDORSE in window:
        return "BSD-3-Clause"
    if " redistributions in binary form " in window:
        return "BSD-2-Clause"
    # A reference only ("BSD-style license"): name the common reading, as other tools do.
    named = window[:200]
    return "BSD-2-Clause" if " 2 clause " in named or " simplified " in named else "BSD-3-Clause"


def _refine(sig: Signature, text: _Text, offset: int) -> str:
    if sig.id == "@gnu":
        return _refine_gnu(text.padded, offset)
    if sig.id == "@bsd":
        return _refine_bsd(text.padded[offset : offset + _BSD_WINDOW])
    mpl_exhibit_b = " this source code form is incompatible with secondary licenses "
    if sig.kind == "notice" and sig.id == "MPL-2.0" and mpl_exhibit_b in text.padded:
        return "MPL-2.0-no-copyleft-exception"
    if sig.kind == "notice" and sig.id == "Apache-2.0":
        window = text.padded[offset : offset + 300]
        if " llvm exception" in window:
            return "Apache-2.0 WITH LLVM-exception"
    return sig.id


def identify(text: str) -> list[tuple[str, int]]:
    """License ids named by a text's notices or full texts, with the line each starts on.

    Full texts win over notices: a GPL text quotes its own "or any later version" notice
    and the MPL text names the GNU licenses, neither of which is a second license.
    """
    region = _Text(text)
    words = region.words
    texts: dict[str, int] = {}
    notices: dict[str, int] = {}
    included: set[str] = set()
    for sig in signatures():
        if not sig.keys & words:
            continue
        offset = _match_signature(sig, region)
        if offset is None:
            continue
        spdx = _refine(sig, region, offset)
        included |= sig.includes
        found = texts if sig.kind == "text" else notices
        if spdx not in found or offset < found[spdx]:
            found[spdx] = offset
    if texts:
        text_families = {_family(s) for s in texts}
        notices = {
            s: o
            for s, o in notices.items()
            if _family(s) not in text_families and _family(s) != "GNU"
        }
    found = {s: o for s, o in {**notices, **texts}.items() if s not in included}
    ordered = sorted(found.items(), key=lambda item: item[1])
    return [(spdx, region.line_at(offset)) for spdx, offset in ordered]


def _family(spdx: str) -> str:
    head = spdx.split("-", 1)[0]
    return "GNU" if head in {"GPL", "LGPL", "AGPL"} else head


def is_license_file(filename: str) -> bool:
    name = filename.rsplit("/", 1)[-1]
    return bool(_LICENSE_FILE_NAME.match(name)) and not _CODE_SUFFIX.search(name)


def _head(data: bytes) -> str:
    text = data[:HEAD_BYTES].decode("utf-8", errors="replace")
    lines = text.split("\n", HEAD_LINES)
    if len(lines) <= HEAD_LINES:
        return text
    return text[: len(text) - len(lines[-1]) - 1]


class LicenseDetector:
    """Licenses declared by one file: SPDX tags, header notices, license file texts."""

    kind = Kind.LICENSE
    version = "1"

    def scan(self, data: bytes, *, filename: str, policy: Policy) -> list[Finding]:
        if b"\0" in data[:BINARY_SNIFF_BYTES]:
            return []
        matches: list[_Match] = []
        if b"SPDX-License-Identifier" in data:
            matches.extend(self._tags(data))
        if is_license_file(filename):
            matches.extend(self._license_file(data))
        else:
            matches.extend(self._header(data))
        return _with_policy(_dedupe(matches), policy)

    def _tags(self, data: bytes) -> list[_Match]:
        text = data.decode("utf-8", errors="replace")
        found: list[_Match] = []
        seen: set[str] = set()
        newlines = _newline_offsets(text)
        for m in _SPDX_TAG.finditer(text):
            value = _tag_value(m.group(1))
            if value is None or value in seen:
                continue
            seen.add(value)
            line = _line_of(newlines, m.start())
            excerpt = m.group(0).strip()[:200]
            parsed = parse_expression(value) if value else None
            if parsed is None:
                found.append(_Match(value, (), RULE_INVALID_SPDX_TAG, line, excerpt, "spdx-tag"))
            else:
                found.append(_Match(parsed[0], parsed[1], RULE_SPDX_TAG, line, excerpt, "spdx-tag"))
        return found

    def _license_file(self, data: bytes) -> list[_Match]:
        text = data[:LICENSE_FILE_BYTES].decode("utf-8", errors="replace")
        found = identify(text)
        if not found:
            if len(text.split()) < 20:
                return []
            excerpt = next((line.strip() for line in text.splitlines() if line.strip()), "")
            return [_Match("", (), RULE_UNKNOWN_LICENSE_FILE, 0, excerpt[:200], "license-file")]
        lines = text.split("\n")
        return [
            _Match(
                spdx, _keys(spdx), RULE_LICENSE_FILE, line, _excerpt(lines, line), "license-file"
            )
            for spdx, line in found
        ]

    def _header(self, data: bytes) -> list[_Match]:
        head = _head(data)
        lowered = head.lower()
        first = [i for i in (lowered.find(word) for word in _GATE_WORDS) if i >= 0]
        if not first:
            return []
        return self._notices(head, lowered, first) + self._fields(head, lowered)

    def _fields(self, head: str, lowered: str) -> list[_Match]:
        found: list[_Match] = []
        at = lowered.find("licen")
        while at >= 0:
            start = lowered.rfind("\n", 0, at) + 1
            end = lowered.find("\n", at)
            end = len(head) if end < 0 else end
            line_start, m = start, _FIELD.match(head, start, end)
            if m is None and _FIELD_OPENS_LIST.match(head, start, end) and end < len(head):
                line_start = end + 1
                item_end = head.find("\n", line_start)
                m = _LIST_ITEM.match(head, line_start, item_end if item_end >= 0 else len(head))
            expression = field_license(m.group("value")) if m else None
            if expression:
                line = head.count("\n", 0, line_start) + 1
                excerpt = head[line_start : m.end()].strip()[:200]
                found.append(
                    _Match(expression, _keys(expression), RULE_FIELD, line, excerpt, "field")
                )
            at = lowered.find("licen", end)
        return found

    def _notices(self, head: str, lowered: str, first: list[int]) -> list[_Match]:
        last = max(lowered.rfind(word) for word in _GATE_WORDS)
        start = lowered.rfind("\n", 0, max(min(first) - _WINDOW_BEFORE, 0)) + 1
        end = lowered.find("\n", last + _WINDOW_AFTER)
        window = head[start : end if end >= 0 else len(head)]
        lines_before = head.count("\n", 0, start)
        lines = head.split("\n")
        return [
            _Match(
                spdx,
                _keys(spdx),
                RULE_HEADER,
                line + lines_before,
                _excerpt(lines, line + lines_before),
                "header",
            )
            for spdx, line in identify(window)
        ]


def _keys(spdx: str) -> tuple[str, ...]:
    parsed = parse_expression(spdx)
    return parsed[1] if parsed else (spdx,)


def _excerpt(lines: list[str], line: int) -> str:
    return lines[line - 1].strip()[:200] if 1 <= line <= len(lines) else ""


def _tag_value(raw: str) -> str | None:
    """The expression of a tag line, without comment closers; None for template code."""
    end = _TAG_END.search(raw)
    value = (raw[: end.start()] if end else raw).strip().rstrip("\"',;").strip()
    if value.count(")") > value.count("("):
        value = value.rstrip(")").strip()
    if _TEMPLATE_CHARS.search(value):
        return None
    return value


def _newline_offsets(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def _line_of(newlines: list[int], offset: int) -> int:
    return bisect_left(newlines, offset) + 1


def _dedupe(matches: list[_Match]) -> list[_Match]:
    """One finding per license: a header that repeats what a tag says adds nothing."""
    tagged = {key for m in matches if m.how == "spdx-tag" for key in m.keys}
    tagged |= {m.expression for m in matches if m.how == "spdx-tag"}
    kept: list[_Match] = []
    seen: set[tuple[bool, str]] = set()
    for m in matches:
        is_tag = m.how == "spdx-tag"
        if (not is_tag and m.expression in tagged) or (is_tag, m.expression) in seen:
            continue
        seen.add((is_tag, m.expression))
        kept.append(m)
    return kept


def _with_policy(matches: list[_Match], policy: Policy) -> list[Finding]:
    denied = {_policy_key(x) for x in policy.licenses_denied}
    allowed = {_policy_key(x) for x in policy.licenses_allowed}
    findings = []
    for m in matches:
        if m.rule == RULE_INVALID_SPDX_TAG:
            findings.append(
                Finding(
                    kind=Kind.LICENSE,
                    rule=RULE_INVALID_SPDX_TAG,
                    severity=Severity.WARNING,
                    line=m.line,
                    message=f"SPDX-License-Identifier is not a valid expression: {m.expression!r}",
                    excerpt=m.excerpt,
                    identity=m.expression,
                    data={"source": m.how},
                )
            )
            continue
        if m.rule == RULE_UNKNOWN_LICENSE_FILE:
            findings.append(
                Finding(
                    kind=Kind.LICENSE,
                    rule=RULE_UNKNOWN_LICENSE_FILE,
                    severity=Severity.WARNING,
                    line=0,
                    message="License file whose text is not a license Gatehouse recognises",
                    excerpt=m.excerpt,
                    identity="unknown",
                    data={"source": m.how},
                )
            )
            continue
        keys = {k.casefold() for k in m.keys} | {m.expression.casefold()}
        rule, severity = m.rule, Severity.INFO
        if keys & denied:
            rule, severity = RULE_DENIED, Severity.BLOCKING
        elif allowed and not _is_allowed(m.expression, allowed):
            rule, severity = RULE_NOT_ALLOWED, Severity.WARNING
        findings.append(
            Finding(
                kind=Kind.LICENSE,
                rule=rule,
                severity=severity,
                line=m.line,
                message=_message(m, rule),
                excerpt=m.excerpt,
                identity=m.expression,
                license=m.expression,
                data={"source": m.how, "detected_by": m.rule},
            )
        )
    return findings


def _is_allowed(expression: str, allowed: set[str]) -> bool:
    """Whether an expression can be complied with using allowed licenses only.

    "A OR B" needs one of them allowed, "A AND B" both, "A WITH exception" needs A.
    """
    if expression.casefold() in allowed:
        return True
    licensing = _licensing()
    try:
        node = licensing.parse(expression, validate=False)
    except ExpressionError:
        return False
    return _node_allowed(node, allowed)


def _node_allowed(node, allowed: set[str]) -> bool:
    if isinstance(node, OR):
        return any(_node_allowed(arg, allowed) for arg in node.args)
    if isinstance(node, AND):
        return all(_node_allowed(arg, allowed) for arg in node.args)
    if isinstance(node, LicenseWithExceptionSymbol):
        return str(node).casefold() in allowed or node.license_symbol.key.casefold() in allowed
    return getattr(node, "key", str(node)).casefold() in allowed


def _message(m: _Match, rule: str) -> str:
    source = {
        "spdx-tag": "SPDX-License-Identifier",
        "header": "License header",
        "field": "License field",
        "license-file": "License file text",
    }[m.how]
    if rule == RULE_DENIED:
        return f"{source}: {m.expression}, which policy denies"
    if rule == RULE_NOT_ALLOWED:
        return f"{source}: {m.expression}, which is not on the policy's allow-list"
    return f"{source}: {m.expression}"
