"""Shared plumbing of the scanner benchmarks: measured runs, corpora from PyPI, peers, tables.

Nothing here is imported by the app. Sdists are fetched with pip into var/bench-corpora (kept
between runs; delete the folder to fetch again), the peers are installed into their own
virtualenv var/bench-peers on first use.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "var" / "bench-peers"
CORPORA = ROOT / "var" / "bench-corpora"
PY = sys.executable

# Each peer's executable and what pip installs for it. trufflehog3 3.0.10 pins attrs==20.3.0,
# which would break scancode-toolkit (attrs>=22.1) in the shared virtualenv, so it is
# installed without its pins (its other requirements unpinned; it runs fine on newer attrs).
PEER_PACKAGES = {
    "detect-secrets": (["detect-secrets"], False),
    "reuse": (["reuse"], False),
    "scancode": (["scancode-toolkit", "pluggy<1.6"], False),
    "trufflehog3": (["trufflehog3==3.0.10"], True),
}
TRUFFLEHOG3_DEPS = ["GitPython", "Jinja2", "PyYAML", "attrs"]


def run_measured(cmd, *, cwd=None, env=None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run cmd; wall seconds, peak RSS (MiB) of the process tree via os.wait4, and the result.

    The result also carries .cpu (user + system seconds of the process and the descendants
    it waited for) and .load (the 1-minute load average when it started): on a shared machine
    wall time moves with the others' load, CPU time much less."""
    load = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    result.cpu = usage.ru_utime + usage.ru_stime
    result.load = load
    return seconds, usage.ru_maxrss / 1024, result


def git(*args, cwd):
    subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip


def commit_tree(repo: Path, message: str) -> None:
    """git init + add + commit, then pack (so no background `gc --auto` runs during a tool)."""
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("-c", "gc.auto=0", "commit", "-q", "-m", message, cwd=repo)
    git("gc", "-q", cwd=repo)


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def fetch_sdist(name: str, version: str, sha256: str | None = None) -> Path:
    """The sdist of name==version from PyPI (pip download), cached in var/bench-corpora."""
    CORPORA.mkdir(parents=True, exist_ok=True)

    def cached() -> Path | None:
        for path in sorted(CORPORA.iterdir()):
            stem = path.name.removesuffix(".tar.gz").removesuffix(".zip")
            if stem != path.name and _norm(stem) == _norm(f"{name}-{version}"):
                return path
        return None

    archive = cached()
    if archive is None:
        print(f"fetching the {name} {version} sdist from PyPI ...", flush=True)
        subprocess.run(
            [PY, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             f"{name}=={version}", "-d", str(CORPORA), "-q"],
            check=True,
        )  # fmt: skip
        archive = cached()
        if archive is None:
            raise SystemExit(f"pip downloaded no sdist for {name}=={version}")
    if sha256:
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        if digest != sha256:
            raise SystemExit(f"{archive.name}: sha256 {digest}, expected {sha256}")
    return archive


