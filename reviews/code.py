"""Reads for the reviewer's view of the code: the public tree preview (the export plan of
the reviewed commit as folders, each file with its findings), one file at the reviewed
commit, and the changes between two commits the submission was reviewed at.

Git is read from the component's local mirror only (vcs.objects, scans.services'
export plan); nothing here fetches. The database is asked a fixed number of queries
whatever the number of files or findings (one for the scan, one for its findings).
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_for_filename
from pygments.util import ClassNotFound

import vcs
from core.models import AuditEvent
from reviews.models import SignOff, Submission
from scans.enums import Severity, TriageState
from scans.models import Finding, ScanRun
from scans.selectors import latest_scan
from scans.services import export_plan_for, mirror_path
from vcs import plan as export

#: Files larger than this are listed, not shown.
MAX_FILE_BYTES = 1 << 20
#: Larger files are shown without colours (highlighting them would be slow).
MAX_HIGHLIGHT_BYTES = 512 * 1024
#: The public tree page lists at most this many files (the API pages through all).
MAX_TREE_FILES = 5000
#: Hunk lines shown in one diff.
MAX_DIFF_LINES = 5000

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_SEVERITY_RANK = {Severity.BLOCKING: 0, Severity.WARNING: 1, Severity.INFO: 2}


class CodeUnavailable(Exception):
    """The code cannot be read (no mirror yet, a commit gone): the message says why."""


def mirror_of(submission: Submission) -> Path:
    repository = submission.component.internal_repository
    if repository is None:
        raise CodeUnavailable("The component has no internal repository.")
    return mirror_path(repository)


def plan_of(submission: Submission, commit: str | None = None) -> export.ExportPlan:
    try:
        return export_plan_for(submission.component, commit or submission.commit)
    except vcs.VcsError as exc:
        raise CodeUnavailable(
            f"Commit {(commit or submission.commit)[:10]} is not in Gatehouse's copy of the "
            f"repository yet ({exc}); it appears after the commit's first scan."
        ) from exc


# --------------------------------------------------------------------------- findings


def is_unsettled(finding: Finding) -> bool:
    return finding.state == TriageState.OPEN or (
        finding.severity == Severity.BLOCKING and finding.confirmed_at is None
    )


def finding_order(finding: Finding):
    """Open blocking first, then by severity, then by line."""
    return (
        not (is_unsettled(finding) and finding.severity == Severity.BLOCKING),
        not is_unsettled(finding),
        _SEVERITY_RANK.get(finding.severity, 3),
        finding.line,
        finding.pk,
    )


def scan_of(submission: Submission, commit: str | None = None) -> ScanRun | None:
    return latest_scan(
        repository_id=submission.repository_id,
        commit=commit or submission.commit,
        component_id=submission.component_id,
    )


def findings_by_path(scan: ScanRun | None, path: str | None = None) -> dict[str, list[Finding]]:
    """The scan's findings per path (one query), each list in finding_order."""
    if scan is None:
        return {}
    rows = Finding.objects.filter(scan=scan).order_by("path", "line", "pk")
    if path is not None:
        rows = rows.filter(path=path)
    grouped: dict[str, list[Finding]] = {}
    for finding in rows:
        finding.unsettled = is_unsettled(finding)
        grouped.setdefault(finding.path, []).append(finding)
    for items in grouped.values():
        items.sort(key=finding_order)
    return grouped


# --------------------------------------------------------------------------- tree


@dataclass
class TreeFile:
    planned: export.PlannedFile
    name: str
    findings: list[Finding]

    @property
    def path(self) -> str:
        return self.planned.path

    @property
    def open_findings(self) -> int:
        return sum(f.unsettled for f in self.findings)

    @property
    def blocking(self) -> int:
        return sum(f.unsettled and f.severity == Severity.BLOCKING for f in self.findings)


