"""No silent blind spots, on real repositories: text in any encoding is read, a file over
the blob limit is read in parts (or the scan says it was not), made-up credentials in
tests are told from real ones, a license by reference is resolved, a baseline accepts
what the office accepted before, and any commit-ish can be scanned."""

from __future__ import annotations

import codecs
import hashlib
import json
import uuid
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

import vcs
from core.models import AuditEvent
from scans import engine
from scans.detectors.base import Policy
from scans.models import BaselineEntry, Finding, ScanPolicy
from scans.services import baseline_export, baseline_import, scan_execute, scan_request
from tests.conftest import submit
from tests.gitrepo import GitRepo

AWS_KEY = "AKIA" + "Z7QK3M9TWX4RB2NY"
POWERSHELL = (
    "# SPDX-License-Identifier: GPL-3.0-only\r\n"
    "# Copyright (c) 2021 Contoso Ltd\r\n"
    f'$AccessKeyId = "{AWS_KEY}"\r\n'
    "Write-Host 'deploying'\r\n"
)


def make(tmp_path, files: dict[str, str | bytes]) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    for name, content in files.items():
        target = repo.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "files")
    return repo


def scan(repo, tmp_path, **kwargs):
    mirror = vcs.mirror_update(
        repo.url, tmp_path / "mirrors" / f"{uuid.uuid4().hex}.git", allow=[f"file://{tmp_path}/"]
    )
    return engine.scan_commit(
        mirror=mirror, commit=repo.head(), policy=kwargs.pop("policy", Policy()),
        boundary=kwargs.pop("boundary", engine.Boundary()), cache=engine.MemoryCache(),
        **kwargs,
    )  # fmt: skip


def found(result, path):
    return {(f.kind, f.line) for f in result.findings if f.path == path}


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-8", codecs.BOM_UTF8),
    ],
)
def test_wide_encodings_are_read_with_their_line_numbers(tmp_path, encoding, bom):
    repo = make(tmp_path, {"deploy.ps1": bom + POWERSHELL.encode(encoding)})
    result = scan(repo, tmp_path)
    seen = found(result, "deploy.ps1")
    assert ("secret", 3) in seen
    assert ("license", 1) in seen and ("copyright", 2) in seen
    assert not [f for f in result.findings if f.rule == "binary-file"]


def test_latin1_text_is_text_and_a_stray_nul_does_not_make_a_file_binary(tmp_path):
    latin = "# Copyright (c) 2019 Société Générale\n".encode("latin-1")
    stray = f'x = 1\0\nAWS = "{AWS_KEY}"\n'.encode()
    repo = make(tmp_path, {"legacy.py": latin, "odd.py": stray, "logo.png": b"\x89PNG\r\n\x1a\n"})
    result = scan(repo, tmp_path)
    (holder,) = [f for f in result.findings if f.path == "legacy.py" and f.kind == "copyright"]
    assert "Société Générale" in holder.message + str(holder.data)
    assert ("secret", 2) in found(result, "odd.py")
    assert [f.rule for f in result.findings if f.path == "logo.png"] == ["binary-file"]


def test_a_secret_deep_in_a_file_over_the_blob_limit_is_found(tmp_path):
    lines = "".join(f"entry {n}\n" for n in range(1, 1_000_003))
    repo = make(tmp_path, {"dump.log": lines + f"aws_access_key_id = {AWS_KEY}\n"})
    result = scan(repo, tmp_path, limits=engine.Limits(max_blob_bytes=2_000_000))
    assert ("secret", 1_000_003) in found(result, "dump.log")
    assert not result.incomplete and result.skipped == 0


def test_what_cannot_be_read_in_parts_ends_the_scan_incomplete_and_named(tmp_path):
    wide = codecs.BOM_UTF16_LE + ("line\n" * 200_000).encode("utf-16-le")
    repo = make(tmp_path, {"wide.txt": wide, "ok.py": "x = 1\n"})
    result = scan(repo, tmp_path, limits=engine.Limits(max_blob_bytes=100_000))
    assert result.unread == [("wide.txt", "a UTF-16-LE file too large to read whole")]
    assert "wide.txt" in result.incomplete and result.skipped == 1


