"""Building a release's evidence bundle from the database and git, and storing it.

``evidence_build`` runs as a job (``releases.jobs``, kind "evidence"): queued when a
release is published (the final bundle, built once) and on demand for a ready release (a
preview). It reads the exported tree from the component's workspace (for a final bundle,
the tree of the published commit itself; for a preview, the tree the export would be),
the release scan's findings with their triage, the review of the submission the gates
read, the gates and waivers, and the audit events, and writes one zip archive:

    manifest.json   what was published, every other file's SHA-256, signed (Ed25519)
    approvals.json  each department's tickets, sign-offs, checklist answers, comments
    gates.json      the verdict, each gate's outcome and reason, the waivers in force
    findings.json   every finding in the exported tree and every secret, with its triage
    sbom.cdx.json   CycloneDX 1.6: the component and its declared dependencies
    tree.spdx.json  SPDX 2.3: every exported file, its checksums, licenses and copyrights
    NOTICE          holders and years merged per holder, licenses named
    audit.jsonl     the audit events of the release, its submission, tickets, sign-offs,
                    comments, waivers and findings, with hashes and seals; then the
                    sealed chain head and the newest anchor

The archive is deterministic for given contents (sorted names, fixed zip dates), and the
manifest is the only file that names the others' hashes, so ``evidence_verify`` needs
nothing but the archive and a trusted public key.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

import vcs
from core.audit import audit_record, read_anchors
from core.models import AuditChainHead, AuditEvent
from governance.models import Component
from releases import rules
from releases.enums import ReleaseState
from releases.evidence import FORMAT, MANIFEST, notice, sbom, signing
from releases.models import EvidenceBundle, GateEvaluation, GatePolicy, Release
from releases.selectors import active_waivers, release_scan, reviewed_submission
from reviews.models import Comment, ReviewTicket, SignOff, Submission
from scans.enums import FindingKind
from scans.models import Finding, ScanRun

#: The archive's files besides the manifest, in the order the manifest lists them.
PARTS = (
    "approvals.json",
    "gates.json",
    "findings.json",
    "sbom.cdx.json",
    "tree.spdx.json",
    "NOTICE",
    "audit.jsonl",
)
NOTICE_PATH = "NOTICE"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _name(user) -> str | None:
    return user.get_username() if user is not None else None


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Exported:
    """The exported tree: its id, and its files (as published) with their checksums and
    the internal path each came from ("" for a file the export added, the NOTICE)."""

    tree: str
    files: list[tuple[str, str, sbom.FileRecord]]  # (published path, internal path, record)


def export_extra_files(component: Component, release: Release, pairs) -> dict[str, bytes]:
    """Files the export adds to the open scope: the generated NOTICE, when the gate
    policy says so and the open scope publishes no NOTICE of its own."""
    policy = (
        GatePolicy.objects.filter(Q(component=component) | Q(component=None))
        .order_by("component_id")  # the component's own first (NULLs sort last)
        .first()
    )
    if policy is None or not policy.export_notice:
        return {}
    if any(published == NOTICE_PATH for _, published in pairs):
        return {}
    published_of = dict(pairs)  # internal path -> published path
    return {NOTICE_PATH: _notice(component, release, release_scan(release), published_of).encode()}


def _read_tree(workspace: Path, tree: str, internal_of: dict[str, str]) -> Exported:
    entries = [e for e in vcs.list_tree(workspace, tree) if e.kind == "blob"]
    largest = max((e.size or 0 for e in entries), default=0)
    sums: dict[str, tuple[str, str, int]] = {}  # blob id -> SHA-1, SHA-256, size
    with vcs.BlobReader(workspace, max_blob_bytes=largest) as reader:
        for sha, data in reader.read_many(dict.fromkeys(e.sha for e in entries)):
            sums[sha] = (
                hashlib.sha1(data).hexdigest(),  # noqa: S324 - SPDX requires SHA-1
                hashlib.sha256(data).hexdigest(),
                len(data),
            )
    files = []
    for entry in entries:
        sha1, sha256, size = sums[entry.sha]
        record = sbom.FileRecord(path=entry.display_path, sha1=sha1, sha256=sha256, size=size)
        files.append((entry.display_path, internal_of.get(entry.path, ""), record))
    return Exported(tree=tree, files=files)


def exported_tree(component: Component, release: Release, workspace: Path, *, preview: bool):
    """The exported tree of the release: the published commit's (final), or the one the
    export of the release's commit would build (preview)."""
    from releases.sync import export_pairs

    pairs = export_pairs(component, vcs.list_tree(workspace, release.commit))
    internal_of = {published: internal for internal, published in pairs}
    if preview:
        tree = vcs.build_export_tree(
            workspace, commit=release.commit, paths=pairs,
            extra=export_extra_files(component, release, pairs),
        )  # fmt: skip
    else:
        tree = vcs.tree_of(workspace, release.external_commit)
    return _read_tree(workspace, tree, internal_of)


