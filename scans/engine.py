"""The scan engine: one commit of a bare mirror in, findings out. Plain Python, no Django.

The tree is listed with ``git ls-tree`` and blobs are streamed from one ``git cat-file``
process; nothing is checked out, so a symlink is only its target text and a submodule
only a commit id. Each blob's detector results are cached under a key made of the blob
SHA, the file name, the engine version and the policy version, so a rescan after a
one-file commit reads one blob. Uncached blobs are dealt to worker processes, each
reading its share through its own cat-file, when there are enough of them to pay for it.

What depends on where a file sits (the Open Core boundary) is applied after the cache:
an internal reference blocks in the open scope and is only informational inside
``internal_paths``; a denied license blocks in the open scope.

Text is decoded before any detector reads it (scans.detectors.text: UTF-8, UTF-16/32 by
byte-order mark or by their NUL pattern, Latin-1), and a file over the blob limit is
streamed in overlapping chunks rather than skipped; what cannot be read (a time limit,
a wide-encoded file too large to hold) is named in ``unread``, and the scan ends with
``incomplete`` set and whatever it found so far: never reported as clean.

Nothing derived from a secret's value is kept without a key: a secret's fingerprint is an
HMAC under the caller's ``fingerprint_key``, and in the cache a secret's identity (the
plain hash of its value, which the fingerprint needs) is sealed with that key (XORed with
an HMAC of the cache key and its place, a pad no two entries share). Without a key, the
results of a blob with a secret in it are not cached at all.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import multiprocessing
import posixpath
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import vcs
from scans import forked
from scans.detectors.base import Detector, Finding, Kind, Policy, Severity
from scans.detectors.text import as_utf8, detect_encoding
from vcs import plan

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


ENGINE_REVISION = "2"


def engine_version(detectors: Sequence[Detector] | None = None) -> str:
    detectors = default_detectors() if detectors is None else detectors
    return ENGINE_REVISION + ":" + ",".join(d.version for d in detectors)


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Limits:
    max_blob_bytes: int = 2_000_000
    max_repository_bytes: int = 2_000_000_000
    time_limit: float = 600.0


@dataclass(frozen=True)
class Boundary:
    """The component's Open Core boundary: open globs, internal globs (internal wins).
    With no open globs, everything not internal is open."""

    open_paths: Sequence[str] = ()
    internal_paths: Sequence[str] = ()
    license: str = ""

    def __post_init__(self):
        object.__setattr__(self, "_open", [plan.glob_regex(g) for g in self.open_paths])
        object.__setattr__(self, "_internal", [plan.glob_regex(g) for g in self.internal_paths])

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
        for key in ("holder", "years"):  # copyrights: who and when, apart
            if key in self.data:
                out[key] = self.data[key]
        if self.data:
            out["data"] = self.data
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
    #: Files the scan could not read, with why: (path, reason).
    unread: list[tuple[str, str]] = field(default_factory=list)

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


def missing_community_files(paths: Iterable[str]) -> list[str]:
    """The COMMUNITY_FILES labels (README, LICENSE, ...) with no file among ``paths`` at
    the top level, in .github/ or in docs/, in COMMUNITY_FILES order."""
    found = set()
    for path in paths:
        folder, _, name = path.rpartition("/")
        if folder and folder.lower() + "/" not in COMMUNITY_FOLDERS:
            continue  # most paths: deeper than a community folder
        stem = posixpath.splitext(name.lower())[0]
        found.update(label for label, stems in COMMUNITY_FILES.items() if stem in stems)
    return [label for label in COMMUNITY_FILES if label not in found]


SOURCE_EXTENSIONS = {
    ".py", ".java", ".kt", ".scala", ".go", ".rs", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".rb", ".php", ".swift", ".m", ".sh",
    ".sql", ".groovy", ".clj", ".ex", ".exs", ".erl", ".hs", ".lua", ".pl", ".r",
}  # fmt: skip
#: Below this much uncached work, forking workers costs more than it saves.
PARALLEL_MIN_BYTES = 4_000_000


def cache_key(blob_sha: str, filename: str, version: str, policy_version: str) -> str:
    raw = "\0".join([blob_sha, filename, version, policy_version])
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()


_BINARY = Finding(Kind.HYGIENE, "binary-file", Severity.INFO, 0, "Binary file.").to_dict()


def _pad(key: bytes, cache_key: str, index: int) -> bytes:
    return hmac.new(key, f"identity\0{cache_key}\0{index}".encode(), hashlib.sha256).digest()


def _xor(identity: str, pad: bytes) -> str:
    if len(identity) != 2 * len(pad):
        raise ValueError("identity and pad differ in length")
    return f"{int(identity, 16) ^ int.from_bytes(pad, 'big'):0{2 * len(pad)}x}"


def _seal(key: bytes, cache_key: str, found: list[dict]) -> list[dict]:
    """The blob's results as the cache keeps them: each secret's identity XORed with a pad
    only the key can make (unique to this cache entry and position)."""
    sealed = []
    for index, item in enumerate(found):
        identity = item.get("identity", "")
        if item["kind"] == Kind.SECRET and len(identity) == 64:
            item = {**item, "identity": _xor(identity, _pad(key, cache_key, index)), "sealed": 1}
        sealed.append(item)
    return sealed


def _unseal(key: bytes, cache_key: str, found: list[dict]) -> list[dict] | None:
    """The cached results with the identities opened; None (a miss) without the key."""
    if not any(item.get("sealed") for item in found):
        return found
    if not key:
        return None
    plain = []
    for index, item in enumerate(found):
        if item.get("sealed"):
            identity = _xor(item["identity"], _pad(key, cache_key, index))
            item = {k: v for k, v in item.items() if k != "sealed"} | {"identity": identity}
        plain.append(item)
    return plain


def scan_text(text: bytes, filename: str, policy: Policy, detectors=None) -> list[dict]:
    """Every detector over UTF-8 text."""
    found: list[dict] = []
    for detector in detectors or default_detectors():
        found.extend(f.to_dict() for f in detector.scan(text, filename=filename, policy=policy))
    return found


def scan_blob(data: bytes, filename: str, policy: Policy, detectors=None) -> list[dict]:
    """Every detector over one blob, decoded to UTF-8 first; the cacheable,
    path-independent result. A blob that is not text in any encoding is binary."""
    text = as_utf8(data)
    if text is None:
        return [dict(_BINARY)]
    return scan_text(text, filename, policy, detectors)


#: Detector data that holds line numbers (moved with a chunk's offset).
_LINE_KEYS = ("pair_line",)
_LINES_KEYS = ("lines",)


def scan_large_blob(
    mirror: Path,
    sha: str,
    filename: str,
    policy: Policy,
    *,
    deadline: float,
    chunk_bytes: int,
) -> list[dict] | str:
    """A blob too large to hold, read in overlapping chunks (vcs.stream_blob): the same
    findings as scan_blob, line numbers of the whole file, each finding once. Whole-file
    findings (line 0) come from the first chunk only. Returns the reason instead when it
    cannot be read in parts (a UTF-16/32 file: its line breaks are not single bytes)."""
    merged: dict[tuple, dict] = {}
    encoding = None
    for first_line, chunk in vcs.stream_blob(
        mirror, sha, chunk_bytes=chunk_bytes, overlap_lines=20, deadline=deadline
    ):
        if encoding is None:
            encoding = detect_encoding(chunk)
            if encoding is None:
                return [dict(_BINARY)]
            if encoding not in ("utf-8", "latin-1"):
                return f"a {encoding.upper()} file too large to read whole"
        if encoding == "latin-1":
            text = chunk.decode("latin-1").encode("utf-8")
        else:
            text = chunk.replace(b"\0", b" ")
        for item in scan_text(text, filename, policy):
            if not item.get("line"):
                if first_line != 1:
                    continue
            else:
                item["line"] += first_line - 1
                data = item.get("data")
                if data:
                    for key in _LINE_KEYS:
                        if isinstance(data.get(key), int):
                            data[key] += first_line - 1
                    for key in _LINES_KEYS:
                        if isinstance(data.get(key), list):
                            data[key] = [n + first_line - 1 for n in data[key]]
            identity = (item["kind"], item["rule"], item.get("line", 0),
                        item.get("identity", ""), item["message"])  # fmt: skip
            merged.setdefault(identity, item)
    return list(merged.values())


def _can_fork() -> bool:
    # A daemonic process (a Celery prefork child) keeps to itself: its pool may kill it at
    # a time limit, which would leave children of its own behind.
    return forked.can_fork() and not multiprocessing.current_process().daemon


@contextlib.contextmanager
def _cyclic_gc_paused():
    """The engine makes hundreds of thousands of short-lived objects and no reference
    cycles to speak of; the cyclic collector's passes over them (and over everything the
    process already holds) were a third of a rescan. Refcounting frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@_cyclic_gc_paused()
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
    flush_seconds: float = 2.0,
) -> ScanResult:
    """Scan one commit of a bare mirror. See the module docstring. Results reach ``cache``
    at most ``flush_seconds`` after they are produced."""
    # Loading the detectors (compiling their patterns) is once per process, and compiling
    # the policy's patterns once per policy: done before the clock starts, as a worker has
    # done it before its next scan.
    version = engine_version()
    for detector in default_detectors():
        prepare = getattr(detector, "prepare", None)
        if prepare is not None:
            prepare(policy)
    started = time.monotonic()
    deadline = started + limits.time_limit
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
        else:
            blobs.append(entry)
    result.files = len(blobs)

    policy_version = policy.version
    keys = {
        e.path: cache_key(e.sha, posixpath.basename(e.path), version, policy_version) for e in blobs
    }
    per_key: dict[str, list[dict]] = {}
    for key, found in cache.get_many(set(keys.values())).items():
        opened = _unseal(fingerprint_key, key, found)
        if opened is not None:
            per_key[key] = opened
    result.cached = sum(1 for e in blobs if keys[e.path] in per_key)
    todo, large = {}, {}
    for entry in blobs:
        key = keys[entry.path]
        if key in per_key or key in todo or key in large:
            continue
        if entry.size is not None and entry.size > limits.max_blob_bytes:
            large[key] = entry
        else:
            todo[key] = entry
    done = len(blobs) - len(todo)
    if progress:
        progress(done, len(blobs))

    fresh: dict[str, list[dict]] = {}
    writer = _CacheWriter(cache, fingerprint_key, every=flush_seconds)
    try:
        fresh, cut = _scan_uncached(
            mirror=mirror, todo=todo, policy=policy, limits=limits, deadline=deadline,
            progress=progress, done=done, total=len(blobs), workers=workers, store=writer.add,
        )  # fmt: skip
        if cut:
            raise vcs.LimitExceeded("The scan hit its time limit.", limit="time")
        for key, entry in large.items():
            result.findings.append(
                _hygiene(entry.display_path, "large-file", Severity.INFO,
                         f"{entry.size} bytes, over the {limits.max_blob_bytes}-byte blob limit: "
                         "read in overlapping parts.")
            )  # fmt: skip
            found = scan_large_blob(
                mirror, entry.sha, posixpath.basename(entry.path), policy, deadline=deadline,
                chunk_bytes=min(limits.max_blob_bytes, 1 << 20) or 1 << 20,
            )  # fmt: skip
            if isinstance(found, str):
                result.unread.append((entry.display_path, found))
            else:
                fresh[key] = found
                writer.add({key: found})
    except vcs.LimitExceeded as exc:
        limit = getattr(exc, "limit", "") or "a"
        result.incomplete = f"{limit.replace('_', ' ')} limit: {exc}"
    finally:
        writer.flush()
    per_key.update(fresh)
    rows: list[tuple[str, list[dict], str]] = []  # (path, found, scope) of each file read
    unread: list[str] = []
    scope_of = boundary.scope
    for entry in blobs:
        found = per_key.get(keys[entry.path])
        path = entry.display_path
        if found is None:
            unread.append(path)  # not reached before a limit, or not read
        else:
            result.bytes += entry.size or 0
            rows.append((path, found, scope_of(path)))
    if unread:
        named = {path for path, _ in result.unread}
        reason = "not reached before the scan's limit" if result.incomplete else "not read"
        result.unread.extend((path, reason) for path in unread if path not in named)
    result.skipped = len(result.unread)
    if result.unread and not result.incomplete:
        shown = ", ".join(path for path, _ in result.unread[:5])
        more = f" and {len(result.unread) - 5} more" if len(result.unread) > 5 else ""
        result.incomplete = (
            f"{len(result.unread)} file(s) could not be read: {shown}{more} ({result.unread[0][1]})"
        )

    findings = result.findings
    for path, found, scope in rows:
        for item in found:
            findings.append(_place(item, path, scope, fingerprint_key, policy))
    if not result.incomplete:
        findings.extend(_repository_hygiene(rows, boundary))
    findings.sort(key=_finding_order)
    result.seconds = time.monotonic() - started
    return result