# --------------------------------------------------------------------------- fixtures


def test_made_up_credentials_in_tests_are_warnings_real_looking_keys_still_block(tmp_path):
    password = "Vq3!mR8#zT2pL9wK"
    files = {
        "src/test/resources/application.properties": f"db.password={password}\n",
        "tests/test_login.py": f'PASSWORD = "{password}"\nKEY = "{AWS_KEY}"\n',
        "app/settings.py": f'PASSWORD = "{password}"\n',
    }
    repo = make(tmp_path, files)
    result = scan(repo, tmp_path)
    by_place = {(f.path, f.line): f for f in result.findings if f.kind == "secret"}
    fixture = by_place[("src/test/resources/application.properties", 1)]
    assert fixture.severity == "warning" and fixture.data["fixture"] is True
    assert by_place[("tests/test_login.py", 1)].severity == "warning"
    assert by_place[("tests/test_login.py", 2)].severity == "blocking"  # a provider's format
    assert by_place[("app/settings.py", 1)].severity == "blocking"
    strict = scan(repo, tmp_path, policy=Policy(fixture_severity="blocking"))
    assert {f.severity for f in strict.findings if f.kind == "secret"} == {"blocking"}


@pytest.mark.parametrize(
    ("path", "fixture"),
    [
        ("src/test/resources/keys/server.pem", True),
        ("pkg/auth/testdata/token.txt", True),
        ("internal/auth/auth_test.go", True),
        ("web/src/login.spec.ts", True),
        ("src/main/java/LoginTest.java", True),
        ("tests/conftest.py", True),
        ("app/latest.py", False),
        ("contest/settings.py", False),
        ("src/main/resources/application.yml", False),
    ],
)
def test_fixture_paths(path, fixture):
    assert engine.is_fixture_path(path) is fixture


# --------------------------------------------------------------------------- license by reference


def test_a_license_by_reference_is_resolved_to_the_referenced_files_license(tmp_path):
    zlib_h = "/* zlib.h -- interface\n  Copyright (C) 1995 Jean-loup Gailly\n\n" + (
        "  This software is provided 'as-is', without any express or implied\n"
        "  warranty.  In no event will the authors be held liable for any damages\n"
        "  arising from the use of this software.\n\n"
        "  Permission is granted to anyone to use this software for any purpose,\n"
        "  including commercial applications, and to alter it and redistribute it\n"
        "  freely, subject to the following restrictions:\n */\n"
    )
    repo = make(tmp_path, {
        "src/zlib.h": "// SPDX-License-Identifier: Zlib\n" + zlib_h,
        "src/deflate.c": "/* deflate.c -- compress data\n * For conditions of distribution "
                         "and use, see copyright notice in zlib.h\n */\nint x;\n",
        "src/orphan.c": "/* See the file NOWHERE.txt for the license. */\nint y;\n",
        "src/lost.c": "/* For conditions of distribution and use, see copyright notice in "
                      "gone.h */\nint z;\n",
    })  # fmt: skip
    result = scan(repo, tmp_path, boundary=engine.Boundary(["src/**"], (), "Zlib"))
    rules_of = {(f.path, f.rule) for f in result.findings}
    assert ("src/deflate.c", "missing-license-header") not in rules_of
    (by_reference,) = [f for f in result.findings if f.rule == "license-by-reference"]
    assert (by_reference.path, by_reference.license) == ("src/deflate.c", "Zlib")
    assert by_reference.data["reference"] == "src/zlib.h"
    # A reference to a file the tree lacks is said, never taken for a license.
    assert ("src/lost.c", "license-reference-unresolved") in rules_of


# --------------------------------------------------------------------------- baseline


