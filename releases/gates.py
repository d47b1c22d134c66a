"""Release gates: pure functions from what is known about a release to a verdict with a reason.

Each gate reads a ``GateContext`` (plain data, loaded once by
``releases.selectors.gate_context``) and returns an ``Outcome``: pass, or blocked with a
reason a person can act on and links to the evidence (the ticket, the finding, the scan).
Gates never touch the database, so they are cheap to run after every change and easy to
test. Waivers are applied by the evaluation service, not here.

Gates are registered in one place, ``GATES``, with ``@gate(key, title)``; a later module
adds one by decorating its function, without touching the others. Which gates a component
needs is policy data (``releases.models.GatePolicy``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from scans.engine import missing_community_files
from vcs.plan import ExportPlan

PASS = "pass"
BLOCKED = "blocked"
WAIVED = "waived"

KIND_LABELS = {
    "secret": ("secret", "secrets"),
    "internal_ref": ("internal reference", "internal references"),
    "license": ("license finding", "license findings"),
    "copyright": ("copyright finding", "copyright findings"),
    "hygiene": ("hygiene finding", "hygiene findings"),
    "dependency": ("dependency finding", "dependency findings"),
}
EVIDENCE_LIMIT = 5
#: Rules of findings that block in a published file whatever severity the scan gave them.
DENIED_RULES = ("denied-license", "denied-dependency")


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Evidence:
    label: str
    url: str = ""


@dataclass(frozen=True)
class Outcome:
    status: str
    reason: str
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class DepartmentReview:
    """One required department's ticket on the submission under review."""

    name: str
    quorum: int
    ticket_url: str = ""  # empty: the submission has no ticket for this department
    state: str = ""  # the ticket's state
    #: Distinct people, other than the submitter, with a current approval on the release's
    #: commit.
    approvers: tuple[str, ...] = ()
    #: Sign-offs that went stale (made on an earlier commit, or before the scope changed).
    stale: int = 0
    #: Current approvals made on another review scope (license, paths, destination) than
    #: the component has now: they do not count.
    other_scope: int = 0
    #: "changes_requested"/"reject" decisions currently standing, as (person, comment).
    objections: tuple[tuple[str, str], ...] = ()
    #: The open external alert that reopened the review (releases.watch), and its page.
    alert: str = ""
    alert_url: str = ""


@dataclass(frozen=True)
class ReviewState:
    url: str
    state: str
    commit: str
    departments: tuple[DepartmentReview, ...]


@dataclass(frozen=True)
class ScanState:
    url: str
    status: str  # queued, running, done, failed, incomplete
    error: str = ""
    #: Files an incomplete scan could not read (the first few).
    unread: tuple[str, ...] = ()
    unread_count: int = 0


@dataclass(frozen=True)
class FindingRef:
    """An open (untriaged) finding of the release's scan that a gate may care about."""

    kind: str
    rule: str
    severity: str
    path: str
    line: int
    message: str
    fingerprint: str
    url: str
    license: str = ""
    source: str = ""  # for license findings: spdx-tag, header, field or license-file
    pk: int = 0
    #: Set aside by one reviewer, waiting for a second one's confirmation (four eyes).
    awaiting: bool = False

    @property
    def where(self) -> str:
        if not self.path:
            return "the repository"
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass(frozen=True)
class SyncInfo:
    """The component's newest sync, as the versions gate reads it."""

    status: str  # in_sync, export_pending, backport_needed, diverged, failed
    since: str  # when the sync first found this state (not when it last confirmed it)
    url: str
    error: str = ""
    #: Community commits waiting longer than the policy allows: (short sha, subject, date).
    overdue: tuple[tuple[str, str, str], ...] = ()
    max_days: int = 14
    #: Whether Gatehouse has exported before. Until it has, the external history is the
    #: base the first export builds on: listed for back-port, but not holding it up.
    exported: bool = True
    #: The internal revision the external tag of this release's version was exported
    #: from: None when there is no such tag, "" when the tag is not Gatehouse's.
    tag_rev: str | None = None