def _finding_order(f: ScanFinding) -> tuple:
    return (f.path, f.line, f.kind, f.rule)


class _CacheWriter:
    """Results go to the cache as they are produced, so an attempt that is killed outright
    (a worker's kill -9, a lost machine) keeps what it had read and the next attempt
    continues from there. Written at most every FLUSH_SECONDS, in one transaction each (a
    write per batch of a few hundred files would cost more than it saves), and whatever is
    left at the end. A secret's identities are sealed with the fingerprint key before they
    are stored; without a key, results holding secrets are not cached at all."""

    def __init__(self, cache: ResultCache, fingerprint_key: bytes, *, every: float):
        self.cache, self.key, self.every = cache, fingerprint_key, every
        self.pending: dict[str, list[dict]] = {}
        self.last = time.monotonic()

    def add(self, batch: Mapping[str, list[dict]]) -> None:
        for key, found in batch.items():
            if any(i["kind"] == Kind.SECRET for i in found):
                if not self.key:
                    continue  # nothing to seal its identities with: not cached
                found = _seal(self.key, key, found)
            self.pending[key] = found
        if time.monotonic() - self.last >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.cache.put_many(self.pending)
            self.pending = {}
        self.last = time.monotonic()


def _scan_uncached(
    *, mirror, todo, policy, limits, deadline, progress, done, total, workers, store
) -> tuple[dict[str, list[dict]], bool]:
    """Scan the uncached blobs: in this process, or, when there is enough work to pay for
    forking, dealt into parts that child processes read and scan on their own (see
    scans.forked); what a child that died did not send is scanned here. Returns
    the results and whether the time limit cut the work short (the results so far are
    kept either way). Every batch of results is handed to ``store`` as it arrives."""
    fresh: dict[str, list[dict]] = {}
    if not todo:
        return fresh, False
    total_bytes = sum(e.size or 0 for e in todo.values())
    workers = workers if workers is not None else (2 if _can_fork() else 1)
    by_sha: dict[str, list[tuple[str, str]]] = {}
    sizes: dict[str, int] = {}
    for key, entry in todo.items():
        by_sha.setdefault(entry.sha, []).append((key, entry.path.rpartition("/")[2]))
        sizes[entry.sha] = entry.size or 0

    if workers > 1 and total_bytes >= PARALLEL_MIN_BYTES:

        def arrived(batch: dict[str, list[dict]]) -> None:
            nonlocal done
            store(batch)
            done += len(batch)
            if progress:
                progress(done, total)

        fresh, cut = forked.scan_parts(
            mirror, forked.deal(by_sha, sizes, workers), policy, scan_blob,
            max_blob_bytes=limits.max_blob_bytes, deadline=deadline, on_results=arrived,
        )  # fmt: skip
        if cut:
            return fresh, True
        # A share whose child died is scanned here (it fails here too if the mirror is bad).
        by_sha = {sha: named for sha, named in by_sha.items() if named[0][0] not in fresh}
    if not by_sha:
        return fresh, False

    def scanned(batch: dict[str, list[dict]]) -> None:
        nonlocal done
        store(batch)
        fresh.update(batch)
        done += len(batch)
        if progress:
            progress(done, total)

    cut = forked.scan_share(
        mirror, list(by_sha.items()), policy, scan_blob, max_blob_bytes=limits.max_blob_bytes,
        deadline=deadline, on_batch=scanned,
    )  # fmt: skip
    return fresh, cut


