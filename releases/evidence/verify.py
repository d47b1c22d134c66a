"""Checking an evidence bundle, with no database: the manifest's signature under a
trusted key, every file's SHA-256 and size, no file unlisted, and, given the external
repository, that the release's tag points at the exported tree the manifest names.

Each check stops at the first thing that does not match and names it; ``verify_bundle``
returns the checks that passed and that first problem (None when everything holds).
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import vcs
from releases.evidence import FORMAT, MANIFEST, signing


@dataclass
class Report:
    passed: list[str] = field(default_factory=list)
    problem: str | None = None
    manifest: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problem is None


def _read(data: bytes, report: Report) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if len(names) != len(set(names)):
                report.problem = "the archive holds two files of the same name"
                return None
            return {name: archive.read(name) for name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        report.problem = f"not a readable zip archive: {exc}"
        return None


def verify_bundle(
    data: bytes,
    *,
    trusted: dict[str, bytes],
    repository: str | None = None,
    allow: list[str] | None = None,
    timeout: float = 300,
) -> Report:
    report = Report()
    files = _read(data, report)
    if files is None:
        return report
    if MANIFEST not in files:
        report.problem = f"the archive has no {MANIFEST}"
        return report
    try:
        manifest = json.loads(files[MANIFEST])
    except (UnicodeDecodeError, ValueError) as exc:
        report.problem = f"{MANIFEST} is not JSON: {exc}"
        return report
    if not isinstance(manifest, dict):
        report.problem = f"{MANIFEST} is not a JSON object"
        return report
    report.manifest = manifest
    problem = signing.signature_problem(manifest, trusted)
    if problem:
        report.problem = problem
        return report
    report.passed.append(f"signature: Ed25519, key {manifest['signature']['key_id']}")
    if manifest.get("format") != FORMAT:
        report.problem = f"unknown bundle format {manifest.get('format')!r} (expected {FORMAT})"
        return report
    listed = manifest.get("files")
    if not isinstance(listed, list) or not all(isinstance(f, dict) for f in listed):
        report.problem = f"{MANIFEST} lists no files"
        return report
    names = set()
    for entry in listed:
        name = str(entry.get("name", ""))
        names.add(name)
        if name not in files:
            report.problem = f"{name}: listed in the manifest, missing from the archive"
            return report
        content = files[name]
        if len(content) != entry.get("size"):
            report.problem = f"{name}: {len(content)} bytes, the manifest says {entry.get('size')}"
            return report
        digest = hashlib.sha256(content).hexdigest()
        if digest != entry.get("sha256"):
            report.problem = f"{name}: SHA-256 {digest}, the manifest says {entry.get('sha256')}"
            return report
    extra = sorted(set(files) - names - {MANIFEST})
    if extra:
        report.problem = f"{extra[0]}: in the archive but not listed in the manifest"
        return report
    report.passed.append(f"files: {len(names)}, each SHA-256 as the manifest says")
    if repository:
        problem = tag_problem(manifest, repository, allow=allow or [], timeout=timeout)
        if problem:
            report.problem = problem
            return report
        external = manifest["external"]
        report.passed.append(
            f"repository: tag {external['tag']} of {repository} holds tree {external['tree']}"
        )
    return report


def _allow_for(url: str, allow: list[str]) -> list[str]:
    """The allow-list, and the URL someone named on the command line: a local repository's
    folder, or the https host (already allowed by default)."""
    if url.startswith("file://"):
        return [*allow, url.rstrip("/").rsplit("/", 1)[0] + "/"]
    return allow


def tag_problem(manifest: dict, url: str, *, allow: list[str], timeout: float) -> str | None:
    """Whether the release's tag in the repository at ``url`` holds the exported tree."""
    external = manifest.get("external") or {}
    tag, tree = external.get("tag"), external.get("tree")
    if manifest.get("preview") or not tag:
        return "a preview bundle names no tag: nothing to compare in the repository"
    with tempfile.TemporaryDirectory(prefix="gatehouse-verify-") as folder:
        try:
            mirror = vcs.mirror_update(
                url, Path(folder) / "external.git", allow=_allow_for(url, allow), timeout=timeout
            )
            found = vcs.tree_of(mirror, f"refs/tags/{tag}")
        except vcs.RefNotFound:
            return f"the repository has no tag {tag}"
        except vcs.VcsError as exc:
            return f"the repository could not be read: {exc}"
    if found != tree:
        return f"tag {tag} holds tree {found}, the manifest names {tree}"
    return None