@dataclass(frozen=True)
class GateContext:
    version: str
    commit: str
    component_license: str
    component_url: str
    roles_url: str
    submit_url: str
    review: ReviewState | None
    scan: ScanState | None
    #: Open findings of the scan, already without those an active waiver covers.
    findings: tuple[FindingRef, ...] = ()
    #: Usernames per community role ("contributor", "committer", "pmc").
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    now: datetime | None = None
    #: Whether the component publishes to an external repository, and its newest sync.
    has_external: bool = False
    sync: SyncInfo | None = None
    #: The export plan of the release's commit under the component's current open scope
    #: and prefix mapping (vcs.plan): what would be published. None when it could not be
    #: read, and then ``plan_error`` says why.
    plan: ExportPlan | None = None
    plan_error: str = ""
    tree_url: str = ""

    def exported(self, finding: FindingRef) -> bool:
        """Whether ``finding`` is about what is published: a published file, or the
        repository as a whole (no path)."""
        return not finding.path or (self.plan is not None and self.plan.is_published(finding.path))


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Gate:
    key: str
    title: str
    check: Callable[[GateContext], Outcome]
    position: int


GATES: dict[str, Gate] = {}


def gate(key: str, title: str) -> Callable:
    """Register ``check`` as the gate ``key``. Keys are stable: policies store them."""

    def register(check: Callable[[GateContext], Outcome]) -> Callable[[GateContext], Outcome]:
        if key in GATES:
            raise ValueError(f"Gate {key!r} is registered twice.")
        GATES[key] = Gate(key=key, title=title, check=check, position=len(GATES))
        return check

    return register


def passed(reason: str, *evidence: Evidence) -> Outcome:
    return Outcome(PASS, reason, evidence)


def blocked(reason: str, *evidence: Evidence) -> Outcome:
    return Outcome(BLOCKED, reason, evidence)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _finding_evidence(findings) -> tuple[Evidence, ...]:
    shown = [Evidence(f"{f.where}: {f.message}", f.url) for f in findings[:EVIDENCE_LIMIT]]
    if len(findings) > EVIDENCE_LIMIT:
        shown.append(Evidence(f"and {len(findings) - EVIDENCE_LIMIT} more", findings[0].url))
    return tuple(shown)


def _needs_complete_scan(ctx: GateContext) -> Outcome | None:
    """Blocked when there is no finished, complete scan of the release's commit."""
    short = ctx.commit[:10]
    scan = ctx.scan
    if scan is None:
        return blocked(
            f"No scan of commit {short} yet: request a scan of this commit.",
            Evidence("Submission", ctx.review.url if ctx.review else ctx.submit_url),
        )
    link = Evidence(f"Scan of {short}", scan.url)
    if scan.status in ("queued", "running"):
        return blocked(f"The scan of {short} has not finished yet ({scan.status}).", link)
    if scan.status == "failed":
        return blocked(f"The scan of {short} failed: {scan.error or 'see the scan'}.", link)
    if scan.status == "incomplete":
        unread = ""
        if scan.unread and ", ".join(scan.unread[:1]) not in scan.error:
            more = scan.unread_count - len(scan.unread)
            unread = f"; not read: {', '.join(scan.unread)}" + (f" and {more} more" if more else "")
        return blocked(
            f"The scan of {short} is incomplete ({scan.error or 'a limit was hit'}{unread}); "
            "a scan cut short never counts as clean. Rescan with a higher limit.",
            link,
        )
    return None


def _needs_plan(ctx: GateContext) -> Outcome | None:
    """Blocked when what would be published cannot be known, or cannot be published: the
    plan unreadable, nothing in the open scope, two files landing on one path."""
    short = ctx.commit[:10]
    link = Evidence(f"Public tree of {short}", ctx.tree_url) if ctx.tree_url else None
    evidence = (link,) if link else ()
    plan = ctx.plan
    if plan is None:
        return blocked(
            f"What {short} would publish is unknown: "
            f"{ctx.plan_error or 'its tree could not be read'}.",
            *evidence,
        )
    if not plan.published:
        return blocked(
            f"No file of {short} is in the open scope: nothing would be published. "
            "Change the open paths on the component's scope page.",
            *evidence,
        )
    if plan.problems:
        more = f" (and {len(plan.problems) - 1} more)" if len(plan.problems) > 1 else ""
        return blocked(
            f"The export of {short} cannot be built: {plan.problems[0]}{more}", *evidence
        )
    return None


