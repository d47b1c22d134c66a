"""Scanner benchmark: Gatehouse's engine against detect-secrets, REUSE and ScanCode on the
same real public codebase, whole process against whole process.

    .venv/bin/python benchmarks/scan_bench.py [--scancode-files 200] [--skip-peers]

The corpus is Django's source distribution from PyPI, unpacked and committed into a
temporary git repository (about 7,000 files). The peers are installed into their own
virtualenv under var/bench-peers on first use (scancode-toolkit needs
pluggy<1.6); nothing of theirs enters the project's environment. ScanCode runs on a
subset (it is slow); its files/s is extrapolated from that subset, as stated in the output.

Printed for each tool: files, MB, wall seconds, files/s, MB/s, peak RSS (MiB, of the
process tree as wait4 reports it), and the ratio of Gatehouse's files/s to the tool's.
Then Gatehouse's rescan after a one-file commit (engine seconds, blobs read).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "var" / "bench-peers"
PY = sys.executable


def run_measured(cmd, *, cwd=None, env=None) -> tuple[float, float, subprocess.CompletedProcess]:
    """Like run(), with peak RSS (MiB) of the whole process tree via os.wait4."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
    return seconds, usage.ru_maxrss / 1024, result


def git(*args, cwd):
    subprocess.run(
        ["git", "-c", "user.name=Bench", "-c", "user.email=bench@example.com",
         "-c", "commit.gpgsign=false", *args],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip


def make_corpus(work: Path) -> Path:
    sdists = work / "sdist"
    subprocess.run(
        [PY, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "django==5.2.19",
         "-d", str(sdists), "-q"],
        check=True,
    )  # fmt: skip
    archive = next(sdists.glob("*.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(work / "src", filter="data")
    repo = next((work / "src").iterdir())
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    # Over 6,700 loose objects, `git commit` starts `git gc --auto` in the background, which
    # would pack the repository while the first tool runs. Pack it now, and wait.
    git("-c", "gc.auto=0", "commit", "-q", "-m", "django sdist", cwd=repo)
    git("gc", "-q", cwd=repo)
    return repo


def corpus_size(repo: Path) -> tuple[int, int]:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True)
    names = [n for n in files.stdout.decode().split("\0") if n]
    return len(names), sum((repo / n).stat().st_size for n in names if (repo / n).is_file())


def ensure_peers() -> Path:
    bin_dir = PEERS / "bin"
    if not (bin_dir / "scancode").exists():
        subprocess.run([sys.base_prefix + "/bin/python3", "-m", "venv", str(PEERS)], check=True)
        subprocess.run(
            [str(bin_dir / "pip"), "install", "-q", "detect-secrets", "reuse",
             "scancode-toolkit", "pluggy<1.6"],
            check=True,
        )  # fmt: skip
    return bin_dir


def gatehouse_scan(repo: Path, env) -> tuple[float, float, dict]:
    seconds, rss, result = run_measured(
        [PY, str(ROOT / "manage.py"), "scan_repo", str(repo), "--format", "json"], env=env
    )
    if result.returncode:
        raise SystemExit(result.stderr.decode()[-3000:])
    return seconds, rss, json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scancode-files", type=int, default=200)
    parser.add_argument("--skip-peers", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="scan-bench-") as tmp:
        work = Path(tmp)
        repo = make_corpus(work)
        files, size = corpus_size(repo)
        mb = size / 1e6
        print(f"corpus: Django 5.2.19 sdist, {files} files, {mb:.1f} MB; {os.cpu_count()} cores")
        env = {
            **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
            "GATEHOUSE_VAR_DIR": str(work / "var"),
        }
        subprocess.run([PY, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)

        rows = []
        seconds, rss, out = gatehouse_scan(repo, env)
        rows.append(("gatehouse (all detectors, cold cache)", files, mb, seconds, rss))
        print(f"gatehouse: {len(out['findings'])} findings; engine {out['stats']['seconds']} s")

        (repo / "django" / "__init__.py").write_text(
            (repo / "django" / "__init__.py").read_text() + "\n# bench change\n"
        )
        git("-c", "gc.auto=0", "commit", "-q", "-am", "one file", cwd=repo)
        re_seconds, re_rss, again = gatehouse_scan(repo, env)

        if not args.skip_peers:
            bin_dir = ensure_peers()
            seconds, rss, result = run_measured(
                [str(bin_dir / "detect-secrets"), "scan", "--all-files"], cwd=repo
            )
            rows.append(("detect-secrets scan", files, mb, seconds, rss))
            seconds, rss, result = run_measured([str(bin_dir / "reuse"), "lint"], cwd=repo)
            rows.append(("reuse lint", files, mb, seconds, rss))
            subset = work / "subset"
            names = subprocess.run(
                ["git", "ls-files"], cwd=repo, capture_output=True, text=True, check=True
            ).stdout.split()
            picked = [n for n in names if n.endswith(".py")][: args.scancode_files]
            subset_bytes = 0
            for name in picked:
                target = subset / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(repo / name, target)
                subset_bytes += target.stat().st_size
            seconds, rss, result = run_measured(
                [str(bin_dir / "scancode"), "-l", "-c", "-n", "2", "--json", str(work / "sc.json"),
                 str(subset)]
            )  # fmt: skip
            rows.append((f"scancode -l -c (subset of {len(picked)})", len(picked),
                         subset_bytes / 1e6, seconds, rss))  # fmt: skip

        base = rows[0][1] / rows[0][3]
        print(f"\n{'tool':<42}{'files':>7}{'MB':>7}{'sec':>8}{'files/s':>10}{'MB/s':>8}"
              f"{'peak MiB':>10}{'gatehouse ×':>13}")  # fmt: skip
        for name, n, m, s, r in rows:
            rate = n / s
            print(f"{name:<42}{n:>7}{m:>7.1f}{s:>8.2f}{rate:>10.0f}{m / s:>8.2f}{r:>10.0f}"
                  f"{base / rate:>13.1f}")  # fmt: skip
        stats = again["stats"]
        print(
            f"\nrescan after a one-file commit: engine {stats['seconds']} s, "
            f"{stats['files'] - stats['cached']} blob(s) read, {stats['cached']} cached; "
            f"whole process {re_seconds:.2f} s, peak {re_rss:.0f} MiB"
        )


if __name__ == "__main__":
    main()