@dataclass
class _Folder:
    name: str
    path: str
    folders: dict[str, _Folder] = field(default_factory=dict)
    files: list[TreeFile] = field(default_factory=list)
    fates: Counter = field(default_factory=Counter)
    findings: int = 0


@dataclass
class TreePreview:
    commit: str
    plan: export.ExportPlan
    scan: ScanRun | None
    #: Flat rows for one template loop: {"kind": "open"|"close"|"file", ...}.
    rows: list[dict]
    counts: dict[str, dict[str, int]]
    files_shown: int
    files_total: int
    published_with_findings: int
    #: Findings on paths that are not files of the tree (the repository as a whole).
    other_findings: list[Finding]
    only_findings: bool = False

    @property
    def truncated(self) -> bool:
        return self.files_shown < self.files_total


def public_tree(
    submission: Submission, *, only_findings: bool = False, limit: int = MAX_TREE_FILES
) -> TreePreview:
    """The export plan of the reviewed commit as folders, each file with the findings of
    the commit's latest scan; ``only_findings`` keeps the published files with findings.
    Raises CodeUnavailable."""
    plan = plan_of(submission)
    scan = scan_of(submission)
    by_path = findings_by_path(scan)
    root = _Folder("", "")
    shown = 0
    published_with_findings = 0
    for planned in plan.files:
        findings = by_path.get(planned.path, [])
        if planned.fate == export.PUBLISHED and findings:
            published_with_findings += 1
        if only_findings and not (planned.fate == export.PUBLISHED and findings):
            continue
        if shown >= limit:
            continue
        shown += 1
        *folders, name = planned.path.split("/")
        node = root
        node.fates[planned.fate] += 1
        node.findings += len(findings)
        for part in folders:
            child = node.folders.get(part)
            if child is None:
                child = node.folders[part] = _Folder(part, f"{node.path}{part}/")
            node = child
            node.fates[planned.fate] += 1
            node.findings += len(findings)
        node.files.append(TreeFile(planned, name, findings))
    rows: list[dict] = []
    _flatten(root, rows, depth=0, open_all=only_findings)
    tree_paths = plan.by_path
    return TreePreview(
        commit=submission.commit, plan=plan, scan=scan, rows=rows, counts=plan.counts(),
        files_shown=shown,
        files_total=published_with_findings if only_findings else len(plan.files),
        published_with_findings=published_with_findings,
        other_findings=sorted(
            (f for p, items in by_path.items() if p not in tree_paths for f in items),
            key=finding_order,
        ),
        only_findings=only_findings,
    )  # fmt: skip


def _flatten(folder: _Folder, rows: list[dict], *, depth: int, open_all: bool) -> None:
    for name in sorted(folder.folders):
        child = folder.folders[name]
        rows.append(
            {
                "kind": "open", "name": child.name, "path": child.path, "depth": depth,
                "fates": dict(child.fates), "files": sum(child.fates.values()),
                "findings": child.findings,
                "open": open_all or depth == 0 or child.findings > 0,
            }
        )  # fmt: skip
        _flatten(child, rows, depth=depth + 1, open_all=open_all)
        rows.append({"kind": "close"})
    for item in sorted(folder.files, key=lambda f: f.name):
        rows.append({"kind": "file", "file": item, "depth": depth})


@dataclass
class ExportSummary:
    commit: str
    counts: dict[str, dict[str, int]] | None
    published_with_findings: int = 0
    problem: str = ""


def export_summary(submission: Submission, commit: str | None = None) -> ExportSummary:
    """Counts and sizes per fate at ``commit`` (default: the reviewed one), and how many
    published files have findings; never raises (``problem`` says what is missing)."""
    commit = commit or submission.commit
    try:
        plan = plan_of(submission, commit)
    except CodeUnavailable as exc:
        return ExportSummary(commit=commit, counts=None, problem=str(exc))
    scan = scan_of(submission, commit)
    with_findings = 0
    if scan is not None:
        paths = set(Finding.objects.filter(scan=scan).values_list("path", flat=True).distinct())
        with_findings = sum(1 for f in plan.published if f.path in paths)
    return ExportSummary(commit=commit, counts=plan.counts(), published_with_findings=with_findings)