# --------------------------------------------------------------------------- the parts


def _findings(scan: ScanRun | None, published_of: dict[str, str]) -> list[Finding]:
    """The scan's findings in published files, the repository-wide ones, and every
    secret wherever it is."""
    if scan is None:
        return []
    rows = (
        Finding.objects.filter(
            Q(path__in=list(published_of)) | Q(path="") | Q(kind=FindingKind.SECRET), scan=scan
        )
        .select_related("triaged_by", "confirmed_by")
        .order_by("path", "line", "kind", "id")
    )
    return list(rows)


def _notice(component, release, scan, published_of: dict[str, str], findings=None) -> str:
    if findings is None:
        findings = _findings(scan, published_of)
    copyrights, licenses = [], []
    for f in findings:
        published = published_of.get(f.path)
        if published is None:
            continue
        if f.kind == FindingKind.COPYRIGHT and f.data.get("holder"):
            years = tuple(y for y in f.data.get("year_list") or () if isinstance(y, int))
            copyrights.append(notice.CopyrightRecord(published, f.data["holder"], years))
        elif f.kind == FindingKind.LICENSE and f.license:
            licenses.append(notice.LicenseRecord(published, f.license))
    return notice.notice_text(
        name=component.name, version=release.version, license=component.license,
        copyrights=copyrights, licenses=licenses,
    )  # fmt: skip


def _finding_json(f: Finding, published_of: dict[str, str], waived: dict[str, dict]) -> dict:
    return {
        "id": f.pk,
        "kind": f.kind,
        "rule": f.rule,
        "severity": f.severity,
        "path": f.path,
        "published_path": published_of.get(f.path),  # None: not published
        "line": f.line,
        "message": f.message,
        # A secret's excerpt is never copied into evidence, redacted or not.
        "excerpt": "" if f.kind == FindingKind.SECRET else f.excerpt,
        "license": f.license,
        "data": f.data,
        "fingerprint": f.fingerprint,
        "triage": {
            "state": f.state,
            "by": _name(f.triaged_by),
            "at": _when(f.triaged_at),
            "reason": f.triage_reason,
            "confirmed_by": _name(f.confirmed_by),
            "confirmed_at": _when(f.confirmed_at),
        },
        "waiver": waived.get(f.fingerprint),
    }


def _waiver_json(w) -> dict:
    return {
        "id": w.pk,
        "gate": w.gate,
        "fingerprint": w.fingerprint,
        "finding": w.finding_label,
        "reason": w.reason,
        "owner": _name(w.owner),
        "granted_by": _name(w.granted_by),
        "granted_at": _when(w.created_at),
        "expires_at": _when(w.expires_at),
    }