def _hygiene(path: str, rule: str, severity: str, message: str) -> ScanFinding:
    return ScanFinding(path=path, line=0, kind=Kind.HYGIENE, rule=rule, severity=severity,
                       message=message, identity=rule)  # fmt: skip


_FIXTURE_FOLDERS = frozenset({
    "test", "tests", "__tests__", "testing", "spec", "specs", "testdata", "test-data",
    "test_data", "fixtures", "fixture", "__fixtures__", "__mocks__", "mocks", "e2e",
    "testfiles", "test-resources", "testresources",
})  # fmt: skip
_FIXTURE_NAME = re.compile(
    r"(^test_.*\.py$|_test\.(py|go|rb|exs?)$|^conftest\.py$|\.(test|spec)\.[cm]?[jt]sx?$"
    r"|(Test|Tests|IT|Spec)\.(java|kt|scala|groovy|cs)$|_spec\.rb$)"
)
#: Secret rules that a fixture's made-up value takes as readily as a real one: the value
#: only has to be assigned to a name, sit in a URL or header, or be any private key or JWT.
#: A value in a provider's own format (with its checksum or structure) is not downgraded.
GENERIC_SECRET_RULES = frozenset({
    "keyword-secret", "password-assignment", "url-credentials", "bearer-token", "basic-auth",
    "private-key", "jwt", "aws-secret-key", "gcp-service-account", "gcp-authorized-user",
})  # fmt: skip


