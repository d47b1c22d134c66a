"""Copyright statements: who holds the copyright of a file, and for which years.

A statement is "Copyright", "(C)", "©" or ``SPDX-FileCopyrightText:`` followed by years and
a holder, on the same line or wrapped onto the next. The word "copyright" alone is
everywhere in license texts and code ("the copyright holders", ``copyright_notice = ...``),
so a statement needs a year, or the word together with a copyright sign, or the SPDX tag;
without those, only "Copyright: Name" or a line opening with "Copyright Name" counts, and
the name must read like one. Templates ("<year> <copyright holders>", "{{ author }}") are
not statements. Only the head of a source file is read, since that is where statements
live; files that exist to hold them (LICENSE, NOTICE, AUTHORS, COPYRIGHT) are read whole.
"""

from __future__ import annotations

import re
from bisect import bisect_left

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
_YEAR_ITEM = re.compile(
    r"\s*((?:19|20)\d\d)(?:\s*(?:-|–|—|to)\s*((?:19|20)\d\d|\d\d|present|now)\b)?(?!\d)\s*[,;]?",
    re.IGNORECASE,
)
_BY = re.compile(r"\s*by\s+", re.IGNORECASE)
_HOLDER_END = re.compile(
    r"\ball rights\b|;|\*/|-->|\"|\\|\t| {3,}|\blicen[cs]ed under\b"
    r"|\breleased under\b|\bspdx-license-identifier\b|\bsee (?:the )?(?:file )?licen[cs]e\b",
    re.IGNORECASE,
)
_TRAILING_YEARS = re.compile(
    r"[\s,]+((?:19|20)\d\d(?:\s*[-–—]\s*(?:(?:19|20)\d\d|\d\d|present|now))?(?:\s*,\s*(?:19|20)\d\d)*)\W*$"
)
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


def _clean_holder(holder: str) -> str:
    end = _HOLDER_END.search(holder)
    if end:
        holder = holder[: end.start()]
    holder = holder.strip().strip("*#/").strip()
    holder = holder.rstrip(",;:-'").rstrip()
    if holder.endswith(".") and not _ABBREVIATION_END.search(holder):
        holder = holder[:-1].rstrip()
    return holder[:MAX_HOLDER]


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


def parse_statement(
    line_rest: str, start_token: str, *, next_line: str = "", at_line_start: bool = False
) -> tuple[str, list[int], bool] | None:
    """Holder and years of a statement whose start token has just been read, or None.

    The third value says whether the statement went on to ``next_line`` (years or holder
    wrapped onto the following line of the comment).
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
    items, pos = _year_items(line_rest, pos)
    rest, wrapped = line_rest[pos:], False
    if not rest.strip() and next_line and (items or has_symbol or is_spdx):
        rest = _COMMENT_PREFIX.sub("", next_line, count=1)
        more, pos = _year_items(rest, 0)
        items, rest, wrapped = items + more, rest[pos:], True
    if by := _BY.match(rest):
        rest = rest[by.end() :]
    holder = _clean_holder(rest)
    if not items:
        trailing = _TRAILING_YEARS.search(holder)
        if trailing and (has_symbol or is_spdx):
            items = [(m.group(1), m.group(2) or "") for m in _YEAR_ITEM.finditer(trailing.group(1))]
            holder = _clean_holder(holder[: trailing.start()])
    if items or is_spdx or (has_word and has_symbol):
        strict = False
    elif has_word and (has_colon or at_line_start):
        strict = True
    else:
        return None
    if not _valid_holder(holder, strict=strict):
        return None
    return holder, _years(items), wrapped


def _year_items(text: str, pos: int) -> tuple[list[tuple[str, str]], int]:
    items: list[tuple[str, str]] = []
    while m := _YEAR_ITEM.match(text, pos):
        items.append((m.group(1), m.group(2) or ""))
        pos = m.end()
    return items, pos


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
    version = "1"

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
            )
            if parsed is None:
                continue
            holder, years, wrapped = parsed
            consumed_to = next_end if wrapped else line_end
            identity = holder_identity(holder)
            if (identity, tuple(years)) in seen:
                continue
            seen.add((identity, tuple(years)))
            portions = bool(_PORTIONS.search(text[max(line_start, m.start() - 20) : m.start()]))
            data_out: dict = {"holder": holder, "years": years}
            if portions:
                data_out["portions"] = True
            findings.append(
                Finding(
                    kind=Kind.COPYRIGHT,
                    rule=RULE_STATEMENT,
                    severity=Severity.INFO,
                    line=line_index + 1,
                    message=f"Copyright {_year_text(years)}{holder}",
                    excerpt=text[line_start:line_end].strip()[:200],
                    identity=identity,
                    data=data_out,
                )
            )
        return findings


def _year_text(years: list[int]) -> str:
    if not years:
        return ""
    if len(years) == 1:
        return f"{years[0]} "
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]} "
    return ", ".join(str(y) for y in years) + " "