# --------------------------------------------------------------------------- one file


class _LineCollector(HtmlFormatter):
    """An HtmlFormatter (CSS classes, no inline styles) that keeps each line's HTML."""

    def __init__(self, **options):
        super().__init__(**options)
        self.lines: list[str] = []

    def wrap(self, source):
        for kind, piece in source:
            if kind == 1:
                self.lines.append(piece.rstrip("\n"))
        return iter(())


@dataclass
class CodeLine:
    number: int
    html: str
    findings: list[Finding]


@dataclass
class FileView:
    commit: str
    planned: export.PlannedFile
    blob: vcs.BlobView
    lines: list[CodeLine]
    highlighted: bool
    #: Findings not on a line of the file (line 0, or past its end).
    file_findings: list[Finding]
    findings: list[Finding]
    scan: ScanRun | None

    @property
    def shown(self) -> bool:
        return not (self.blob.binary or self.blob.too_large)


def _code_lines(path: str, text: str) -> tuple[list[str], bool]:
    text = text.replace("\r\n", "\n")
    if len(text) <= MAX_HIGHLIGHT_BYTES:
        try:
            lexer = get_lexer_for_filename(path.rsplit("/", 1)[-1], stripnl=False)
        except ClassNotFound:
            lexer = TextLexer(stripnl=False)
        formatter = _LineCollector(cssclass="highlight")
        highlight(text, lexer, formatter)
        expected = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        lines = formatter.lines[:expected]
        if len(lines) == expected:
            return lines, not isinstance(lexer, TextLexer)
    plain = text.split("\n")
    if plain and plain[-1] == "":
        plain.pop()
    return [html.escape(line) for line in plain], False


def file_view(submission: Submission, path: str) -> FileView:
    """``path`` at the reviewed commit, with line numbers, colours and its findings. A path
    not in the commit's tree raises vcs.PathNotFound (a 404); CodeUnavailable when the
    commit is not in the mirror."""
    plan = plan_of(submission)
    planned = plan.by_path.get(path)
    if planned is None or planned.kind != "blob":
        raise vcs.PathNotFound("No such file at the reviewed commit.")
    try:
        blob = vcs.read_blob_at(
            mirror_of(submission), submission.commit, path,
            max_bytes=getattr(settings, "GATEHOUSE_CODE_VIEW_MAX_BYTES", MAX_FILE_BYTES),
        )  # fmt: skip
    except vcs.PathNotFound:
        raise
    except vcs.VcsError as exc:
        raise CodeUnavailable(str(exc)) from exc
    scan = scan_of(submission)
    findings = findings_by_path(scan, path).get(path, [])
    lines: list[CodeLine] = []
    highlighted = False
    if not (blob.binary or blob.too_large):
        rendered, highlighted = _code_lines(path, blob.text())
        by_line: dict[int, list[Finding]] = {}
        for finding in findings:
            by_line.setdefault(finding.line, []).append(finding)
        lines = [CodeLine(n, h, by_line.get(n, [])) for n, h in enumerate(rendered, start=1)]
    count = len(lines)
    return FileView(
        commit=submission.commit, planned=planned, blob=blob, lines=lines,
        highlighted=highlighted,
        file_findings=[f for f in findings if not (1 <= f.line <= count)],
        findings=findings, scan=scan,
    )  # fmt: skip


# --------------------------------------------------------------------------- changes


def commit_moves(submission: Submission) -> list[dict]:
    """Each move of the submission to a new commit (from the audit log), oldest first."""
    events = AuditEvent.objects.filter(
        object_type="reviews.submission",
        object_id=str(submission.pk),
        action="submission.commit_moved",
    ).order_by("seq")
    return [
        {
            "at": e.created_at,
            "by": e.actor_name,
            "old": (e.before or {}).get("commit", ""),
            "new": (e.after or {}).get("commit", ""),
            "stale": (e.after or {}).get("stale_signoffs", 0),
            "carried": (e.after or {}).get("carried_forward", 0),
        }
        for e in events
    ]