def is_fixture_path(path: str) -> bool:
    """Tests and test resources (``src/test/resources``, ``testdata/``, ``*_test.go``,
    ``*.spec.ts``...): where made-up credentials live."""
    parts = path.lower().split("/")
    if any(part in _FIXTURE_FOLDERS for part in parts[:-1]):
        return True
    return bool(_FIXTURE_NAME.search(path.rsplit("/", 1)[-1]))


def _place(
    item: dict, path: str, scope: str, fingerprint_key: bytes, policy: Policy
) -> ScanFinding:
    """A cached, path-free finding placed at ``path``, its severity set by the path's
    scope under the boundary (Boundary.scope).
    A secret in a test or test resource is marked a likely fixture and, unless it is in a
    provider's own format, takes the policy's fixture severity (a warning by default)."""
    kind = item["kind"]
    severity = item["severity"]
    data = item.get("data", {})
    if kind == Kind.INTERNAL_REF:
        severity = Severity.BLOCKING if scope == "open" else Severity.INFO
    elif kind == Kind.LICENSE and severity == Severity.BLOCKING and scope != "open":
        severity = Severity.WARNING
    elif kind == Kind.SECRET and is_fixture_path(path):
        data = {**data, "fixture": True}
        if severity == Severity.BLOCKING and item["rule"] in GENERIC_SECRET_RULES:
            severity = policy.fixture_severity
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
        data=data,
        fingerprint_key=fingerprint_key,
    )


