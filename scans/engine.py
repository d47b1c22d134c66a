"""The scan engine: one commit of a bare mirror in, findings out. Plain Python, no Django.

The tree is listed with ``git ls-tree`` and blobs are streamed from one ``git cat-file``
process; nothing is checked out, so a symlink is only its target text and a submodule
only a commit id. Each blob's detector results are cached under a key made of the blob
SHA, the file name, the engine version and the policy version, so a rescan after a
one-file commit reads one blob. Uncached blobs are spread over worker processes when
there are enough of them to pay for it.

What depends on where a file sits (the Open Core boundary) is applied after the cache:
an internal reference blocks in the open scope and is only informational inside
``internal_paths``; a denied license blocks in the open scope.

A scan that hits a limit (time, blob size is per file) ends with ``incomplete`` set and
whatever it found so far: never reported as clean.

Nothing derived from a secret's value is kept without a key: a secret's fingerprint is an
HMAC under the caller's ``fingerprint_key``, and the detector results of a blob with a
secret in it are not cached (the plain hash of the value they carry stays in memory).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import hmac
import multiprocessing
import os
import posixpath
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import vcs
from scans.detectors.base import Detector, Finding, Kind, Policy, Severity

# --------------------------------------------------------------------------- detectors


@lru_cache(maxsize=1)
def default_detectors() -> tuple[Detector, ...]:
    from scans.detectors.copyrights import CopyrightDetector
    from scans.detectors.dependencies import DependencyDetector
    from scans.detectors.internal_refs import InternalRefsDetector
    from scans.detectors.licenses import LicenseDetector
    from scans.detectors.secrets import SecretsDetector

    return (
        LicenseDetector(),
        CopyrightDetector(),
        SecretsDetector(),
        InternalRefsDetector(),
        DependencyDetector(),
    )


ENGINE_REVISION = "1"


def engine_version(detectors: Sequence[Detector] | None = None) -> str:
    detectors = default_detectors() if detectors is None else detectors
    return ENGINE_REVISION + ":" + ",".join(d.version for d in detectors)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Limits:
    max_blob_bytes: int = 2_000_000
    max_repository_bytes: int = 2_000_000_000
    time_limit: float = 600.0


def _glob_regex(glob: str) -> re.Pattern[str]:
    """``**`` spans folders, ``*`` and ``?`` stay within one; ``dir/`` or ``dir`` covers
    everything under it."""
    glob = glob.strip().lstrip("./")
    if glob.endswith("/"):
        glob += "**"
    parts, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            parts.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            parts.append(".*")
            i += 2
        elif glob[i] == "*":
            parts.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            parts.append("[^/]")
            i += 1
        else:
            parts.append(re.escape(glob[i]))
            i += 1
    body = "".join(parts)
    # A glob without wildcards names a file or a folder.
    suffix = "(?:/.*)?" if not any(c in glob for c in "*?[") else ""
    return re.compile(f"^{body}{suffix}$")


@dataclass(frozen=True)
class Boundary:
    """The component's Open Core boundary: open globs, internal globs (internal wins).
    With no open globs, everything not internal is open."""

    open_paths: Sequence[str] = ()
    internal_paths: Sequence[str] = ()
    license: str = ""

    def __post_init__(self):
        object.__setattr__(self, "_open", [_glob_regex(g) for g in self.open_paths])
        object.__setattr__(self, "_internal", [_glob_regex(g) for g in self.internal_paths])

    def scope(self, path: str) -> str:
        if any(r.match(path) for r in self._internal):
            return "internal"
        if not self._open or any(r.match(path) for r in self._open):
            return "open"
        return "outside"


class ResultCache(Protocol):
    def get_many(self, keys: Iterable[str]) -> Mapping[str, list[dict]]: ...

    def put_many(self, results: Mapping[str, list[dict]]) -> None: ...


class MemoryCache:
    """A dict-backed cache, for the command line and tests."""

    def __init__(self):
        self.data: dict[str, list[dict]] = {}

    def get_many(self, keys):
        return {k: self.data[k] for k in keys if k in self.data}

    def put_many(self, results):
        self.data.update(results)


# --------------------------------------------------------------------------- outputs


def seal_fingerprint(key: bytes, plain: str) -> str:
    """A secret's fingerprint: the HMAC of its plain fingerprint (so stored plain ones can
    be migrated to it exactly)."""
    return hmac.new(key, plain.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ScanFinding:
    path: str
    line: int
    kind: str
    rule: str
    severity: str
    message: str
    excerpt: str = ""
    identity: str = ""
    license: str | None = None
    data: dict = field(default_factory=dict)
    #: The server key secret fingerprints are sealed with (never shown or compared).
    fingerprint_key: bytes = field(default=b"", repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        """Stable across line moves: the file, the rule and what was found, not where. For
        a secret, an HMAC of that under the fingerprint key, so the stored fingerprint
        cannot be tested against guessed values."""
        key = "\0".join([self.kind, self.rule, self.path, self.identity or self.message])
        plain = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
        if self.kind == Kind.SECRET and self.fingerprint_key:
            return seal_fingerprint(self.fingerprint_key, plain)
        return plain

    def to_json(self) -> dict:
        out = {
            "path": self.path,
            "line": self.line,
            "kind": self.kind,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        }
        if self.license:
            out["license"] = self.license
        return out


@dataclass
class ScanResult:
    commit: str
    findings: list[ScanFinding]
    files: int = 0
    bytes: int = 0
    skipped: int = 0
    cached: int = 0
    seconds: float = 0.0
    incomplete: str = ""

    def stats(self) -> dict:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "skipped": self.skipped,
            "cached": self.cached,
            "seconds": round(self.seconds, 3),
        }


# --------------------------------------------------------------------------- engine

COMMUNITY_FILES = {
    "README": ("readme",),
    "LICENSE": ("license", "licence", "copying"),
    "CONTRIBUTING": ("contributing",),
    "CODE_OF_CONDUCT": ("code_of_conduct", "code-of-conduct"),
    "SECURITY": ("security",),
}
COMMUNITY_FOLDERS = ("", ".github/", "docs/")
SOURCE_EXTENSIONS = {
    ".py", ".java", ".kt", ".scala", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".rb", ".php", ".swift", ".m", ".sh",
    ".sql", ".groovy", ".clj", ".ex", ".exs", ".erl", ".hs", ".lua", ".pl", ".r",
}  # fmt: skip
#: Below this much uncached work, forking workers costs more than it saves.
PARALLEL_MIN_BYTES = 4_000_000
BATCH_BYTES = 1_000_000


def cache_key(blob_sha: str, filename: str, version: str, policy_version: str) -> str:
    raw = "\0".join([blob_sha, filename, version, policy_version])
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


def scan_blob(data: bytes, filename: str, policy: Policy, detectors=None) -> list[dict]:
    """Every detector over one blob; the cacheable, path-independent result."""
    if _is_binary(data):
        return [Finding(Kind.HYGIENE, "binary-file", Severity.INFO, 0, "Binary file.").to_dict()]
    found: list[dict] = []
    for detector in detectors or default_detectors():
        found.extend(f.to_dict() for f in detector.scan(data, filename=filename, policy=policy))
    return found


def _scan_batch(batch: list[tuple[str, str, bytes]], policy: Policy) -> dict[str, list[dict]]:
    return {key: scan_blob(data, name, policy) for key, name, data in batch}


def _can_fork() -> bool:
    # A daemonic process (a Celery prefork child) may not have children of its own.
    return (
        (os.cpu_count() or 1) > 1
        and not multiprocessing.current_process().daemon
        and "fork" in multiprocessing.get_all_start_methods()
    )


def scan_commit(
    *,
    mirror: Path,
    commit: str,
    policy: Policy,
    boundary: Boundary,
    cache: ResultCache,
    limits: Limits = Limits(),  # noqa: B008 - frozen dataclass, safe as a default
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
    fingerprint_key: bytes = b"",
) -> ScanResult:
    """Scan one commit of a bare mirror. See the module docstring."""
    started = time.monotonic()
    deadline = started + limits.time_limit
    version = engine_version()
    result = ScanResult(commit=commit, findings=[])
    entries = vcs.list_tree(mirror, commit)
    blobs: list[vcs.TreeEntry] = []
    for entry in entries:
        path = entry.display_path
        if entry.kind == "commit":
            result.findings.append(
                _hygiene(path, "submodule", Severity.WARNING,
                         f"Git submodule at {entry.sha[:10]}: listed, never fetched.")
            )  # fmt: skip
        elif entry.is_symlink:
            result.findings.append(
                _hygiene(path, "symlink", Severity.INFO, "Symbolic link: listed, never followed.")
            )
        elif entry.size is not None and entry.size > limits.max_blob_bytes:
            result.skipped += 1
            result.findings.append(
                _hygiene(path, "oversized-file", Severity.WARNING,
                         f"{entry.size} bytes, over the {limits.max_blob_bytes}-byte limit: "
                         "not scanned.")
            )  # fmt: skip
        else:
            blobs.append(entry)
    result.files = len(blobs)

    policy_version = policy.version
    keys = {
        e.path: cache_key(e.sha, posixpath.basename(e.path), version, policy_version) for e in blobs
    }
    per_key: dict[str, list[dict]] = dict(cache.get_many(set(keys.values())))
    result.cached = sum(1 for e in blobs if keys[e.path] in per_key)
    todo = {}
    for entry in blobs:
        key = keys[entry.path]
        if key not in per_key and key not in todo:
            todo[key] = entry
    done = len(blobs) - len(todo)
    if progress:
        progress(done, len(blobs))

    fresh: dict[str, list[dict]] = {}
    try:
        fresh = _scan_uncached(
            mirror=mirror, todo=todo, policy=policy, limits=limits, deadline=deadline,
            result=result, progress=progress, done=done, total=len(blobs), workers=workers,
        )  # fmt: skip
    except vcs.LimitExceeded as exc:
        limit = getattr(exc, "limit", "") or "a"
        result.incomplete = f"{limit.replace('_', ' ')} limit: {exc}"
    finally:
        keep = {k: v for k, v in fresh.items() if not any(i["kind"] == Kind.SECRET for i in v)}
        if keep:
            cache.put_many(keep)
    per_key.update(fresh)

    licensed_paths: set[str] = set()
    for entry in blobs:
        found = per_key.get(keys[entry.path])
        if found is None:
            continue  # not reached before a limit
        result.bytes += entry.size or 0
        for item in found:
            finding = _place(item, entry.display_path, boundary, fingerprint_key)
            result.findings.append(finding)
            if finding.kind == Kind.LICENSE and finding.license:
                licensed_paths.add(entry.display_path)
    if not result.incomplete:
        result.findings.extend(_repository_hygiene(blobs, licensed_paths, per_key, keys, boundary))
    result.findings.sort(key=lambda f: (f.path, f.line, f.kind, f.rule))
    result.seconds = time.monotonic() - started
    return result


def _scan_uncached(
    *, mirror, todo, policy, limits, deadline, result, progress, done, total, workers
) -> dict[str, list[dict]]:
    fresh: dict[str, list[dict]] = {}
    if not todo:
        return fresh
    total_bytes = sum(e.size or 0 for e in todo.values())
    workers = workers if workers is not None else (2 if _can_fork() else 1)
    by_sha: dict[str, list[str]] = {}
    for key, entry in todo.items():
        by_sha.setdefault(entry.sha, []).append(key)
    names = {key: posixpath.basename(entry.path) for key, entry in todo.items()}

    with vcs.BlobReader(mirror, max_blob_bytes=limits.max_blob_bytes, deadline=deadline) as reader:
        blobs = reader.read_many(by_sha)
        if workers <= 1 or total_bytes < PARALLEL_MIN_BYTES:
            for sha, data in blobs:
                for key in by_sha[sha]:
                    fresh[key] = scan_blob(data or b"", names[key], policy)
                    done += 1
                if time.monotonic() > deadline:
                    raise vcs.LimitExceeded("The scan hit its time limit.", limit="time")
                if progress and done % 200 == 0:
                    progress(done, total)
        else:
            context = multiprocessing.get_context("fork")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
                pending, batch, size = [], [], 0
                for sha, data in blobs:
                    for key in by_sha[sha]:
                        batch.append((key, names[key], data or b""))
                        size += len(data or b"")
                    if size >= BATCH_BYTES:
                        pending.append(pool.submit(_scan_batch, batch, policy))
                        batch, size = [], 0
                if batch:
                    pending.append(pool.submit(_scan_batch, batch, policy))
                for future in concurrent.futures.as_completed(
                    pending, timeout=max(0.0, deadline - time.monotonic())
                ):
                    part = future.result()
                    fresh.update(part)
                    done += len(part)
                    if progress:
                        progress(done, total)
    if progress:
        progress(done, total)
    return fresh


def _hygiene(path: str, rule: str, severity: str, message: str) -> ScanFinding:
    return ScanFinding(path=path, line=0, kind=Kind.HYGIENE, rule=rule, severity=severity,
                       message=message, identity=rule)  # fmt: skip


def _place(item: dict, path: str, boundary: Boundary, fingerprint_key: bytes) -> ScanFinding:
    """A cached, path-free finding placed at ``path``, its severity set by the boundary."""
    kind = item["kind"]
    severity = item["severity"]
    scope = boundary.scope(path)
    if kind == Kind.INTERNAL_REF:
        severity = Severity.BLOCKING if scope == "open" else Severity.INFO
    elif kind == Kind.LICENSE and severity == Severity.BLOCKING and scope != "open":
        severity = Severity.WARNING
    return ScanFinding(
        path=path,
        line=item.get("line", 0),
        kind=kind,
        rule=item["rule"],
        severity=severity,
        message=item["message"],
        excerpt=item.get("excerpt", ""),
        identity=item.get("identity", ""),
        license=item.get("license"),
        data=item.get("data", {}),
        fingerprint_key=fingerprint_key,
    )


def _license_keys(expression: str) -> set[str]:
    return {
        token
        for token in re.split(r"[\s()]+", expression or "")
        if token and token.upper() not in {"AND", "OR", "WITH"}
    }


def _repository_hygiene(blobs, licensed_paths, per_key, keys, boundary) -> list[ScanFinding]:
    findings = []
    paths = [e.display_path for e in blobs]
    lowered = {p.lower(): p for p in paths}
    for label, stems in COMMUNITY_FILES.items():
        present = any(
            posixpath.dirname(low) + ("/" if posixpath.dirname(low) else "") in COMMUNITY_FOLDERS
            and posixpath.splitext(posixpath.basename(low))[0] in stems
            for low in lowered
        )
        if not present:
            findings.append(
                _hygiene("", f"missing-{label.lower().replace('_', '-')}", Severity.WARNING,
                         f"No {label} file at the top level, in .github/ or in docs/.")
            )  # fmt: skip
    allowed = _license_keys(boundary.license)
    for entry in blobs:
        path = entry.display_path
        if boundary.scope(path) != "open":
            continue
        extension = posixpath.splitext(path)[1].lower()
        if extension in SOURCE_EXTENSIONS and path not in licensed_paths:
            findings.append(
                _hygiene(path, "missing-license-header", Severity.WARNING,
                         "Source file in the open scope without a license header or SPDX tag.")
            )  # fmt: skip
        if allowed:
            for item in per_key.get(keys[entry.path], ()):
                found = item.get("license")
                if item["kind"] == Kind.LICENSE and found and not (_license_keys(found) & allowed):
                    findings.append(
                        ScanFinding(
                            path=path, line=item.get("line", 0), kind=Kind.HYGIENE,
                            rule="license-mismatch", severity=Severity.WARNING,
                            message=f"Header says {found}; the component is {boundary.license}.",
                            identity=found, license=found,
                        )
                    )  # fmt: skip
    return findings