def test_the_office_imports_a_baseline_and_later_scans_start_it_accepted(world, make_repo):
    ScanPolicy.objects.create(pk=1)
    repo = make_repo({"README.md": "# x\n", "deploy/aws.py": f'KEY_ID = "{AWS_KEY}"\n'})
    submission = submit(world, repo, actor=world.alice, slug="legacy")
    first = scan_request(repository=submission.repository, commit=submission.commit,
                         component=submission.component)  # fmt: skip
    scan_execute(scan_id=first.pk)
    secret = Finding.objects.get(scan=first, kind="secret")
    document = {"baseline": [{"fingerprint": secret.fingerprint, "reason": "Rotated in 2024."}]}
    with pytest.raises(PermissionDenied):
        baseline_import(component=submission.component, actor=world.reviewers["security"],
                        document=document, source="x.json")  # fmt: skip
    assert baseline_import(component=submission.component, actor=world.admin,
                           document=document, source="legacy.json") == 1  # fmt: skip
    secret.refresh_from_db()
    assert secret.state == "accepted_risk" and not secret.awaits_confirmation
    event = AuditEvent.objects.get(action="baseline.imported")
    assert event.after["entries"] == 1 and event.after["findings_accepted"] == 1
    again = scan_request(repository=submission.repository, commit=submission.commit,
                         component=submission.component, force=True)  # fmt: skip
    scan_execute(scan_id=again.pk)
    carried = Finding.objects.get(scan=again, kind="secret")
    assert carried.state == "accepted_risk"
    assert baseline_export(component=submission.component)["baseline"] == [
        {"fingerprint": secret.fingerprint, "reason": secret.triage_reason}
    ]
    assert BaselineEntry.objects.count() == 1


def test_a_malformed_baseline_is_refused_and_writes_nothing(world, make_repo):
    component = submit(world, make_repo(), slug="legacy").component
    from django.core.exceptions import ValidationError

    for document in [{"baseline": ["not-a-fingerprint"]}, {"nope": 1}, [{"reason": "x"}]]:
        with pytest.raises(ValidationError):
            baseline_import(component=component, actor=world.admin, document=document,
                            source="bad.json")  # fmt: skip
    assert not BaselineEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="baseline.imported").exists()


# --------------------------------------------------------------------------- scan_repo


def test_scan_repo_takes_any_commit_ish_and_refuses_options(tmp_path, settings, db):
    settings.GATEHOUSE_MIRRORS_DIR = tmp_path / "mirrors"
    repo = make(tmp_path, {"a.py": f'KEY = "{AWS_KEY}"\n'})
    repo.commit({"a.py": "KEY = None\n"}, "remove the key")
    out = StringIO()
    call_command("scan_repo", str(repo.path), "--ref", "HEAD~1", "--format", "json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["commit"] == repo.head("HEAD~1")
    assert any(f["kind"] == "secret" for f in report["findings"])
    from django.core.management import CommandError

    for bad in ["--upload-pack=x", "HEAD;rm", "a b"]:
        with pytest.raises(CommandError):
            call_command("scan_repo", str(repo.path), "--ref", bad, stdout=StringIO())


# --------------------------------------------------------------------------- the cache


def test_cached_secrets_are_sealed_and_a_rescan_reads_nothing_again(tmp_path):
    repo = make(tmp_path, {"conf.py": f'AWS = "{AWS_KEY}"\n', "README.md": "# x\n"})
    cache = engine.MemoryCache()
    key = b"k" * 32
    mirror = vcs.mirror_update(
        repo.url, tmp_path / "mirrors" / "m.git", allow=[f"file://{tmp_path}/"]
    )
    run = lambda **kw: engine.scan_commit(  # noqa: E731
        mirror=mirror, commit=repo.head(), policy=Policy(), boundary=engine.Boundary(),
        cache=cache, **kw,
    )  # fmt: skip
    first = run(fingerprint_key=key)
    plain = hashlib.sha256(AWS_KEY.encode()).hexdigest()
    assert plain not in str(cache.data)  # the value's hash is kept only sealed
    again = run(fingerprint_key=key)
    assert again.cached == 2
    assert sorted(f.fingerprint for f in again.findings) == sorted(
        f.fingerprint for f in first.findings
    )
    # Without the key the sealed entry is a miss: read again, never misread.
    keyless = run()
    assert keyless.cached == 1 and any(f.kind == "secret" for f in keyless.findings)