def _license_keys(expression: str) -> set[str]:
    return {
        token
        for token in re.split(r"[\s()]+", expression or "")
        if token and token.upper() not in {"AND", "OR", "WITH"}
    }


def _by_reference(rows) -> dict[str, ScanFinding]:
    """For each file whose header points at another file for its license ("see LICENSE",
    "see copyright notice in zlib.h"), that file's license, as a finding of the pointing
    file: resolved in the same folder first, then each folder above, up to the root."""
    referring = [
        (path, item)
        for path, found, _ in rows
        if found
        for item in found
        if item["rule"] == "license-reference" and item["kind"] == Kind.LICENSE
    ]
    if not referring:
        return {}  # nearly every repository: no header points elsewhere
    # Only files named like a referenced one can be referenced: their licenses are read.
    wanted = {
        posixpath.basename(
            (item.get("data") or {}).get("reference", "").strip().strip("'\"`")
        ).lower()
        for _, item in referring
    }
    licenses: dict[str, str] = {}  # path -> license
    by_name: dict[str, list[str]] = {}
    for path, found, _ in rows:
        name = path.rpartition("/")[2].lower()
        if name not in wanted:
            continue
        named = [i["license"] for i in found if i["kind"] == Kind.LICENSE and i.get("license")]
        if named:
            licenses[path] = " AND ".join(dict.fromkeys(named))
        by_name.setdefault(name, []).append(path)
    resolved: dict[str, ScanFinding] = {}
    for path, item in referring:
        if path in resolved:
            continue  # the first reference in a file decides
        reference = (item.get("data") or {}).get("reference", "")
        target = _find_referenced(path, reference, by_name)
        license = licenses.get(target) if target else None
        if license:
            resolved[path] = ScanFinding(
                path=path, line=item.get("line", 0), kind=Kind.LICENSE,
                rule="license-by-reference", severity=Severity.INFO,
                message=f"Licensed by reference to {target}: {license}.",
                identity=f"{target}:{license}", license=license,
                data={"source": "reference", "reference": target},
            )  # fmt: skip
        else:
            resolved[path] = _hygiene(
                path,
                "license-reference-unresolved",
                Severity.WARNING,
                f"The header refers to {reference or 'another file'} for its license; "
                "no such file with a recognised license is in the tree.",
            )
    return resolved