def known_commits(submission: Submission) -> set[str]:
    """The commits this submission was ever reviewed at or moved between: the only ones
    its diff may start or end at (not any commit of the repository)."""
    known = {submission.commit}
    if submission.previous_commit:
        known.add(submission.previous_commit)
    known.update(
        SignOff.objects.filter(ticket__submission=submission).values_list("commit", flat=True)
    )
    for move in commit_moves(submission):
        known.update(c for c in (move["old"], move["new"]) if c)
    return known


def last_approved_commit(signoffs, user) -> SignOff | None:
    """The user's latest approval among ``signoffs`` (any status)."""
    mine = [s for s in signoffs if s.reviewer_id == user.pk and s.decision == "approve"]
    return max(mine, key=lambda s: (s.created_at, s.pk)) if mine else None


@dataclass
class DiffFile:
    change: vcs.FileDiff
    #: The export plan's fate at the new commit (at the old one for a deleted file).
    fate: str
    published_path: str
    fate_before: str


@dataclass
class DiffView:
    old_commit: str
    new_commit: str
    diff: vcs.CommitDiff
    files: list[DiffFile]
    touches_export: bool


class BadCommit(ValueError):
    """A ``from``/``to`` commit that is malformed, unknown to the submission, or gone."""


def diff_view(submission: Submission, old_commit: str, new_commit: str | None = None) -> DiffView:
    """What changed from ``old_commit`` to ``new_commit`` (default: the reviewed commit),
    both commits this submission knows (known_commits), each file with its fate under the
    export plans. Raises BadCommit with the reason, CodeUnavailable when the mirror lacks
    the new commit."""
    new_commit = new_commit or submission.commit
    for label, value in (("from", old_commit), ("to", new_commit)):
        if not isinstance(value, str) or not _SHA_RE.match(value):
            raise BadCommit(f"'{label}' must be a full commit id (40 lowercase hex digits).")
    known = known_commits(submission)
    for label, value in (("from", old_commit), ("to", new_commit)):
        if value not in known:
            raise BadCommit(
                f"{value[:10]} ('{label}') is not a commit this submission was reviewed at."
            )
    new_plan = plan_of(submission, new_commit)
    try:
        diff = vcs.commit_diff(
            mirror_of(submission), old_commit, new_commit, max_lines=MAX_DIFF_LINES,
            max_blob_bytes=getattr(settings, "GATEHOUSE_CODE_VIEW_MAX_BYTES", MAX_FILE_BYTES),
        )  # fmt: skip
    except vcs.RefNotFound as exc:
        raise BadCommit(
            f"Commit {old_commit[:10]} is no longer in the repository (it was probably "
            f"force-pushed away and pruned), so the change from it cannot be shown. {exc}"
        ) from exc
    except vcs.VcsError as exc:
        raise CodeUnavailable(str(exc)) from exc
    try:
        old_plan = plan_of(submission, old_commit)
    except CodeUnavailable:
        old_plan = None
    files = []
    for change in diff.files:
        before = old_plan.by_path.get(change.old_path) if old_plan and change.old_path else None
        after = new_plan.by_path.get(change.new_path) if change.new_path else None
        shown = after or before
        files.append(
            DiffFile(
                change=change,
                fate=shown.fate if shown else export.EXCLUDED,
                published_path=shown.published_path if shown else "",
                fate_before=before.fate if before else "",
            )
        )
    touches = any(f.fate == export.PUBLISHED or f.fate_before == export.PUBLISHED for f in files)
    return DiffView(
        old_commit=old_commit, new_commit=new_commit, diff=diff, files=files,
        touches_export=touches,
    )  # fmt: skip