def _judged(ctx: GateContext) -> list[FindingRef]:
    """The findings the gates hold against the release: a secret wherever it is (the
    history leaks it), anything else only when it is about what is published. An internal
    reference, a denied license or a denied dependency in a published file blocks whatever
    severity the scan gave it (the scan judged the scope of its day; the plan is today's)."""
    judged = []
    for f in ctx.findings:
        if f.kind == "secret":
            judged.append(f)
        elif ctx.exported(f):
            if f.severity != "blocking" and (f.kind == "internal_ref" or f.rule in DENIED_RULES):
                f = replace(f, severity="blocking")
            judged.append(f)
    return judged


# --------------------------------------------------------------------------- the gates


@gate("reviews", "Department reviews")
def reviews_gate(ctx: GateContext) -> Outcome:
    """Every required department approved this commit, by enough distinct people other
    than the submitter, with no stale sign-off standing in for a current one."""
    short = ctx.commit[:10]
    review = ctx.review
    if review is None:
        return blocked(
            "The component has no submission under review: submit it first.",
            Evidence("Submit for review", ctx.submit_url),
        )
    evidence = [Evidence("Submission", review.url)]
    if review.commit != ctx.commit:
        return blocked(
            f"The reviews are of commit {review.commit[:10]}, this release is {short}: "
            f"release the reviewed commit, or refresh the submission to {short} "
            "and have it reviewed again.",
            *evidence,
        )
    waiting = []
    for dept in review.departments:
        if not dept.ticket_url:
            waiting.append(f"{dept.name} has no review ticket on this submission")
            continue
        link = Evidence(f"{dept.name} ticket", dept.ticket_url)
        if dept.objections:
            who, comment = dept.objections[0]
            said = f': "{comment[:120]}"' if comment else ""
            verb = "rejected" if dept.state == "rejected" else "requested changes"
            waiting.append(f"{dept.name}: {who} {verb}{said}")
            evidence.append(link)
        elif len(dept.approvers) < dept.quorum:
            have = f"{len(dept.approvers)} of {dept.quorum} approvals on {short}"
            if dept.stale:
                have += f"; {_plural(dept.stale, 'sign-off is', 'sign-offs are')} stale"
            if dept.other_scope:
                have += (
                    f"; {_plural(dept.other_scope, 'approval was', 'approvals were')} made "
                    "before the license, paths or destination changed"
                )
            if dept.alert:
                have += f"; reopened by an external alert: {dept.alert}"
            waiting.append(f"{dept.name} has {have}")
            evidence.append(link)
            if dept.alert:
                evidence.append(Evidence("External alert", dept.alert_url))
    if waiting:
        return blocked("Waiting on reviews: " + "; ".join(waiting) + ".", *evidence)
    names = ", ".join(d.name for d in review.departments)
    return passed(f"{names} approved commit {short}.", *evidence)


@gate("scan", "Scan")
def scan_gate(ctx: GateContext) -> Outcome:
    """A complete scan of this commit, with no open blocking finding."""
    problem = _needs_complete_scan(ctx) or _needs_plan(ctx)
    if problem:
        return problem
    blocking = [f for f in _judged(ctx) if f.severity == "blocking"]
    link = Evidence(f"Scan of {ctx.commit[:10]}", ctx.scan.url)
    if not blocking:
        return passed(
            f"The scan of {ctx.commit[:10]} has no open blocking finding in the "
            f"{len(ctx.plan.published)} published files, and no secret anywhere.",
            link,
        )
    waiting = [f for f in blocking if f.awaiting]
    untriaged = [f for f in blocking if not f.awaiting]
    reasons = []
    if untriaged:
        counts = Counter(f.kind for f in untriaged)
        parts = [_plural(n, *KIND_LABELS.get(k, (k, k))) for k, n in counts.most_common()]
        reasons.append(
            f"{_plural(len(untriaged), 'open blocking finding', 'open blocking findings')} "
            f"({', '.join(parts)}): fix them and rescan, or have the owning department "
            "triage them"
        )
    if waiting:
        reasons.append(
            f"{_plural(len(waiting), 'blocking finding', 'blocking findings')} set aside by one "
            "reviewer await a second reviewer of the department to confirm (four eyes)"
        )
    return blocked("; ".join(reasons) + ".", link, *_finding_evidence(untriaged + waiting))


