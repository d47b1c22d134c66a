"""Which licenses a file declares: SPDX tags, standard header notices, and license files.

Three sources, each reported with the SPDX id (or expression) in ``Finding.license``:

- ``SPDX-License-Identifier:`` tags anywhere in the file, validated and normalised with
  license_expression; a tag that is not a valid expression is reported as such. A tag may
  sit in any comment, a Markdown table cell, an HTML element, a JSON or YAML string: its
  expression ends where the tag does (``-->``, ``*/``, ``|``, a closing quote or bracket,
  the end of the line), so the markup around it is never read as part of it.
- Header notices of common licenses ("Licensed under the Apache License, Version 2.0 ...")
  in the first lines of a file, recognised on normalised text (comment markers,
  punctuation, case and line wrapping removed) from sets of distinctive phrases kept in
  ``license_texts/signatures.toml``, so re-wrapped and partial headers are still found.
- Files named like LICENSE, COPYING or UNLICENSE, classified from their whole text.

A license with an exception keeps it: "GPL-2.0-only WITH Linux-syscall-note" from a tag, and
from words the exceptions of the SPDX list that are met in practice (linking, Classpath,
GCC runtime, Autoconf, Bison, LLVM, Qt, font and OpenSSL exceptions, ...), each recognised
by its own wording. A notice that says it has an exception without saying which ("GNU GPL
v2 with a linking exception") reads ``WITH LicenseRef-scancode-generic-exception``: the
exception is never dropped and never guessed.

A header that points elsewhere for its license ("see LICENSE", "see copyright notice in
zlib.h") is a ``license-reference`` finding naming the file as written, for the engine to
resolve; it carries no license itself.

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
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
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
RULE_REFERENCE = "license-reference"

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
# "licen" comes first: the header reader looks it up once for this gate and for references.
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
# Where a tag's expression ends: a comment closer, a Markdown table cell's "|", a closing
# quote or backtick (JSON, YAML, code), an escape ("\\n" in a JSON string), a bracket or an
# HTML end tag. None of these can occur inside an SPDX expression.
_TAG_END = re.compile(r"\*/|--%?>|-}|#}|%[}>]|\*\)|[|\"'`\\\]}]|</|<br\b|&[lg]t;|&quot;")
_QUOTES = "\"'`"
_TEMPLATE_CHARS = re.compile(r"[{}$%<>]")
_LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")

# A license by reference: "see LICENSE", "see the file COPYING for copying permission",
# "see copyright notice in zlib.h", "can be found in the LICENSE file". Matched on the raw
# head, words apart by spaces or by a line break and the next line's comment marker.
_W = r"(?:[ \t]*\r?\n[ \t]*(?:(?:[#;%!]+|//+|/?\*+|--|rem\b|dnl\b)[ \t]*)?|[ \t]+)"
_REF_ANCHOR = (
    rf"\b(?:see|refer{_W}to|consult|read"
    rf"|(?:found|contained|included|described|provided|available|located|given|detailed"
    rf"|stated|specified|appearing|listed|explained|outlined|set{_W}(?:forth|out))"
    rf"(?:{_W}(?:below|here|herein))?{_W}in)"
)
_REF_FILLER = (
    r"(?:(?:the|a|our|this|its|their|file|files|accompanying|included|enclosed|attached"
    r"|bundled|separate|top[- ]?level|root|main|project|project's|repository|repository's"
    r"|disclaimer|notice|copyright"
    r"|distribution|package|full|complete|corresponding|associated|license|licence|licensing"
    rf"|text|terms|of|in|and|conditions|copying){_W}){{0,6}}"
)
_REF_PATH = r"(?:\.{1,2}/|/)?(?:[\w.-]+/)*"
# A license file's name: upper case as such files are named (LICENSE, COPYING.LIB,
# LICENSE-MIT, LICENSE_1_0.txt, LICENSES/MIT.txt), any case with an extension (license.txt)
# or followed by "file" (the license file).
_REF_LICENSE_NAME = (
    rf"{_REF_PATH}(?:"
    r"(?-i:(?:UN)?LICEN[CS]ES?|COPYING)\d*(?:[-_./][\w.+-]*[A-Za-z0-9])?"
    rf"|(?-i:COPYRIGHT)(?:\.[A-Za-z0-9]+(?![\w.])|(?={_W}file\b))"
    r"|(?:un)?licen[cs]es?(?:[-_][\w-]*[a-z0-9])?\.(?:txt|md|rst|markdown|adoc|html?|org)\b"
    r"|(?:copying|copyright)\.(?:txt|md|rst)\b|copying\.[a-z0-9]+\b"
    # Any case with no extension only beside the word "file": checked by _names_a_file.
    r"|(?:un)?licen[cs]e\b|copying\b)"
    # Not a section or a word of the text: "the LICENSE section", "the License for the ...".
    r"(?![\w-])(?!\s+(?:section|heading|header|chapter|key|constant|variable|field|notice"
    r"|holder|agreement|below|above|for\s+the\s+specific)\b)"
)
# "copyright notice in zlib.h", "license terms in the file foo.c": any file name.
_REF_NOTICE_IN = (
    rf"(?:copyright|license|licence|licensing|copying)"
    rf"(?:{_W}(?:and|&){_W}(?:license|licence|licensing|copyright))?"
    rf"(?:{_W}(?:notice|notices|information|info|terms|text|statement|details|conditions"
    rf"|permission|permissions|header))?{_W}in(?:{_W}the)?(?:{_W}(?:file|header))?{_W}"
)
_REF_ANY_NAME = rf"{_REF_PATH}[\w+-]+(?:\.[\w+-]+)*\.[A-Za-z0-9]{{1,8}}\b"
_REFERENCE = re.compile(
    rf"{_REF_ANCHOR}{_W}{_REF_FILLER}[\"'`\[(]?"
    rf"(?:{_REF_NOTICE_IN}[\"'`\[(]?(?P<file>{_REF_ANY_NAME})|(?P<name>{_REF_LICENSE_NAME}))"
    rf"|\bin{_W}(?:the{_W})?(?:(?:accompanying|included|enclosed|top[- ]?level|root){_W})*"
    rf"(?P<in_name>{_REF_PATH}(?-i:(?:UN)?LICEN[CS]ES?|COPYING|COPYRIGHT)"
    rf"(?:\.[A-Za-z0-9]{{1,8}}\b(?![\w.-])|(?:[-_./][\w.+-]*[A-Za-z0-9])?(?={_W}file\b)))",
    re.IGNORECASE,
)
# What a reference's word is part of: a file's name (upper case, with an extension, or
# followed by "file"), or a "copyright notice in ..." phrase. "the same license as the
# Django package" is none of these, and is not searched around.
_REF_SPOT = re.compile(
    r"(?-i:LICEN[CS]E|COPYING|COPYRIGHT)|licen[cs]es?[\w+-]*\.[a-z]|licen[cs]e\W+file\b"
    r"|(?:licen[cs]\w*|copying|copyright)(?:\W+\w+){0,4}?\W+in\b",
    re.IGNORECASE,
)
_REF_BEFORE = 250
_REF_AFTER = 250
_FILE_BEFORE = re.compile(r"\bfiles?[\"'`\[(\s]*$", re.IGNORECASE)
_FILE_AFTER = re.compile(rf"[\"'`\])]?{_W}files?\b", re.IGNORECASE)
_NOT_A_FILE = re.compile(r"^(?:www\.|https?\b)|\.(?:com|org|net|io|dev)$", re.IGNORECASE)

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
    if m := _FIELD_WITH_EXCEPTION.fullmatch(value):
        # "GPLv2 with Classpath exception": the license, then its exception, or None.
        base = field_license(m.group(1))
        if base and " WITH " not in base:
            spdx = with_exceptions(base, f" {name} ", 0, full_text=False)
            return spdx if " WITH " in spdx else None
    return None


_FIELD_WITH_EXCEPTION = re.compile(r"(.+?)\s+(?:with|\+)\s+.*\bexceptions?\b.*", re.IGNORECASE)


# Exceptions that headers and tags name although the SPDX list has no entry for them: the
# generic "OpenSSL exception" (the FSF's template for linking GPL code with OpenSSL; the
# list only has project-specific variants of it).
_EXTRA_EXCEPTIONS = ("OpenSSL-exception",)


@cache
def _licensing():
    spdx = get_spdx_licensing()
    known = {key.casefold() for key in spdx.known_symbols}
    extra = [
        LicenseSymbol(key, is_exception=True)
        for key in _EXTRA_EXCEPTIONS
        if key.casefold() not in known
    ]
    if not extra:
        return spdx
    return Licensing([*spdx.known_symbols.values(), *extra])


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
    return f"{family}-{version}-{'or-later' if later else 'only'}"


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
    return sig.id


# ---------------------------------------------------------------------------- exceptions

_GNU = frozenset({"GPL", "LGPL", "AGPL"})
_APACHE = frozenset({"Apache"})
GENERIC_EXCEPTION = "LicenseRef-scancode-generic-exception"


@dataclass(frozen=True)
class _Exception:
    id: str
    families: frozenset[str]
    pattern: re.Pattern[str]
    near: int = 0  # > 0: must occur within this many characters after the license's name


def _exception(spdx: str, families: frozenset[str], *patterns: str, near: int = 0) -> _Exception:
    return _Exception(spdx, families, re.compile("|".join(f" {p} " for p in patterns)), near)


# Each exception by its own wording, on normalised text (lower case, punctuation a space,
# "licence" spelt "license"); the more specific of two related wordings first.
_EXCEPTIONS = (
    _exception(
        "Linux-syscall-note", _GNU, "user programs that use kernel services by normal system calls"
    ),
    _exception(
        "Classpath-exception-2.0",
        _GNU,
        "classpath exception",
        "permission to link this library with independent modules to produce an executable",
    ),
    _exception(
        "LicenseRef-scancode-gcc-exception-3.0",
        _GNU,
        r"gcc runtime library exception(?: version)? 3 0",
    ),
    _exception("GCC-exception-3.1", _GNU, "gcc runtime library exception"),
    _exception(
        "GCC-exception-2.0", _GNU, "unlimited permission to link the compiled version of this"
    ),
    _exception("Autoconf-exception-macro", _GNU, r"autoconf macro (?:s )?copyright owner"),
    _exception("Autoconf-exception-3.0", _GNU, "autoconf configure script exception"),
    _exception(
        "Autoconf-exception-generic-3.0",
        _GNU,
        "contains a configuration script generated by autoconf"
        r"(?= .{0,400}? this exception is an additional permission under section 7)",
    ),
    _exception(
        "Autoconf-exception-generic", _GNU, "contains a configuration script generated by autoconf"
    ),
    _exception("Autoconf-exception-2.0", _GNU, "configure scripts that are the output of autoconf"),
    _exception("Bison-exception-2.2", _GNU, "part or all of the bison parser skeleton"),
    _exception("Bison-exception-1.24", _GNU, "copied by bison into a bison output file"),
    _exception("Libtool-exception", _GNU, "built using gnu libtool"),
    _exception("Font-exception-2.0", _GNU, "if you create a document which uses this font"),
    _exception(
        "GPL-3.0-linking-source-exception",
        _GNU,
        "corresponding source for a non source form of such a combination shall include the source",
    ),
    _exception(
        "GPL-3.0-linking-exception",
        _GNU,
        "grant you additional permission to convey the resulting work",
    ),
    _exception(
        "cryptsetup-OpenSSL-exception",
        _GNU,
        "with the openssl library under certain conditions as described in each individual"
        " source file",
    ),
    _exception(
        "openvpn-openssl-exception",
        _GNU,
        r"openvpn [a-z0-9 ]{0,80}?permission to link the code of this program with the openssl",
    ),
    _exception(
        "x11vnc-openssl-exception",
        _GNU,
        "permission to link the code of its release of x11vnc with the openssl",
    ),
    _exception(
        "OpenSSL-exception",
        _GNU,
        r"permission to (?:link|combine) [a-z0-9 ]{0,120}?openssl",
        r"openssl exception",
    ),
    _exception(
        "Qt-GPL-exception-1.0", _GNU, r"license gpl3 except", r"qt company gpl exception 1 0"
    ),
    _exception("Digia-Qt-LGPL-exception-1.1", _GNU, "digia qt lgpl exception version 1 1"),
    _exception("Qt-LGPL-exception-1.1", _GNU, "lgpl exception version 1 1"),
    _exception(
        "OCaml-LGPL-linking-exception",
        _GNU,
        "with a publicly distributed version of the library to produce an executable file",
    ),
    _exception(
        "LGPL-3.0-linking-exception",
        _GNU,
        "without providing any minimal corresponding source or minimal application code",
    ),
    _exception("WxWindows-exception-3.1", _GNU, r"wx(?:windows|widgets)(?: library)? license"),
    _exception(
        "mif-exception",
        _GNU,
        "if you use inline functions from this file this file does not by itself cause the"
        " resulting executable",
    ),
    _exception(
        "eCos-exception-2.0", _GNU, "link it with other works to produce a work based on this file"
    ),
    _exception("GNAT-exception", _GNU, "if other files instantiate generics from this unit"),
    _exception(
        "GNU-compiler-exception",
        _GNU,
        "if you link this library with files compiled with a gnu compiler",
    ),
    _exception(
        "Texinfo-exception",
        _GNU,
        "when this file is read by tex when processing a texinfo source document",
    ),
    _exception("freertos-exception-2.0", _GNU, "freertos exception"),
    _exception("Universal-FOSS-exception-1.0", _GNU, "universal foss exception"),
    _exception("GPL-CC-1.0", _GNU, "gpl cooperation commitment"),
    _exception(
        "LLVM-exception",
        _APACHE,
        r"llvm exceptions?",
        "portions of this software are embedded into an object form of such source code",
        near=300,
    ),
    _exception("Swift-exception", _APACHE, "with runtime library exception", near=300),
)
# A notice that has an exception without naming it: "GNU GPL v2 with a linking exception",
# "... version 2, with the following exception", close after the license's name, or the
# words that open an exception's text anywhere in the notice. "With the exception of" is
# a carve-out, not an exception to the license.
_GENERIC_WITH = re.compile(
    r" (?:with|plus) (?:a |an |the |some )?(?:[a-z0-9]+ ){0,3}?exceptions?(?! of )(?= )"
)
_GENERIC_TEXT = re.compile(
    r" linking exception | as a special exception | additional permission under (?:gnu )?gpl"
    r"(?: version)? 3 section 7 "
)
_GENERIC_NEAR = 200
_OTHER_LICENSE = re.compile(
    r" (?:apache|mit|bsd|mozilla|mpl|eclipse|epl|isc|boost|llvm|artistic|cddl|zlib|python|psf"
    r"|unlicense|cc0|creative) "
)
_EXCEPTION_BEFORE = 300
_EXCEPTION_AFTER = 4000
_TEXT_EXCEPTION_BEFORE = 4000
_TEXT_EXCEPTION_AFTER = 40000
_GENERIC_AFTER = 1500
# A license name standing for a license with an exception.
_STANDALONE = (
    (
        re.compile(r" wx(?:windows|widgets)(?: library)? license "),
        "LGPL-2.0-or-later WITH WxWindows-exception-3.1",
    ),
)


def with_exceptions(spdx: str, padded: str, offset: int, *, full_text: bool) -> str:
    """The license found at ``offset`` with the exceptions its text grants, if any.

    Each exception has to be worded near the license (a file can hold several licenses):
    in a notice, from a little before it to a few paragraphs after; in a full license text,
    anywhere in the text around it. A notice that says it has an exception that none of the
    known wordings identifies gets the generic one, so that the exception is not lost.
    """
    if " WITH " in spdx:
        return spdx
    family = _family_of(spdx)
    if family not in _GNU and family not in _APACHE:
        return spdx
    before, after = (
        (_TEXT_EXCEPTION_BEFORE, _TEXT_EXCEPTION_AFTER)
        if full_text
        else (_EXCEPTION_BEFORE, _EXCEPTION_AFTER)
    )
    start = max(offset - before, 0)
    found: list[tuple[int, str]] = []
    for exc in _EXCEPTIONS:
        if family not in exc.families:
            continue
        # A notice's LLVM exception is in its first line; a full text's anywhere in it.
        if exc.near and not full_text:
            m = exc.pattern.search(padded, offset, offset + exc.near)
        else:
            m = exc.pattern.search(padded, start, offset + after)
        if m and not any(spdx_id == exc.id for _, spdx_id in found):
            found.append((m.start(), exc.id))
    for m in _named_exceptions().finditer(padded, start, offset + after):
        exc_id = _exception_ids()[m.group(1)]
        if (family in _APACHE) == (exc_id in _APACHE_EXCEPTIONS) and all(
            exc_id != other for _, other in found
        ):
            found.append((m.start(), exc_id))
    if not found and family in _GNU and not full_text and _unnamed_exception(padded, start, offset):
        found.append((0, GENERIC_EXCEPTION))
    if not found:
        return spdx
    found = _drop_related(found)
    if len(found) == 1:
        expression = f"{spdx} WITH {found[0][1]}"
    else:
        expression = " AND ".join(f"({spdx} WITH {exc})" for _, exc in sorted(found))
    parsed = parse_expression(expression)
    return parsed[0] if parsed else expression


def _unnamed_exception(padded: str, start: int, offset: int) -> bool:
    end = offset + _GENERIC_AFTER
    if _GENERIC_TEXT.search(padded, start, end):
        return True
    for name in _GNU_FAMILY.finditer(padded, start, end):
        m = _GENERIC_WITH.search(padded, name.end(), name.end() + _GENERIC_NEAR)
        # "GPL v3; parts under the Apache License with LLVM exceptions": not the GPL's.
        if m and not _OTHER_LICENSE.search(padded, name.end(), m.end()):
            return True
    return False


_APACHE_EXCEPTIONS = frozenset({"LLVM-exception", "Swift-exception"})


@cache
def _exception_ids() -> dict[str, str]:
    """The SPDX list's exception ids as a notice spells them in words ("GPL-2.0 WITH
    Linux-syscall-note", "... the GCC-exception-3.1"), normalised, to the ids."""
    ids = {}
    for symbol in _licensing().known_symbols.values():
        key = symbol.key
        # Deprecated license ids with an exception in them ("GPL-2.0-with-GCC-exception")
        # and a license whose id ends in "exception" are not exceptions to name.
        if not symbol.is_exception or key.startswith("LicenseRef-") or "-with-" in key:
            continue
        if key == "MPL-2.0-no-copyleft-exception":
            continue
        if "exception" in key.lower() or "note" in key.lower() or key == "GPL-CC-1.0":
            ids[_normalise_phrase(key)] = key
    return ids


