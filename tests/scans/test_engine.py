"""The engine on real repositories: limits, odd trees, the cache, the boundary."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

import vcs
from scans import engine, forked
from scans.detectors.base import Policy
from tests.gitrepo import GitRepo
from tests.tokens import github_token

POLICY = Policy(
    internal_domains=("corp.example-internal.net",),
    internal_packages=("com.example.internal",),
    internal_patterns=(r"EXJIRA-\d+",),
    licenses_denied=("GPL-3.0-only",),
)
APACHE_HEADER = "# SPDX-License-Identifier: Apache-2.0\n"
GITHUB_TOKEN = github_token("engine")
AWS_KEY = "AKIA" + "Z7QK3M9TWX4RB2NY"


def make(tmp_path, files, name="repo") -> GitRepo:
    repo = GitRepo(tmp_path / name)
    repo.commit(files, "initial")
    return repo


def mirror_of(repo: GitRepo, tmp_path) -> Path:
    return vcs.mirror_update(
        repo.url, tmp_path / "mirrors" / f"{uuid.uuid4().hex}.git", allow=[f"file://{tmp_path}/"]
    )


def scan(repo, tmp_path, *, cache=None, boundary=None, limits=None, policy=POLICY):
    mirror = mirror_of(repo, tmp_path)
    return engine.scan_commit(
        mirror=mirror, commit=repo.head(), policy=policy,
        boundary=boundary or engine.Boundary(["src/**"], ["src/internal/**"], "Apache-2.0"),
        cache=cache if cache is not None else engine.MemoryCache(),
        limits=limits or engine.Limits(), workers=1,
    )  # fmt: skip


def rules(result):
    return {(f.path, f.rule) for f in result.findings}


def test_secret_and_internal_refs_are_found_with_boundary_severity(tmp_path):
    repo = make(tmp_path, {
        "src/app.py": APACHE_HEADER + f'TOKEN = "{GITHUB_TOKEN}"\n'
                      'URL = "https://build.corp.example-internal.net/x"\n',
        "src/internal/shard.py": APACHE_HEADER + 'HOST = "db1.corp.example-internal.net"\n',
        "README.md": "# x\n", "LICENSE": "Apache License\nVersion 2.0, January 2004\n",
    })  # fmt: skip
    result = scan(repo, tmp_path)

    secret = next(f for f in result.findings if f.kind == "secret")
    assert (secret.path, secret.line, secret.severity) == ("src/app.py", 2, "blocking")
    assert GITHUB_TOKEN not in repr(result.findings)
    refs = {f.path: f.severity for f in result.findings if f.kind == "internal_ref"}
    assert refs == {"src/app.py": "blocking", "src/internal/shard.py": "info"}


def test_symlink_is_listed_never_followed_and_submodule_never_fetched(tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    repo = GitRepo(tmp_path / "repo")
    (repo.path / "README.md").write_text("# x\n")
    (repo.path / "passwd").symlink_to("/etc/passwd")
    (repo.path / ".gitmodules").write_text(
        f'[submodule "sub"]\n\tpath = sub\n\turl = ext::sh -c touch% {marker}\n'
    )
    repo.git("add", "-A")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{'a' * 40},sub")
    repo.git("commit", "-q", "-m", "odd tree")

    result = scan(repo, tmp_path)

    assert ("passwd", "symlink") in rules(result)
    assert ("sub", "submodule") in rules(result)
    assert "root:" not in json.dumps([f.to_json() for f in result.findings])
    assert not marker.exists()


def test_huge_files_are_read_in_parts_and_binary_files_listed(tmp_path):
    big = "".join(f"log line {n}\n" for n in range(1, 300_001)) + f'AWS_KEY = "{AWS_KEY}"\n'
    repo = make(tmp_path, {"README.md": "# x\n", "big.txt": big})
    (repo.path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0" + bytes(range(256)) * 10)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "binary")

    result = scan(repo, tmp_path, limits=engine.Limits(max_blob_bytes=100_000))

    assert ("big.txt", "large-file") in rules(result)
    assert ("logo.png", "binary-file") in rules(result)
    (key,) = [f for f in result.findings if f.path == "big.txt" and f.kind == "secret"]
    assert key.line == 300_001  # the line of the whole file, not of a part
    assert result.skipped == 0 and not result.incomplete and result.unread == []


def test_time_limit_ends_incomplete_never_clean(tmp_path):
    repo = make(tmp_path, {f"src/f{i}.py": f"x = {i}\n" for i in range(300)})
    result = scan(repo, tmp_path, limits=engine.Limits(time_limit=0.0))
    assert result.incomplete
    assert "time" in result.incomplete


def test_worker_processes_find_what_one_process_finds(tmp_path):
    """Over PARALLEL_MIN_BYTES of uncached text the blobs are dealt to worker processes
    that read them on their own: the same findings, each file once, as in one process."""
    filler = "".join(f"value_{n} = {n}  # padding line\n" for n in range(3_000))
    files = {f"src/m{i:03}.py": APACHE_HEADER + filler + f"N = {i}\n" for i in range(60)}
    files["src/m017.py"] += f'TOKEN = "{GITHUB_TOKEN}"\n'
    files["src/internal/x.py"] = 'HOST = "db1.corp.example-internal.net"\n'
    files["README.md"] = "# x\n"
    repo = make(tmp_path, files)
    assert sum(len(text) for text in files.values()) > engine.PARALLEL_MIN_BYTES
    mirror = mirror_of(repo, tmp_path)

    def run(workers):
        return engine.scan_commit(
            mirror=mirror, commit=repo.head(), policy=POLICY,
            boundary=engine.Boundary(["src/**"], ["src/internal/**"], "Apache-2.0"),
            cache=engine.MemoryCache(), workers=workers, fingerprint_key=b"k" * 32,
        )  # fmt: skip

    one, two = run(1), run(2)
    assert [f.to_json() for f in two.findings] == [f.to_json() for f in one.findings]
    assert two.files == one.files == 62 and not two.incomplete
    assert any(f.kind == "secret" and f.path == "src/m017.py" for f in two.findings)


def test_rescan_after_one_file_commit_reads_one_blob(tmp_path):
    files = {f"src/m{i}.py": APACHE_HEADER + f"VALUE = {i}\n" for i in range(50)}
    repo = make(tmp_path, {**files, "README.md": "# x\n"})
    cache = engine.MemoryCache()
    first = scan(repo, tmp_path, cache=cache)
    assert first.cached == 0 and first.files == 51

    repo.commit({"src/m7.py": APACHE_HEADER + f'KEY = "{GITHUB_TOKEN}"\n'}, "one file")
    second = scan(repo, tmp_path, cache=cache)

    assert second.files == 51 and second.cached == 50
    assert ("src/m7.py", "github-token") in rules(second) or any(
        f.kind == "secret" and f.path == "src/m7.py" for f in second.findings
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_results_reach_the_cache_while_the_scan_runs(tmp_path, workers):
    """What a scan read is in the cache before it ends, so an attempt killed outright (no
    finally, no end of the engine) leaves its progress for the next one."""
    files = {f"src/m{i:04}.py": f"VALUE_{i} = {'x' * 900!r}\n" for i in range(1200)}
    repo = make(tmp_path, {**files, "README.md": "# x\n"})
    mirror = mirror_of(repo, tmp_path)
    cache = engine.MemoryCache()
    cached_while_running = []

    def progress(done, total):
        if done < total:
            cached_while_running.append(len(cache.data))

    result = engine.scan_commit(
        mirror=mirror, commit=repo.head(), policy=POLICY, boundary=engine.Boundary(),
        cache=cache, progress=progress, workers=workers, flush_seconds=0,
    )  # fmt: skip
    assert result.files == 1201 and not result.incomplete
    assert max(cached_while_running) >= forked.FLUSH_FILES
    assert len(cache.data) == 1201


def test_policy_change_invalidates_cached_results(tmp_path):
    repo = make(tmp_path, {"src/a.py": 'H = "api.newcorp.test"\n', "README.md": "# x\n"})
    cache = engine.MemoryCache()
    before = scan(repo, tmp_path, cache=cache)
    assert not any(f.kind == "internal_ref" for f in before.findings)

    after = scan(repo, tmp_path, cache=cache, policy=Policy(internal_domains=("newcorp.test",)))
    assert after.cached == 0
    assert any(f.kind == "internal_ref" and f.path == "src/a.py" for f in after.findings)


def test_fingerprint_survives_line_moves(tmp_path):
    repo = make(tmp_path, {"src/a.py": f'T = "{GITHUB_TOKEN}"\n', "README.md": "# x\n"})
    first = {f.fingerprint for f in scan(repo, tmp_path).findings if f.kind == "secret"}
    repo.commit({"src/a.py": f'import os\n\n\nT = "{GITHUB_TOKEN}"\n'}, "move")
    second = {f.fingerprint for f in scan(repo, tmp_path).findings if f.kind == "secret"}
    assert first and first == second


def test_missing_community_files_and_license_headers(tmp_path):
    repo = make(tmp_path, {"src/a.py": "x = 1\n", "src/b.py": APACHE_HEADER + "y = 2\n",
                           "README.md": "# x\n"})  # fmt: skip
    found = rules(scan(repo, tmp_path))
    assert ("", "missing-contributing") in found and ("", "missing-license") in found
    assert ("", "missing-readme") not in found
    assert ("src/a.py", "missing-license-header") in found
    assert ("src/b.py", "missing-license-header") not in found


@pytest.mark.django_db
def test_scan_repo_command_prints_json(tmp_path, capsys, settings):
    settings.GATEHOUSE_MIRRORS_DIR = tmp_path / "mirrors"
    repo = make(tmp_path, {"src/a.py": f'T = "{GITHUB_TOKEN}"\n', "README.md": "# x\n"})
    call_command("scan_repo", str(repo.path), "--format", "json")
    out = json.loads(capsys.readouterr().out)
    assert out["commit"] == repo.head()
    assert set(out["stats"]) == {"files", "bytes", "skipped", "cached", "seconds"}
    secret = next(f for f in out["findings"] if f["kind"] == "secret")
    assert secret["path"] == "src/a.py" and secret["line"] == 1
    assert GITHUB_TOKEN not in json.dumps(out)


@pytest.mark.django_db
def test_scan_repo_command_refuses_a_repository_over_the_size_limit(tmp_path, settings):
    settings.GATEHOUSE_MIRRORS_DIR = tmp_path / "mirrors"
    settings.GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES = 1000
    repo = make(tmp_path, {"data.txt": os.urandom(4000).hex() + "\n"})
    with pytest.raises(CommandError, match="more than the limit"):
        call_command("scan_repo", str(repo.path))


def test_boundary_globs():
    b = engine.Boundary(["src/**", "api"], ["src/internal/**"])
    assert b.scope("src/x/y.py") == "open"
    assert b.scope("api/v1.py") == "open"
    assert b.scope("src/internal/a.py") == "internal"
    assert b.scope("tools/build.sh") == "outside"
    assert engine.Boundary().scope("anything") == "open"


def test_git_is_the_only_reader(tmp_path):
    """The engine reads through the mirror: the work tree may even be gone."""
    repo = make(tmp_path, {"README.md": "# x\n", "src/a.py": "x = 1\n"})
    mirror = mirror_of(repo, tmp_path)
    subprocess.run(["rm", "-rf", str(repo.path)], check=True)
    result = engine.scan_commit(
        mirror=mirror, commit=vcs.resolve_ref(mirror, "HEAD"), policy=POLICY,
        boundary=engine.Boundary(), cache=engine.MemoryCache(),
    )  # fmt: skip
    assert result.files == 2


@pytest.mark.django_db
def test_database_cache_keeps_the_first_result_of_a_key_and_reads_many():
    from scans.models import BlobResult
    from scans.services import DatabaseCache

    cache = DatabaseCache()
    cache.put_many({})  # nothing to write is no statement
    first = {f"k{i}": [{"rule": "aws-key", "line": i}] for i in range(1200)}  # several chunks
    cache.put_many(first)
    # Written twice (two workers on one blob): the first result stays, nothing fails.
    cache.put_many({"k0": [{"rule": "other"}], "new": []})
    found = cache.get_many([*first, "new", "absent"])
    assert found["k0"] == [{"rule": "aws-key", "line": 0}]
    assert found["k1199"] == [{"rule": "aws-key", "line": 1199}]
    assert found["new"] == [] and "absent" not in found
    assert BlobResult.objects.count() == 1201
    assert BlobResult.objects.get(key="k5").created_at is not None