def _approvals(release: Release, submission: Submission | None) -> dict:
    if submission is None:
        return {"release_commit": release.commit, "submission": None, "departments": []}
    tickets = list(
        ReviewTicket.objects.filter(submission=submission)
        .select_related("department")
        .order_by("department__position", "department__name")
    )
    signoffs = (
        SignOff.objects.filter(ticket__submission=submission)
        .select_related("reviewer")
        .prefetch_related("answers__question")
        .order_by("created_at", "id")
    )
    comments = (
        Comment.objects.filter(submission=submission)
        .select_related("author")
        .order_by("created_at", "id")
    )
    by_ticket: dict[int, list] = {}
    for s in signoffs:
        by_ticket.setdefault(s.ticket_id, []).append({
            "reviewer": _name(s.reviewer),
            "decision": s.decision,
            "commit": s.commit,
            "on_release_commit": s.commit == release.commit,
            "status": s.status,
            "scope_digest": s.scope_digest,
            "comment": s.comment,
            "at": _when(s.created_at),
            "status_changed_at": _when(s.status_changed_at),
            "checklist": [
                {"question": a.question.text, "answer": a.answer, "note": a.note}
                for a in sorted(s.answers.all(), key=lambda a: (a.question.position, a.pk))
            ],
        })  # fmt: skip
    notes: dict[int | None, list] = {}
    for c in comments:
        notes.setdefault(c.ticket_id, []).append(
            {"author": _name(c.author), "body": c.body, "at": _when(c.created_at)}
        )
    return {
        "release_commit": release.commit,
        "submission": {
            "id": submission.pk,
            "state": submission.state,
            "repository": submission.repository.url,
            "branch": submission.branch,
            "commit": submission.commit,
            "submitted_by": _name(submission.submitted_by),
            "submitted_at": _when(submission.created_at),
            "decided_at": _when(submission.decided_at),
            "justification": submission.justification,
            "scope": submission.scope,
            "comments": notes.get(None, []),
        },
        "departments": [
            {
                "department": t.department.slug,
                "name": t.department.name,
                "quorum": t.department.quorum,
                "ticket": t.pk,
                "state": t.state,
                "decided_at": _when(t.decided_at),
                "signoffs": by_ticket.get(t.pk, []),
                "comments": notes.get(t.pk, []),
            }
            for t in tickets
        ],
    }


def _gates(release: Release, waivers) -> dict:
    evaluations = GateEvaluation.objects.filter(release=release).order_by("created_at", "id")
    return {
        "verdict": release.state,
        "evaluated_at": _when(release.evaluated_at),
        "gates": release.gates,
        "history": [
            {"at": _when(e.created_at), "trigger": e.trigger, "state": e.state} for e in evaluations
        ],
        "waivers_in_force": [_waiver_json(w) for w in waivers],
    }


def _dependencies(findings: list[Finding], published_of: dict[str, str]):
    found = []
    for f in findings:
        published = published_of.get(f.path)
        if f.kind != FindingKind.DEPENDENCY or published is None or not f.data.get("name"):
            continue
        found.append(
            sbom.DependencyRecord(
                ecosystem=f.data.get("ecosystem", ""), name=f.data["name"],
                version=f.data.get("version"), scope=f.data.get("scope", ""), path=published,
                line=f.line, denied=f.severity == "blocking",
            )
        )  # fmt: skip
    return found


def _file_records(exported: Exported, findings: list[Finding]) -> list[sbom.FileRecord]:
    licenses: dict[str, set[str]] = {}
    copyrights: dict[str, list[str]] = {}
    for f in findings:
        if f.kind == FindingKind.LICENSE and f.license:
            licenses.setdefault(f.path, set()).add(f.license)
        elif f.kind == FindingKind.COPYRIGHT:
            copyrights.setdefault(f.path, []).append(f.message)
    records = []
    for _, internal, record in exported.files:
        records.append(
            sbom.FileRecord(
                path=record.path, sha1=record.sha1, sha256=record.sha256, size=record.size,
                licenses=tuple(sorted(licenses.get(internal, ()))),
                copyrights=tuple(dict.fromkeys(copyrights.get(internal, ()))),
            )
        )  # fmt: skip
    return records


