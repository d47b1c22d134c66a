"""Scanner accuracy benchmark: Gatehouse's secret, internal-reference and license detection
against detect-secrets, REUSE and ScanCode on a labelled, seeded synthetic corpus.

    .venv/bin/python benchmarks/accuracy_bench.py [--seed N] [--files N] [--skip-peers]
                                                  [--scancode-files N]

The corpus (benchmarks/accuracy_corpus.py) is generated from the seed, written into a
temporary git repository and committed. It mixes Python, Java, Go, JS/TS, YAML, JSON, .env,
shell, Terraform, Dockerfile, XML, properties and Markdown files carrying

* planted credentials, one per line, values drawn from the seeded RNG (AWS, GitHub, GitLab,
  Slack, Stripe, Google, SendGrid, npm, PyPI, private keys, JWTs, credentials in connection
  URLs, keyword-assigned random values) and decoys that must not be reported (placeholders,
  environment look-ups, documented example keys, checksums, UUIDs, git SHAs, public hosts,
  compared/read passwords, test words);
* planted internal references for a held-out policy (a fictional company's hosts, e-mail
  domain, package namespaces and ticket patterns) and look-alikes that must not match;
* license headers (12 licenses, varied comment styles, wrapping and partial headers),
  SPDX tags, LICENSE texts, and files with no license.

Measured, line-level for secrets and internal references: a finding on a planted line is a
TP, a finding on any other line an FP (private-key body/END lines and a few ambiguous lines
are neutral: they count neither way), a planted line without a finding an FN. Licenses are
compared per file (set of SPDX ids, case-insensitive, GPL-2.0+ == GPL-2.0-or-later,
GPL-2.0 == GPL-2.0-only; for Gatehouse, the union of its license findings in the file).

Tools: Gatehouse (`manage.py scan_repo --format json --policy`), detect-secrets
(`scan --all-files`), reuse (`lint --json`, per-file SPDX expressions) and ScanCode (`-l` on a
seeded subset of the license files). Every FP and FN is listed with values redacted to their
first four characters.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.accuracy_corpus import AMBIGUOUS, POLICY_YAML, Corpus, generate  # noqa: E402
from benchmarks.scan_bench import git, run_measured  # noqa: E402

PEERS = ROOT / "var" / "bench-peers" / "bin"
PY = sys.executable
# Credential types the brief asked for; the others are extra real-world types.
BRIEF_KINDS = {
    "aws-access-key-id",
    "aws-secret-access-key",
    "github-pat",
    "github-oauth",
    "github-fine-grained",
    "gitlab-pat",
    "slack-bot",
    "slack-user",
    "slack-webhook",
    "stripe-live",
    "stripe-restricted",
    "google-api-key",
    "sendgrid",
    "npm-token",
    "pypi-token",
    "private-key",
    "jwt",
    "connection-url",
    "keyword",
    "url-query-password",
}
TARGETS = {"secret_recall": 0.99, "secret_precision": 0.97, "internal": 0.98, "license": 0.97}


# --------------------------------------------------------------------------------------------
# Running the tools


def write_repo(corpus: Corpus, repo: Path) -> None:
    for path, text in corpus.files.items():
        target = repo / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "accuracy corpus", cwd=repo)


def run_gatehouse(repo: Path, work: Path) -> tuple[float, dict]:
    policy = work / "policy.yaml"
    policy.write_text(POLICY_YAML)
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "GATEHOUSE_VAR_DIR": str(work / "var"),
    }
    subprocess.run([PY, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True)
    seconds, _, result = run_measured(
        [PY, str(ROOT / "manage.py"), "scan_repo", str(repo), "--format", "json",
         "--policy", str(policy)],
        env=env,
    )  # fmt: skip
    if result.returncode:
        raise SystemExit("gatehouse failed:\n" + result.stderr.decode()[-3000:])
    return seconds, json.loads(result.stdout)


def run_detect_secrets(repo: Path) -> tuple[float, dict[tuple[str, int], set[str]]]:
    seconds, _, result = run_measured(
        [str(PEERS / "detect-secrets"), "scan", "--all-files"], cwd=repo
    )
    if result.returncode:
        raise SystemExit("detect-secrets failed:\n" + result.stderr.decode()[-3000:])
    found: dict[tuple[str, int], set[str]] = defaultdict(set)
    for filename, items in json.loads(result.stdout)["results"].items():
        for item in items:
            found[(filename, item["line_number"])].add(item["type"])
    return seconds, found


def run_reuse(repo: Path) -> tuple[float, dict[str, set[str]]]:
    seconds, _, result = run_measured([str(PEERS / "reuse"), "lint", "--json"], cwd=repo)
    out: dict[str, set[str]] = {}
    for entry in json.loads(result.stdout)["files"]:
        ids: set[str] = set()
        for expr in entry.get("spdx_expressions", []):
            ids |= license_ids(expr["value"])
        out[entry["path"]] = ids
    return seconds, out


def run_scancode(
    corpus: Corpus, repo: Path, work: Path, n: int, seed: int
) -> tuple[float, dict[str, set[str]]]:
    import random

    names = sorted(corpus.licenses)
    picked = sorted(random.Random(seed).sample(names, min(n, len(names))))  # noqa: S311
    subset = work / "subset"
    for name in picked:
        target = subset / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    out_json = work / "scancode.json"
    seconds, _, result = run_measured(
        [str(PEERS / "scancode"), "-l", "-n", "2", "--quiet", "--json", str(out_json), str(subset)]
    )
    if result.returncode and not out_json.exists():
        raise SystemExit("scancode failed:\n" + result.stderr.decode()[-3000:])
    found: dict[str, set[str]] = {}
    for entry in json.loads(out_json.read_text())["files"]:
        if entry.get("type") != "file":
            continue
        path = entry["path"].split("/", 1)[1] if "/" in entry["path"] else entry["path"]
        found[path] = license_ids(entry.get("detected_license_expression_spdx") or "")
    return seconds, {p: found.get(p, set()) for p in picked}


# --------------------------------------------------------------------------------------------
# Scoring

ALIASES = {
    "gpl-2.0": "gpl-2.0-only", "gpl-2.0+": "gpl-2.0-or-later", "gpl-3.0": "gpl-3.0-only",
    "gpl-3.0+": "gpl-3.0-or-later", "lgpl-2.1": "lgpl-2.1-only", "lgpl-2.1+": "lgpl-2.1-or-later",
    "lgpl-3.0": "lgpl-3.0-only", "lgpl-3.0+": "lgpl-3.0-or-later", "agpl-3.0": "agpl-3.0-only",
    "agpl-3.0+": "agpl-3.0-or-later",
}  # fmt: skip


def license_ids(expression: str | None) -> set[str]:
    """The set of license ids in an SPDX expression, normalised; unknown references dropped."""
    if not expression:
        return set()
    ids = set()
    for token in re.split(r"[\s()]+", expression):
        low = token.lower()
        if not low or low in ("and", "or", "with"):
            continue
        if low.startswith("licenseref-scancode-unknown") or low in ("noassertion", "none"):
            continue
        ids.add(ALIASES.get(low, low))
    return ids


def score(
    found: set[tuple[str, int]], planted: set[tuple[str, int]], neutral: set[tuple[str, int]]
):
    counted = found - neutral
    tp = counted & planted
    fp = counted - planted
    fn = planted - found
    precision = len(tp) / (len(tp) + len(fp)) if tp or fp else 1.0
    recall = len(tp) / (len(tp) + len(fn)) if tp or fn else 1.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall}


SECRETISH = re.compile(r"[A-Za-z0-9+/_\-]{16,}={0,2}")


def redact(line: str, values: list[str]) -> str:
    for value in sorted(values, key=len, reverse=True):
        line = line.replace(value, value[:4] + "…")

    def generic(match: re.Match) -> str:
        text = match.group(0)
        if sum(ch.isdigit() for ch in text) >= 2 and any(ch.isalpha() for ch in text):
            return text[:4] + "…"
        return text

    line = SECRETISH.sub(generic, line)
    return line if len(line) <= 150 else line[:147] + "..."


def line_of(corpus: Corpus, path: str, line: int) -> str:
    lines = corpus.files.get(path, "").split("\n")
    text = lines[line - 1] if 0 < line <= len(lines) else "<no such line>"
    return redact(text, corpus.values.get((path, line), []))


def fmt_ratio(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--scancode-files", type=int, default=100)
    args = parser.parse_args()

    started = time.perf_counter()
    corpus = generate(args.seed, args.files)
    planted = set(corpus.secrets)
    neutral = set(corpus.secret_neutral)
    internal = set(corpus.internal)
    print(
        f"corpus: seed {args.seed}, {len(corpus.files)} files; {len(planted)} planted secrets, "
        f"{len(corpus.secret_decoys)} secret decoys, {len(neutral)} neutral lines; "
        f"{len(internal)} internal refs, {len(corpus.internal_decoys)} look-alikes; "
        f"{len(corpus.licenses)} license-category files "
        f"({sum(v is None for v in corpus.licenses.values())} without a license)"
    )
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="accuracy-bench-") as tmp:
        work = Path(tmp)
        repo = work / "repo"
        repo.mkdir()
        write_repo(corpus, repo)

        timings["gatehouse"], out = run_gatehouse(repo, work)
        g_secret: dict[tuple[str, int], set[str]] = defaultdict(set)
        g_internal: dict[tuple[str, int], set[str]] = defaultdict(set)
        g_license: dict[str, set[str]] = defaultdict(set)
        for f in out["findings"]:
            if not f.get("path"):
                continue
            key = (f["path"], f.get("line") or 0)
            if f["kind"] == "secret":
                g_secret[key].add(f["rule"])
            elif f["kind"] == "internal_ref":
                g_internal[key].add(f["rule"])
            elif f["kind"] == "license" and f.get("license"):
                g_license[f["path"]] |= license_ids(f["license"])
        if out.get("incomplete"):
            print(f"WARNING: gatehouse scan incomplete: {out['incomplete']}")

        ds_found = reuse_found = sc_found = None
        if not args.skip_peers:
            timings["detect-secrets"], ds_found = run_detect_secrets(repo)
            timings["reuse"], reuse_found = run_reuse(repo)
            if args.scancode_files > 0:
                timings["scancode"], sc_found = run_scancode(
                    corpus, repo, work, args.scancode_files, args.seed
                )

    # ---- secrets
    secret_rows = [("gatehouse", g_secret)] + (
        [("detect-secrets", ds_found)] if ds_found is not None else []
    )
    alias = corpus.secret_alias
    secret_scores = {
        name: score({alias.get(k, k) for k in found}, planted, neutral)
        for name, found in secret_rows
    }
    print(f"\nSECRETS (line-level; {len(planted)} planted lines)   target: recall >= "
          f"{TARGETS['secret_recall']}, precision >= {TARGETS['secret_precision']}")  # fmt: skip
    print(f"{'tool':<16}{'TP':>6}{'FP':>6}{'FN':>6}{'precision':>11}{'recall':>9}  meets target")
    for name, s in secret_scores.items():
        ok = (
            s["precision"] >= TARGETS["secret_precision"]
            and s["recall"] >= TARGETS["secret_recall"]
        )
        print(f"{name:<16}{len(s['tp']):>6}{len(s['fp']):>6}{len(s['fn']):>6}"
              f"{s['precision']:>11.3f}{s['recall']:>9.3f}  {'yes' if ok else 'NO'}")  # fmt: skip

    kinds = Counter(p.kind for p in corpus.secrets.values())
    brief = {k for k in planted if corpus.secrets[k].kind in BRIEF_KINDS}
    for name, _ in secret_rows:
        hit = len(secret_scores[name]["tp"] & brief)
        print(f"  {name}: recall on the brief's credential types only {hit}/{len(brief)}"
              f" = {hit / len(brief):.3f}")  # fmt: skip

    def hits(tool: str, kind: str) -> int:
        return sum(1 for k in secret_scores[tool]["tp"] if corpus.secrets[k].kind == kind)

    print(f"\nrecall by planted kind ({'; '.join(n for n, _ in secret_rows)}):")
    for kind in sorted(kinds):
        cells = "".join(f"{hits(n, kind):>6}/{kinds[kind]:<4}" for n, _ in secret_rows)
        print(f"  {kind:<22}{'' if kind in BRIEF_KINDS else '(extra)':<8}{cells}")

    # ---- internal references
    i_score = score(set(g_internal), internal, set())
    print(
        f"\nINTERNAL REFERENCES (gatehouse; {len(internal)} planted lines, "
        f"{len(corpus.internal_decoys)} look-alike lines)   target: >= {TARGETS['internal']} both"
    )
    print(f"{'tool':<16}{'TP':>6}{'FP':>6}{'FN':>6}{'precision':>11}{'recall':>9}  meets target")
    ok = min(i_score["precision"], i_score["recall"]) >= TARGETS["internal"]
    print(
        f"{'gatehouse':<16}{len(i_score['tp']):>6}{len(i_score['fp']):>6}{len(i_score['fn']):>6}"
        f"{i_score['precision']:>11.3f}{i_score['recall']:>9.3f}  {'yes' if ok else 'NO'}"
    )
    ikinds = Counter(corpus.internal.values())
    print(
        "  recall by kind: "
        + ", ".join(
            f"{k} {sum(1 for x in i_score['tp'] if corpus.internal[x] == k)}/{n}"
            for k, n in sorted(ikinds.items())
        )
    )

    # ---- licenses
    truth = {p: license_ids(s) for p, s in corpus.licenses.items()}
    license_rows = [("gatehouse", {p: g_license.get(p, set()) for p in truth})]
    if reuse_found is not None:
        license_rows.append(("reuse", {p: reuse_found.get(p, set()) for p in truth}))
    if sc_found is not None:
        license_rows.append((f"scancode ({len(sc_found)} subset)", sc_found))
    print(
        f"\nLICENSES (per file; {len(truth)} license-category files)   "
        f"target: >= {TARGETS['license']}"
    )
    print(
        f"{'tool':<24}{'files':>6}{'correct':>9}{'accuracy':>10}{'with lic.':>11}"
        f"{'none-files':>12}  meets target"
    )
    mismatches: dict[str, list[tuple[str, set[str], set[str]]]] = {}
    for name, pred in license_rows:
        rows = [(p, truth[p], pred.get(p, set())) for p in pred]
        correct = sum(1 for _, t, g in rows if t == g)
        lic = [r for r in rows if r[1]]
        none = [r for r in rows if not r[1]]
        acc = correct / len(rows) if rows else 0
        print(
            f"{name:<24}{len(rows):>6}{correct:>9}{acc:>10.3f}"
            f"{sum(t == g for _, t, g in lic):>6}/{len(lic):<4}"
            f"{sum(t == g for _, t, g in none):>7}/{len(none):<4}"
            f"  {'yes' if acc >= TARGETS['license'] else 'NO'}"
        )
        mismatches[name] = [r for r in rows if r[1] != r[2]]
    if "scancode" in timings and sc_found:
        sub = set(sc_found)
        g_sub = sum(1 for p in sub if truth[p] == g_license.get(p, set()))
        print(f"  gatehouse on the scancode subset: {g_sub}/{len(sub)} = {g_sub / len(sub):.3f}")
    by_style: dict[str, list[str]] = defaultdict(list)
    for path, style in corpus.license_style.items():
        by_style[style].append(path)
    print(
        "  gatehouse accuracy by header style: "
        + ", ".join(
            f"{style} {sum(1 for p in paths if truth[p] == g_license.get(p, set()))}/{len(paths)}"
            for style, paths in sorted(by_style.items())
        )
    )
    stray = sorted(p for p in g_license if p not in truth)
    print(f"  gatehouse license findings on non-license files: {len(stray)}")

    # ---- timings
    print("\nwall seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
          + f"; total {time.perf_counter() - started:.1f}")  # fmt: skip

    # ---- details
    for name, found in secret_rows:
        s = secret_scores[name]
        print(f"\n{name}: secret false positives ({len(s['fp'])})")
        for key in sorted(s["fp"]):
            label = corpus.secret_decoys.get(key, "unlabelled")
            print(f"  FP {key[0]}:{key[1]}  [{','.join(sorted(found[key]))}] decoy={label}  "
                  f"{line_of(corpus, *key)}")  # fmt: skip
        print(f"{name}: secret false negatives ({len(s['fn'])})")
        for key in sorted(s["fn"]):
            print(f"  FN {key[0]}:{key[1]}  [{corpus.secrets[key].kind}]  {line_of(corpus, *key)}")
    print(f"\ngatehouse: internal-reference false positives ({len(i_score['fp'])})")
    for key in sorted(i_score["fp"]):
        label = corpus.internal_decoys.get(key, "unlabelled")
        print(f"  FP {key[0]}:{key[1]}  [{','.join(sorted(g_internal[key]))}] decoy={label}  "
              f"{line_of(corpus, *key)}")  # fmt: skip
    print(f"gatehouse: internal-reference false negatives ({len(i_score['fn'])})")
    for key in sorted(i_score["fn"]):
        print(f"  FN {key[0]}:{key[1]}  [{corpus.internal[key]}]  {line_of(corpus, *key)}")
    for name, rows in mismatches.items():
        print(f"\n{name}: license mismatches ({len(rows)})")
        for path, t, g in sorted(rows):
            print(f"  {path}  [{corpus.license_style[path]}] expected {sorted(t) or 'none'}, "
                  f"got {sorted(g) or 'none'}")  # fmt: skip
    if stray:
        print("\ngatehouse: license findings on non-license files")
        for path in stray:
            print(f"  {path}: {sorted(g_license[path])}")

    print("\nlabels a reasonable tool could dispute:")
    for key, text in AMBIGUOUS.items():
        print(f"  {key}: {text}")


if __name__ == "__main__":
    main()