@cache
def _named_exceptions() -> re.Pattern[str]:
    names = sorted(_exception_ids(), key=len, reverse=True)
    return re.compile(" (" + "|".join(re.escape(n) for n in names) + ") ")


def _drop_related(found: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """One exception of each group whose wordings overlap: the first, most specific, one."""
    groups = (
        {"Autoconf-exception-generic-3.0", "Autoconf-exception-generic"},
        {"Autoconf-exception-macro", "Autoconf-exception-2.0"},
        {"LicenseRef-scancode-gcc-exception-3.0", "GCC-exception-3.1"},
        {"GPL-3.0-linking-source-exception", "GPL-3.0-linking-exception"},
        {
            "cryptsetup-OpenSSL-exception",
            "openvpn-openssl-exception",
            "x11vnc-openssl-exception",
            "OpenSSL-exception",
            "GPL-3.0-linking-exception",
        },
        {"Digia-Qt-LGPL-exception-1.1", "Qt-LGPL-exception-1.1"},
    )
    kept: list[tuple[int, str]] = []
    for at, exc in found:
        group = next((g for g in groups if exc in g), {exc})
        if not any(other in group for _, other in kept):
            kept.append((at, exc))
    return kept


def _family_of(spdx: str) -> str:
    return spdx.split("-", 1)[0]


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
    if not any(_family_of(s) in _GNU for s in found):
        for pattern, spdx in _STANDALONE:
            if m := pattern.search(region.padded):
                found[spdx] = m.start()
    padded = region.padded
    ordered = sorted(found.items(), key=lambda item: item[1])
    return [
        (
            with_exceptions(spdx, padded, offset, full_text=spdx in texts),
            region.line_at(offset),
        )
        for spdx, offset in ordered
    ]


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
    version = "2"

    def prepare(self, policy: Policy) -> None:
        """Load the SPDX license index and read the policy's allowed and denied licenses
        now (both cached), before scanning."""
        _with_policy([], policy)

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
            tag = _tag_value(m.group(1))
            if tag is None or tag[0] in seen:
                continue
            value, written = tag
            seen.add(value)
            line = _line_of(newlines, m.start())
            excerpt = f"SPDX-License-Identifier: {written.strip()}".strip()[:200]
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
        licen_at = lowered.find("licen")
        references = self._references(head, lowered, licen_at)
        first = [i for i in (lowered.find(word) for word in _GATE_WORDS[1:]) if i >= 0]
        if licen_at >= 0:
            first.append(licen_at)
        if not first:
            return references
        return self._notices(head, lowered, first) + self._fields(head, lowered) + references

    def _references(self, head: str, lowered: str, licen_at: int) -> list[_Match]:
        found: list[_Match] = []
        seen: set[str] = set()
        for m in _reference_matches(head, lowered, licen_at):
            group = next(g for g in ("file", "name", "in_name") if m.group(g))
            name = m.group(group)
            if name in seen or _NOT_A_FILE.search(name) or _identifier_like(name):
                continue
            if group == "name" and not _names_a_file(head, m.start(), m.start(group), m.end()):
                continue
            seen.add(name)
            line = head.count("\n", 0, m.start(group)) + 1
            lines_excerpt = head[head.rfind("\n", 0, m.start(group)) + 1 :].split("\n", 1)[0]
            found.append(
                _Match(name, (), RULE_REFERENCE, line, lines_excerpt.strip()[:200], "reference")
            )
        return found

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


def _reference_matches(head: str, lowered: str, licen_at: int):
    """Matches of the reference pattern, searched only around the words a reference needs
    (every one names a license, copying or copyright file or notice): a head is long, and
    the pattern cannot be found by a literal. ``licen_at`` is where "licen" first occurs."""
    spots: list[int] = []
    at = licen_at
    while at >= 0:
        if _REF_SPOT.match(head, at) or _after_file(lowered, at):
            spots.append(at)
        at = lowered.find("licen", at + 5)
    at = lowered.find("copy")
    while at >= 0:
        if lowered.startswith(("copyright", "copying"), at) and _REF_SPOT.match(head, at):
            spots.append(at)
        at = lowered.find("copy", at + 4)
    if not spots:
        return
    spots.sort()
    windows: list[list[int]] = []
    for at in spots:
        start = lowered.rfind("\n", 0, max(at - _REF_BEFORE, 0)) + 1
        end = at + _REF_AFTER
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        else:
            windows.append([start, end])
    for start, end in windows:
        yield from _REFERENCE.finditer(head, start, min(end, len(head)))


def _after_file(lowered: str, at: int) -> bool:
    """Whether the word at ``at`` follows the word "file" ("see the file license")."""
    return lowered[max(at - 8, 0) : at].rstrip(" \t\"'`[(").endswith("file")


def _names_a_file(head: str, start: int, name_start: int, name_end: int) -> bool:
    """A name written as a file's is one: upper case (LICENSE), with an extension
    (license.txt) or a folder; in lower case a word ("the license") only beside "file"."""
    name = head[name_start:name_end]
    if "." in name or "/" in name or name.isupper():
        return True
    return bool(_FILE_BEFORE.search(head, start, name_start) or _FILE_AFTER.match(head, name_end))


def _identifier_like(name: str) -> bool:
    """A constant's name (LICENSE_FILE, COPYING_TEXT) rather than a file's: an underscore
    and no extension."""
    base = name.rsplit("/", 1)[-1]
    return "_" in base and "." not in base


def _keys(spdx: str) -> tuple[str, ...]:
    parsed = parse_expression(spdx)
    return parsed[1] if parsed else (spdx,)


def _excerpt(lines: list[str], line: int) -> str:
    return lines[line - 1].strip()[:200] if 1 <= line <= len(lines) else ""


def _tag_value(raw: str) -> tuple[str, str] | None:
    """The expression of a tag and the tag as written up to its end; None for template code
    or for a quoted mention of the tag name alone (``TAG = "SPDX-License-Identifier:"``)."""
    end = _TAG_END.search(raw)
    written = raw[: end.start()] if end else raw
    if end and not written.strip() and end.group(0) in _QUOTES:
        return None
    # Markdown emphasis around the tag or the value: **SPDX-License-Identifier:** MIT
    written = written.strip().strip("*_~").strip()
    value = written.rstrip(",;").strip()
    if value.count(")") > value.count("("):
        value = value.rstrip(")").strip()
    if _TEMPLATE_CHARS.search(value):
        return None
    return value, written


def _newline_offsets(text: str) -> list[int]:
    return [m.start() for m in re.finditer("\n", text)]


def _line_of(newlines: list[int], offset: int) -> int:
    return bisect_left(newlines, offset) + 1


def _dedupe(matches: list[_Match]) -> list[_Match]:
    """One finding per license: a header that repeats what a tag says adds nothing, and
    neither does one with an unnamed exception beside a tag naming the same license's."""
    tagged = {key for m in matches if m.how == "spdx-tag" for key in m.keys}
    tagged |= {m.expression for m in matches if m.how == "spdx-tag"}
    tagged_with = {
        key for m in matches if m.how == "spdx-tag" and " WITH " in m.expression for key in m.keys
    }
    kept: list[_Match] = []
    seen: set[tuple[str, str]] = set()
    for m in matches:
        is_tag = m.how == "spdx-tag"
        if not is_tag and m.how != "reference":
            if m.expression in tagged:
                continue
            named = [k for k in m.keys if k != GENERIC_EXCEPTION]
            if len(named) < len(m.keys) and named and all(k in tagged_with for k in named):
                continue
        if (m.how, m.expression) in seen:
            continue
        seen.add((m.how, m.expression))
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
        if m.rule == RULE_REFERENCE:
            findings.append(
                Finding(
                    kind=Kind.LICENSE,
                    rule=RULE_REFERENCE,
                    severity=Severity.INFO,
                    line=m.line,
                    message=f"License by reference: see {m.expression}",
                    excerpt=m.excerpt,
                    identity=m.expression,
                    data={"source": "reference", "reference": m.expression},
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
    unnamed = (
        " (the text has an exception it does not name)" if GENERIC_EXCEPTION in m.expression else ""
    )
    if rule == RULE_DENIED:
        return f"{source}: {m.expression}, which policy denies{unnamed}"
    if rule == RULE_NOT_ALLOWED:
        return f"{source}: {m.expression}, which is not on the policy's allow-list{unnamed}"
    return f"{source}: {m.expression}{unnamed}"