def _audit(release, submission, waivers, findings) -> str:
    objects = Q(object_type="releases.release", object_id=str(release.pk))
    objects |= Q(object_type="releases.waiver", object_id__in=[str(w.pk) for w in waivers])
    if findings:
        ids = [str(f.pk) for f in findings if f.triaged_at]
        objects |= Q(object_type="scans.finding", object_id__in=ids)
    if submission is not None:
        objects |= Q(object_type="reviews.submission", object_id=str(submission.pk))
        for model, lookup in (
            (ReviewTicket, "submission"), (SignOff, "ticket__submission"),
            (Comment, "submission"),
        ):  # fmt: skip
            ids = [str(pk) for pk in model.objects.filter(**{lookup: submission})
                   .values_list("pk", flat=True)]  # fmt: skip
            objects |= Q(object_type=model._meta.label_lower, object_id__in=ids)
    lines = []
    for e in AuditEvent.objects.filter(objects).order_by("seq"):
        lines.append({
            "type": "event", "seq": e.seq, "at": e.created_at.isoformat(),
            "actor_id": e.actor_id, "actor": e.actor_name, "action": e.action,
            "object_type": e.object_type, "object_id": e.object_id,
            "object_repr": e.object_repr, "scope": e.scope, "before": e.before,
            "after": e.after, "prev_hash": e.prev_hash, "hash": e.hash, "seal": e.seal,
            "key_id": e.key_id,
        })  # fmt: skip
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None:
        lines.append({"type": "chain_head", "seq": head.last_seq, "hash": head.last_hash,
                      "seal": head.seal})  # fmt: skip
    anchors, _ = read_anchors()
    if anchors:
        a = anchors[-1]
        lines.append({"type": "anchor", "seq": a.seq, "hash": a.hash, "at": a.at,
                      "key_id": a.key_id, "seal": a.seal})  # fmt: skip
    return "".join(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n" for line in lines)


def _json(value) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


# --------------------------------------------------------------------------- the bundle


@dataclass(frozen=True)
class Built:
    archive: bytes
    manifest: dict
    parts: dict[str, bytes]


def bundle_contents(release: Release, exported: Exported, *, preview: bool, now) -> Built:
    """Every part and the signed manifest, zipped."""
    component = Component.objects.select_related("external_repository", "internal_repository").get(
        pk=release.component_id
    )
    scan = release_scan(release)
    published_of = {internal: published for published, internal, _ in exported.files if internal}
    findings = _findings(scan, published_of)
    waivers = active_waivers(component, release, now)
    waived = {w.fingerprint: _waiver_json(w) for w in waivers if w.fingerprint}
    submission = reviewed_submission(release.component_id)
    external = component.external_repository
    commit = release.commit if preview else release.external_commit
    product = sbom.Product(
        slug=component.slug, name=component.name, version=release.version,
        license=component.license, description=component.description,
        repository=external.url if external else "", tag="" if preview else release.external_tag,
        commit=commit, tree=exported.tree,
    )  # fmt: skip
    findings_doc = {
        "scan": {
            "id": scan.pk, "commit": scan.commit, "status": scan.status,
            "finished_at": _when(scan.finished_at),
        } if scan else None,
        "findings": [_finding_json(f, published_of, waived) for f in findings],
    }  # fmt: skip
    parts = {
        "approvals.json": _json(_approvals(release, submission)),
        "gates.json": _json(_gates(release, waivers)),
        "findings.json": _json(findings_doc),
        "sbom.cdx.json": sbom.cyclonedx_json(
            product, _dependencies(findings, published_of), created=now
        ).encode(),
        "tree.spdx.json": sbom.spdx_json(
            product,
            _file_records(exported, findings),
            created=now,
            base_url=settings.GATEHOUSE_BASE_URL,
        ).encode(),  # fmt: skip
        "NOTICE": _notice(component, release, scan, published_of, findings).encode(),
        "audit.jsonl": _audit(release, submission, waivers, findings).encode(),
    }
    key, _ = signing.configured_keys()
    manifest = signing.sign(
        {
            "format": FORMAT,
            "preview": preview,
            "built_at": now.isoformat(),
            "release": {
                "id": release.pk,
                "version": release.version,
                "state": release.state,
                "published_at": _when(release.published_at),
                "notes": release.notes,
            },
            "component": {
                "slug": component.slug,
                "name": component.name,
                "license": component.license,
            },
            "internal": {
                "repository": component.internal_repository.url
                if component.internal_repository
                else "",
                "commit": release.commit,
            },
            "external": {
                "repository": external.url if external else "",
                "branch": component.external_branch,
                "commit": "" if preview else release.external_commit,
                "tag": "" if preview else release.external_tag,
                "tree": exported.tree,
            },
            "files": [
                {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                for name, data in parts.items()
            ],
        },  # fmt: skip
        key,
    )
    return Built(archive=_zip({MANIFEST: _json(manifest), **parts}), manifest=manifest, parts=parts)


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def evidence_check(release: Release, actor, *, preview: bool) -> None:
    """What forbids building: raises PermissionDenied or ValidationError."""
    if preview:
        if not rules.can_create_release(actor, release.component):
            raise PermissionDenied("Only the component's owners and admins build a preview.")
        if release.state != ReleaseState.READY:
            raise ValidationError(
                {"state": ["A preview is built for a ready release; a published one has its "
                           "evidence bundle."] if release.state == ReleaseState.PUBLISHED
                          else [f"Only a ready release has a preview; this one is "
                                f"{release.get_state_display().lower()}."]}
            )  # fmt: skip
    elif release.state != ReleaseState.PUBLISHED or not release.external_commit:
        raise ValidationError({"state": ["Only a published release has a final bundle."]})
    if release.component.external_repository_id is None:
        raise ValidationError({"external_repository": ["Set the external repository first."]})


def evidence_build(*, release: Release, actor, preview: bool, job=None) -> EvidenceBundle:
    """Build and store the release's bundle. The final one is built once: a second call
    returns it. A preview replaces the release's earlier previews. Audited."""
    from releases.jobs import NO_JOB
    from releases.sync import _update_workspace, network_timeout, workspace_for

    job = job or NO_JOB
    release = Release.objects.select_related("component").get(pk=release.pk)
    if not preview:
        existing = EvidenceBundle.objects.filter(release=release, preview=False).first()
        if existing is not None:
            with transaction.atomic():
                job.finish(evidence=existing)
            return existing
    evidence_check(release, actor, preview=preview)
    component = Component.objects.select_related("internal_repository", "external_repository").get(
        pk=release.component_id
    )
    workspace = workspace_for(component)
    workspace.parent.mkdir(parents=True, exist_ok=True)
    with vcs.workspace_lock(workspace, wait=True, timeout=network_timeout(None)):
        job.step("Fetching both repositories")
        _update_workspace(component, workspace, with_log=False)
        job.step("Reading the exported tree")
        exported = exported_tree(component, release, workspace, preview=preview)
    job.step("Writing the bundle")
    now = timezone.now()
    built = bundle_contents(release, exported, preview=preview, now=now)
    try:
        with transaction.atomic():
            if preview:
                EvidenceBundle.objects.filter(release=release, preview=True).delete()
            bundle = EvidenceBundle.objects.create(
                release=release, preview=preview, archive=built.archive, size=len(built.archive),
                sha256=hashlib.sha256(built.archive).hexdigest(),
                key_id=built.manifest["signature"]["key_id"], manifest=built.manifest,
                tree=exported.tree, built_at=now,
                built_by=actor if actor is not None and actor.is_authenticated else None,
            )  # fmt: skip
            audit_record(
                actor=actor, action="release.evidence_built", obj=release,
                after={"bundle": bundle.pk, "preview": preview, "sha256": bundle.sha256,
                       "key_id": bundle.key_id, "tree": bundle.tree},
                scope=component.audit_scope,
            )  # fmt: skip
            job.finish(evidence=bundle)
    except IntegrityError:  # a final bundle stored meanwhile by another attempt: that one
        bundle = EvidenceBundle.objects.get(release=release, preview=False)
        with transaction.atomic():
            job.finish(evidence=bundle)
    return bundle