def unpack(archive: Path, dest: Path) -> Path:
    """Extract a .tar.gz sdist (tarfile's data filter: no owners, links kept inside) to dest;
    returns its top folder."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    (top,) = [p for p in dest.iterdir() if p.is_dir()]
    return top


def sdist_repo(name: str, version: str, work: Path) -> Path:
    """The unpacked sdist committed into a fresh git repository under work."""
    repo = unpack(fetch_sdist(name, version), work / f"src-{_norm(name)}")
    commit_tree(repo, f"{name} {version} sdist")
    return repo


def repo_size(repo: Path) -> tuple[int, int]:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True)
    names = [n for n in files.stdout.decode().split("\0") if n]
    return len(names), sum((repo / n).stat().st_size for n in names if (repo / n).is_file())


def ensure_peers(names=tuple(PEER_PACKAGES)) -> Path:
    """The peers' bin folder; installs whichever of `names` is missing (minutes, first time)."""
    bin_dir = PEERS / "bin"
    if not (bin_dir / "pip").exists():
        subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", str(PEERS)], check=True)
    missing = [n for n in names if not (bin_dir / n).exists()]
    plain = [req for n in missing if not PEER_PACKAGES[n][1] for req in PEER_PACKAGES[n][0]]
    if plain:
        print(f"installing peers into {PEERS}: {' '.join(plain)} ...", flush=True)
        subprocess.run([str(bin_dir / "pip"), "install", "-q", *plain], check=True)
    for name in missing:
        reqs, no_deps = PEER_PACKAGES[name]
        if no_deps:
            print(f"installing {' '.join(reqs)} (--no-deps) into {PEERS} ...", flush=True)
            subprocess.run([str(bin_dir / "pip"), "install", "-q", *TRUFFLEHOG3_DEPS], check=True)
            subprocess.run([str(bin_dir / "pip"), "install", "-q", "--no-deps", *reqs], check=True)
    return bin_dir


def peer_version(bin_dir: Path, package: str) -> str:
    out = subprocess.run(
        [str(bin_dir / "python"), "-c",
         f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True, text=True,
    )  # fmt: skip
    return out.stdout.strip() or "?"


class Gatehouse:
    """`manage.py scan_repo` of one Gatehouse checkout (default: this one), whole process, with
    its own var/ folder (database, mirrors, cache) under work."""

    def __init__(self, root: Path, work: Path, name: str = "var"):
        self.root = root
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
            "GATEHOUSE_VAR_DIR": str(work / name),
        }
        # Every run starts in the checkout itself: the current directory can end up first on
        # sys.path, and another checkout's packages must not shadow the one measured.
        subprocess.run(
            [PY, str(root / "manage.py"), "migrate", "-v0"], env=self.env, cwd=root, check=True
        )
        # As `make setup` leaves it: our packages compiled ahead (see the Makefile).
        subprocess.run(["make", "-s", "bytecode"], cwd=root, check=True)

    def scan(self, repo: Path, policy: Path | None = None) -> tuple[float, float, dict]:
        cmd = [PY, str(self.root / "manage.py"), "scan_repo", str(repo), "--format", "json"]
        if policy is not None:
            cmd += ["--policy", str(policy)]
        seconds, rss, result = run_measured(cmd, env=self.env, cwd=self.root)
        if result.returncode:
            raise SystemExit("gatehouse scan_repo failed:\n" + result.stderr.decode()[-3000:])
        self.last = result
        return seconds, rss, json.loads(result.stdout)

    def startup_seconds(self, runs: int = 3) -> float:
        """Best of `runs` for `manage.py scan_repo --help`: interpreter, Django and app import."""
        cmd = [PY, str(self.root / "manage.py"), "scan_repo", "--help"]
        return min(run_measured(cmd, env=self.env, cwd=self.root)[0] for _ in range(runs))

    def describe(self) -> str:
        """Which scanner ran: the checkout, its commit, and whether scans/ or vcs/ differ from
        it (read-only git calls: no index refresh, no lock)."""
        where = "this checkout" if self.root == ROOT else str(self.root)
        head = subprocess.run(
            ["git", "--no-optional-locks", "rev-parse", "--short", "HEAD"], cwd=self.root,
            capture_output=True, text=True,
        )  # fmt: skip
        if head.returncode:
            return f"{where} (not a git checkout)"
        diff = subprocess.run(
            ["git", "--no-optional-locks", "diff", "--quiet", "HEAD", "--", "scans", "vcs"],
            cwd=self.root, capture_output=True,
        )  # fmt: skip
        dirty = " + uncommitted changes in scans/ or vcs/" if diff.returncode else ""
        return f"{where} at {head.stdout.strip()}{dirty}"


def markdown_table(headers: list[str], rows: list[list], align: str = "") -> str:
    """A GitHub-flavoured markdown table; align is one of l/r per column (default: l, then r)."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