def _find_referenced(path: str, reference: str, by_name: dict[str, list[str]]) -> str | None:
    reference = reference.strip().strip("'\"`").lstrip("./")
    if not reference:
        return None
    candidates = by_name.get(posixpath.basename(reference).lower(), [])
    folder = posixpath.dirname(path)
    while True:
        for candidate in candidates:
            if posixpath.dirname(candidate) == folder:
                return candidate
        if not folder:
            return None
        folder = posixpath.dirname(folder)


def _extension(path: str) -> str:
    """posixpath.splitext's extension of the file name, lower case."""
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 and name[:dot].strip(".") else ""


def _repository_hygiene(rows, boundary) -> list[ScanFinding]:
    """What only the whole tree shows: missing community files, licenses by reference,
    open-scope source files without a license, and headers that name another license
    than the component's. ``rows`` are (path, found, scope) of every file read."""
    findings = []
    # Community files sit at the top level or one folder down.
    shallow = (path for path, _, _ in rows if path.count("/") <= 1)
    for label in missing_community_files(shallow):
        findings.append(
            _hygiene("", f"missing-{label.lower().replace('_', '-')}", Severity.WARNING,
                     f"No {label} file at the top level, in .github/ or in docs/.")
        )  # fmt: skip
    references = _by_reference(rows)
    findings.extend(references.values())
    allowed = _license_keys(boundary.license)
    for path, found, scope in rows:
        if scope != "open":
            continue
        licenses = [i for i in found if i["kind"] == Kind.LICENSE and i.get("license")]
        reference = references.get(path)
        if reference is not None and reference.license:
            licenses.append({"license": reference.license, "line": reference.line})
        if not licenses and reference is None and _extension(path) in SOURCE_EXTENSIONS:
            findings.append(
                _hygiene(path, "missing-license-header", Severity.WARNING,
                         "Source file in the open scope without a license header or SPDX tag.")
            )  # fmt: skip
        if not allowed:
            continue
        for item in licenses:
            named = item["license"]
            if not (_license_keys(named) & allowed):
                findings.append(
                    ScanFinding(
                        path=path, line=item.get("line", 0), kind=Kind.HYGIENE,
                        rule="license-mismatch", severity=Severity.WARNING,
                        message=f"Header says {named}; the component is {boundary.license}.",
                        identity=named, license=named,
                    )
                )  # fmt: skip
    return findings
