"""Copyright statements: who holds the copyright of a file, and for which years.

A statement is "Copyright", "(C)", "©" or ``SPDX-FileCopyrightText:`` followed by years and
a holder, on the same line or wrapped onto the next. The word "copyright" alone is
everywhere in license texts and code ("the copyright holders", ``copyright_notice = ...``),
so a statement needs a year, or the word together with a copyright sign, or the SPDX tag;
without those, only "Copyright: Name" or a line opening with "Copyright Name" counts, and
the name must read like one. Templates ("<year> <copyright holders>", "{{ author }}") are
not statements. Only the head of a source file is read, since that is where statements
live; files that exist to hold them (LICENSE, NOTICE, AUTHORS, COPYRIGHT) are read whole.

A finding's data has the holder and the years apart: ``holder`` as written (e-mail kept,
"All rights reserved", trailing "and", "&" and punctuation dropped, a holder wrapped onto
the next comment line joined), ``years`` as written ("2001, 2003-2005", "2007-present", ""
when none) and ``year_list``, the years it covers (an open "-present" range counts its first
year only).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import NamedTuple

from scans.detectors.base import Finding, Kind, Policy, Severity

HEAD_BYTES = 32 * 1024
HEAD_LINES = 200
NOTICE_FILE_BYTES = 512 * 1024
BINARY_SNIFF_BYTES = 8 * 1024
MAX_HOLDER = 120

RULE_STATEMENT = "copyright-statement"

_NOTICE_FILE_NAME = re.compile(
    r"^(?:licen[cs]e|copying|notice|authors|copyright|credits|contributors)(?:[-._].*)?$",
    re.IGNORECASE,
)
_START = re.compile(r"SPDX-FileCopyrightText:|\bcopyright\b|\(c\)|©|&copy;", re.IGNORECASE)
_PORTIONS = re.compile(r"\bportions\s+$", re.IGNORECASE)
_MARK = re.compile(r"\s*(?:(\(c\)|©|&copy;)|(copyright\b)|:)", re.IGNORECASE)
_YEAR = r"(?:19|20)\d\d"
# The end of a range: a year, two digits ("2010-12"), or an open end ("-present", "to now").
_RANGE_END = r"(?:(?:19|20)\d\d|\d\d|(?:the\s+)?present|now)"
_DASH = r"\s*(?:-|–|—|\bto\b)\s*"
_YEAR_ITEM = re.compile(
    rf"\s*(?P<text>(?P<start>{_YEAR})(?:{_DASH}(?P<end>{_RANGE_END})\b)?)(?!\d)\s*[,;]?",
    re.IGNORECASE,
)
_BY = re.compile(r"\s*by\s+", re.IGNORECASE)
_HOLDER_END = re.compile(
    r"\ball rights\b|;|\*/|-->|\"|\\|\t| {3,}|\blicen[cs]ed under\b"
    r"|\breleased under\b|\bspdx-license-identifier\b"
    r"|\bsee (?:the )?(?:file )?(?:licen[cs]e|copying|copyright)\b|(?<=\.)\s+see\b",
    re.IGNORECASE,
)
_TRAILING_YEARS = re.compile(
    rf"[\s,]+({_YEAR}(?:{_DASH}{_RANGE_END}\b)?(?:\s*,\s*{_YEAR}(?:{_DASH}{_RANGE_END}\b)?)*)\W*$",
    re.IGNORECASE,
)
# "Foo and", "Foo &", "Foo, and/or": a holder cut where the line ended.
_TRAILING_CONJUNCTION = re.compile(r"(?:\s*,)?\s*(?:\band/or|\band|&)$", re.IGNORECASE)
# A next line that goes on with the holder: "and contributors", "& Sons Ltd.".
_CONTINUES = re.compile(r"(?:and/or|and|&)\s+(?=\S)", re.IGNORECASE)
# After "and": words that start a sentence about the file, not a name.
_NOT_A_NAME = re.compile(
    r"^(?:is|are|was|were|has|have|had|be|been|may|can|could|shall|should|will|would|must"
    r"|you|it|its? (?:use|terms)|this|that|these|those|licen[cs]ed|released|distributed"
    r"|provided|made|permission|all|any|no|not|without|subject|under|used|modified|see)\b",
    re.IGNORECASE,
)
# A "holder" that is a license's name: " * Steven Levithan (c) 2008-present MIT License"
# names the holder before the mark.
_LICENSE_NAME = re.compile(r"\blicen[cs]e[sd]?$", re.IGNORECASE)
_EMAIL = re.compile(r"<[^<>\s]+@[^<>\s]+>|\S+@\S+\.\w+|<https?://[^>]*>|\(?https?://\S+\)?")
_PLACEHOLDER = re.compile(
    r"[<>\[\]{}$=;]|%[sd(]|\byyyy\b|\byear\b|\bname of\b|\bcopyright (?:holder|owner)s?\b"
    r"|^(?:the )?(?:author|authors|owner|holder|holders|fullname|name)$",
    re.IGNORECASE,
)
_PROSE_START = re.compile(
    r"^(?:notices?|holders?|owners?|laws?|and|or|of|is|are|was|statements?|licen[cs]e|info"
    r"|information|protection|infringement|claims?|to|for|in|on|the (?:above|following|copyright)"
    r"|this|that|these|such|may|shall|will|must|rights?|interest|assignment|date|year|years"
    r"|acts?|office|policy|policies|disclaimer|permission|registration|status|see|ownership"
    r"|terms?|violations?|protected|symbol|sign|page|notification|clearance|issues?)\b",
    re.IGNORECASE,
)
_ABBREVIATION_END = re.compile(
    r"\b(?:inc|corp|co|ltd|llc|l\.l\.c|gmbh|ag|s\.a|b\.v|n\.v|plc|pty|jr|sr|al)\.$", re.IGNORECASE
)
_IDENTITY_DROP = re.compile(r"[^\w&]+")
_CODE_PUNCTUATION = re.compile(r"[_()=]|\.\w+\(|^\w+\.\w")
_COMMENT_PREFIX = re.compile(r"[ \t]*(?:#+|//+|/?\*+|;+|--|%+|<!--|rem\b|dnl\b)?[ \t]*", re.I)


def _years(items: list[tuple[str, str]]) -> list[int]:
    years: set[int] = set()
    for start_text, end_text in items:
        start = int(start_text)
        years.add(start)
        if not end_text or not end_text.isdigit():
            continue
        end = int(end_text)
        if end < 100:
            end += start - start % 100
        if start < end <= start + 100:
            years.update(range(start + 1, end + 1))
    return sorted(years)


def _clean_holder(holder: str) -> tuple[str, bool]:
    """The holder without what follows it, and whether something visibly ended it there
    ("All rights reserved", a comment closer, a license phrase)."""
    end = _HOLDER_END.search(holder)
    if end:
        holder = holder[: end.start()]
    holder = holder.strip().strip("*#/").strip()
    while True:
        before = holder
        holder = holder.rstrip(",;:-'").rstrip()
        holder = _TRAILING_CONJUNCTION.sub("", holder).rstrip()
        if holder == before:
            break
    if holder.endswith(".") and not _ABBREVIATION_END.search(holder):
        holder = holder[:-1].rstrip()
    return holder[:MAX_HOLDER], end is not None


def holder_identity(holder: str) -> str:
    """The holder as compared across files: no e-mail or URL, case and punctuation folded."""
    return " ".join(_IDENTITY_DROP.sub(" ", _EMAIL.sub(" ", holder)).casefold().split())


def _valid_holder(holder: str, *, strict: bool = False) -> bool:
    """Whether text after a copyright mark names someone; ``strict`` for weak marks.

    A statement with neither a year nor a copyright sign ("Copyright Ansible Project",
    "Copyright: The Authors") names its holder only if it reads like a name: capitalised,
    no code punctuation.
    """
    bare = _EMAIL.sub(" ", holder).strip()
    if sum(c.isalpha() for c in bare) < 2:
        return False
    if _PLACEHOLDER.search(bare) or _PROSE_START.match(bare):
        return False
    if strict and not (bare[0].isupper() and _CODE_PUNCTUATION.search(bare) is None):
        return False
    return bare[0].isalnum() or bare[0] in "(@'"


class Statement(NamedTuple):
    holder: str
    years: list[int]
    years_text: str  # as written: "2001, 2003-2005", "2007-present", "" when none
    wrapped: bool  # whether the statement went on to the next line


def parse_statement(
    line_rest: str,
    start_token: str,
    *,
    next_line: str = "",
    at_line_start: bool = False,
    line_before: str = "",
) -> Statement | None:
    """Holder and years of a statement whose start token has just been read, or None.

    ``line_rest`` is the rest of the line after the token, ``line_before`` the part of the
    line before it. Years or the holder may go on to ``next_line`` (the following line of
    the comment): the result says whether they did.
    """
    token = start_token.lower()
    is_spdx = token.startswith("spdx")
    has_word = token == "copyright"
    has_symbol = not (is_spdx or has_word)
    has_colon = False
    pos = 0
    while m := _MARK.match(line_rest, pos):
        has_symbol = has_symbol or bool(m.group(1))
        has_word = has_word or bool(m.group(2))
        has_colon = has_colon or not (m.group(1) or m.group(2))
        pos = m.end()
    items, written, pos = _year_items(line_rest, pos)
    rest, wrapped = line_rest[pos:], False
    if not rest.strip() and next_line and (items or has_symbol or is_spdx):
        rest = _COMMENT_PREFIX.sub("", next_line, count=1)
        more, more_written, pos = _year_items(rest, 0)
        items, rest, wrapped = items + more, rest[pos:], True
        glue = ", " if line_rest.rstrip().endswith(",") else " "
        written = glue.join(w for w in (written, more_written) if w)
    if by := _BY.match(rest):
        rest = rest[by.end() :]
    holder, ended = _clean_holder(rest)
    weak_years = False  # years after the holder of a statement with only the word
    if not items:
        trailing = _TRAILING_YEARS.search(holder)
        strong = has_symbol or is_spdx
        if trailing and (strong or (has_word and (has_colon or at_line_start))):
            items = [(m["start"], m["end"] or "") for m in _YEAR_ITEM.finditer(trailing.group(1))]
            written = trailing.group(1).strip()
            holder, ended = _clean_holder(holder[: trailing.start()])
            weak_years = not strong
    if (items and not weak_years) or is_spdx or (has_word and has_symbol):
        strict = False
    elif has_word and (has_colon or at_line_start):
        strict = True
    else:
        return None
    if not wrapped and not ended and holder and next_line:
        joined = _wrapped_holder(holder, rest, next_line)
        if joined is not None:
            holder, wrapped = joined, True
    if _LICENSE_NAME.search(holder):
        holder = _clean_holder(_COMMENT_PREFIX.sub("", line_before, count=1))[0]
        strict = True
    if not _valid_holder(holder, strict=strict):
        return None
    return Statement(holder, _years(items), written, wrapped)


def _wrapped_holder(holder: str, rest: str, next_line: str) -> str | None:
    """The holder joined with the next comment line when that line goes on with it:
    "The Foo Project" + "and contributors", or "Foo and" + "Bar Ltd."."""
    line = _COMMENT_PREFIX.sub("", next_line, count=1).strip()
    if not line or _START.match(line):
        return None
    if rest.rstrip().endswith(",") and (suffix := _COMPANY_SUFFIX.match(line)):
        # "Free Software Foundation," + "Inc."
        return f"{holder}, {suffix.group(0)}"
    head = _CONTINUES.match(line)
    open_end = _TRAILING_CONJUNCTION.search(rest.rstrip().rstrip(",.").rstrip())
    if not (head or open_end):
        return None
    tail = line[head.end() :] if head else line
    if _NOT_A_NAME.match(tail) or _START.search(tail):
        return None
    more = _clean_holder(tail)[0]
    if sum(c.isalpha() for c in more) < 2 or len(more) > 60 or len(more.split()) > 8:
        return None
    if not (more[0].isupper() or more.split()[0].lower() in _CONTINUING_WORDS):
        return None
    bare = _EMAIL.sub(" ", more)
    if _PLACEHOLDER.search(bare) or _CODE_PUNCTUATION.search(bare):
        return None
    glue = open_end.group(0) if open_end else " " + head.group(0).strip()
    return _clean_holder(f"{holder}{glue} {more}")[0]


_COMPANY_SUFFIX = re.compile(
    r"(?:inc|ltd|llc|l\.l\.c|gmbh|corp|corporation|co|ag|s\.a|b\.v|n\.v|plc|pty|limited)\b\.?",
    re.IGNORECASE,
)
# Lower-case words that go on a holder after "and": "and contributors", "and its affiliates".
_CONTINUING_WORDS = frozenset(
    {"contributors", "other", "others", "individual", "its", "their", "the", "various", "many"}
)


def _year_items(text: str, pos: int) -> tuple[list[tuple[str, str]], str, int]:
    """Years and ranges from ``pos``, the stretch of text they were written in, where they end."""
    items: list[tuple[str, str]] = []
    first = last = -1
    while m := _YEAR_ITEM.match(text, pos):
        items.append((m["start"], m["end"] or ""))
        first = m.start("text") if first < 0 else first
        last = m.end("text")
        pos = m.end()
    return items, text[first:last] if items else "", pos


def _region(data: bytes, filename: str) -> str:
    name = filename.rsplit("/", 1)[-1]
    if _NOTICE_FILE_NAME.match(name):
        return data[:NOTICE_FILE_BYTES].decode("utf-8", errors="replace")
    text = data[:HEAD_BYTES].decode("utf-8", errors="replace")
    lines = text.split("\n", HEAD_LINES)
    if len(lines) <= HEAD_LINES:
        return text
    return text[: len(text) - len(lines[-1]) - 1]


class CopyrightDetector:
    """Copyright statements with their holder and years, one finding per statement."""

    kind = Kind.COPYRIGHT
    version = "2"

    def scan(self, data: bytes, *, filename: str, policy: Policy) -> list[Finding]:
        if b"\0" in data[:BINARY_SNIFF_BYTES]:
            return []
        text = _region(data, filename)
        lowered = text.lower()
        if not any(mark in lowered for mark in ("copyright", "(c)", "©", "&copy;")):
            return []
        newlines = [m.start() for m in re.finditer("\n", text)]
        findings: list[Finding] = []
        seen: set[tuple[str, tuple[int, ...]]] = set()
        consumed_to = -1
        for m in _START.finditer(text):
            if m.start() < consumed_to:
                continue
            line_index = bisect_left(newlines, m.start())
            line_end = newlines[line_index] if line_index < len(newlines) else len(text)
            line_start = newlines[line_index - 1] + 1 if line_index else 0
            next_end = newlines[line_index + 1] if line_index + 1 < len(newlines) else len(text)
            parsed = parse_statement(
                text[m.end() : line_end],
                m.group(0),
                next_line=text[line_end + 1 : next_end] if line_end < len(text) else "",
                at_line_start=_COMMENT_PREFIX.match(text, line_start).end() == m.start(),
                line_before=text[line_start : m.start()],
            )
            if parsed is None:
                continue
            consumed_to = next_end if parsed.wrapped else line_end
            identity = holder_identity(parsed.holder)
            key = (identity, tuple(parsed.years))
            if key in seen:
                continue
            seen.add(key)
            portions = bool(_PORTIONS.search(text[max(line_start, m.start() - 20) : m.start()]))
            data_out: dict = {
                "holder": parsed.holder,
                "years": parsed.years_text,
                "year_list": parsed.years,
            }
            if portions:
                data_out["portions"] = True
            years = f"{parsed.years_text} " if parsed.years_text else ""
            findings.append(
                Finding(
                    kind=Kind.COPYRIGHT,
                    rule=RULE_STATEMENT,
                    severity=Severity.INFO,
                    line=line_index + 1,
                    message=f"Copyright {years}{parsed.holder}",
                    excerpt=text[line_start:line_end].strip()[:200],
                    identity=identity,
                    data=data_out,
                )
            )
        return findings