def _license_keys(expression: str) -> set[str]:
    return {
        token.casefold()
        for token in expression.replace("(", " ").replace(")", " ").split()
        if token.upper() not in {"AND", "OR", "WITH"}
    }


def _is_top_level_license_file(path: str) -> bool:
    stem = path.rsplit(".", 1)[0].upper() if "/" not in path else ""
    return stem in {"LICENSE", "LICENCE", "COPYING", "UNLICENSE"} or stem.startswith(
        ("LICENSE-", "LICENCE-", "COPYING-")
    )


@gate("licensing", "Licensing")
def licensing_gate(ctx: GateContext) -> Outcome:
    """The component's license agrees with its LICENSE file and with the file headers in the
    open scope, and no denied license is in the open scope, nor a manifest declaring a
    dependency the policy denies (by name or ecosystem)."""
    problem = _needs_complete_scan(ctx) or _needs_plan(ctx)
    if problem:
        return problem
    declared = _license_keys(ctx.component_license)
    problems: list[str] = []
    evidence: list[FindingRef] = []
    published = ctx.plan.by_path
    judged = _judged(ctx)
    # The LICENSE that counts is the one at the top of the published tree.
    files = [
        f
        for f in judged
        if f.kind == "license"
        and f.source == "license-file"
        and f.path in published
        and _is_top_level_license_file(published[f.path].published_path)
    ]
    denied = [f for f in judged if f.rule == "denied-license" and f.severity == "blocking"]
    mismatched = [f for f in judged if f.rule == "license-mismatch"]
    denied_deps = [f for f in judged if f.rule == "denied-dependency" and f.severity == "blocking"]
    if not files:
        problems.append(
            "no LICENSE file with a recognised license at the top of the published tree"
        )
    else:
        disagree = [f for f in files if not (_license_keys(f.license) & declared)]
        if disagree:
            found = ", ".join(sorted({f.license for f in disagree}))
            problems.append(
                f"the LICENSE file says {found}, the component is {ctx.component_license}"
            )
            evidence.extend(disagree)
    if denied:
        found = ", ".join(sorted({f.license for f in denied if f.license}))
        problems.append(
            f"{_plural(len(denied), 'file carries', 'files carry')} a denied license ({found})"
        )
        evidence.extend(denied)
    if mismatched:
        problems.append(
            f"{_plural(len(mismatched), 'file header disagrees', 'file headers disagree')} "
            f"with {ctx.component_license}"
        )
        evidence.extend(mismatched)
    if denied_deps:
        problems.append(_denied_dependencies(denied_deps))
        evidence.extend(denied_deps)
    if problems:
        return blocked("Licensing: " + "; ".join(problems) + ".", *_finding_evidence(evidence))
    return passed(
        f"The published LICENSE and headers agree with {ctx.component_license}; "
        "no denied license or denied dependency is published.",
        Evidence(f"Scan of {ctx.commit[:10]}", ctx.scan.url),
    )


def _denied_dependencies(findings: list[FindingRef]) -> str:
    """The licensing gate's words for denied dependencies, e.g. "1 denied dependency is
    declared in the published tree: core/package.json:3: npm dependency left-pad 1.3.0
    (runtime) is denied by the policy: left-pad is denied" (the detector's message names
    the dependency and the reason)."""
    head = _plural(len(findings), "denied dependency is", "denied dependencies are")
    shown = [f"{f.where}: {f.message}" for f in findings[:EVIDENCE_LIMIT]]
    if len(findings) > EVIDENCE_LIMIT:
        shown.append(f"and {len(findings) - EVIDENCE_LIMIT} more")
    waiting = sum(1 for f in findings if f.awaiting)
    note = (
        f" ({waiting} set aside by one reviewer, awaiting a second one's confirmation)"
        if waiting
        else ""
    )
    return f"{head} declared in the published tree{note}: {'; '.join(shown)}"


@gate("community", "Community files")
def community_gate(ctx: GateContext) -> Outcome:
    """README, LICENSE, CONTRIBUTING, CODE_OF_CONDUCT and SECURITY are in the published
    tree (at its top, in .github/ or in docs/, after the prefix mapping): a file kept
    internal or outside the open scope does not count."""
    problem = _needs_plan(ctx)
    if problem:
        return problem
    plan = ctx.plan
    link = Evidence(f"Public tree of {ctx.commit[:10]}", ctx.tree_url or ctx.component_url)
    missing = missing_community_files(plan.published_paths)
    if missing:
        unpublished = set(missing) - set(
            missing_community_files(f.path for f in plan.files if f.kind != "commit")
        )
        hint = ""
        if unpublished:
            hint = (
                f" {', '.join(m for m in missing if m in unpublished)} "
                f"{'is' if len(unpublished) == 1 else 'are'} in the repository but not "
                "published: add it to the open paths."
            )
        return blocked(
            f"Missing community files: {', '.join(missing)}. The published tree must hold "
            f"them at its top level, in .github/ or in docs/.{hint}",
            link,
        )
    return passed(
        "README, LICENSE, CONTRIBUTING, CODE_OF_CONDUCT and SECURITY are in the published tree.",
        link,
    )


@gate("maintainers", "Maintainers")
def maintainers_gate(ctx: GateContext) -> Outcome:
    """At least one PMC member and one committer are named."""
    pmc = ctx.roles.get("pmc", ())
    committers = ctx.roles.get("committer", ())
    link = Evidence("Community roles", ctx.roles_url)
    missing = []
    if not pmc:
        missing.append("a PMC member")
    if not committers:
        missing.append("a committer")
    if missing:
        return blocked(
            f"Name {' and '.join(missing)} on the component page before releasing.", link
        )
    return passed(f"PMC: {', '.join(pmc)}; committers: {', '.join(committers)}.", link)


@gate("versions", "Versions")
def versions_gate(ctx: GateContext) -> Outcome:
    """The external side is in step enough to release into: not diverged, no community
    change left waiting past the policy, and this version not already out with other
    content."""
    if not ctx.has_external:
        return passed("No external repository is set: nothing to align yet.")
    sync = ctx.sync
    if sync is None:
        return blocked(
            "The internal and external repositories have not been synced yet: run a sync.",
            Evidence("Sync", ctx.component_url + "#sync"),
        )
    link = Evidence(f"Sync (this state since {sync.since})", sync.url)
    tag = f"v{ctx.version}"
    problems = []
    if sync.status == "failed":
        problems.append(f"the last sync failed ({sync.error or 'see the sync'})")
    if sync.status == "diverged" and sync.exported:
        problems.append(
            "both sides moved: internal changes wait for export and community changes wait "
            "for back-port"
        )
    if sync.overdue and sync.exported:
        oldest = sync.overdue[-1]
        problems.append(
            f"{_plural(len(sync.overdue), 'community commit has', 'community commits have')} "
            f"waited over {sync.max_days} days for back-port (oldest {oldest[0]}, {oldest[2][:10]})"
        )
    if sync.tag_rev is not None and sync.tag_rev != ctx.commit:
        what = f"from internal {sync.tag_rev[:10]}" if sync.tag_rev else "by someone else"
        problems.append(f"{tag} already exists externally, made {what}")
    if problems:
        return blocked("Versions: " + "; ".join(problems) + ".", link)
    state = "in step" if sync.status == "in_sync" else sync.status.replace("_", " ")
    return passed(f"External side {state} since {sync.since}; {tag} is free.", link)
