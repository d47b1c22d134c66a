"""Release evidence on real repositories: a published release's bundle, validated with
the real libraries (cyclonedx-python-lib's JSON schema, spdx-tools' parser and validator),
its NOTICE, and evidence_verify with no database passing and failing on each tamper."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import secrets
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from core import leases
from core.audit import event_digest
from core.models import AuditEvent
from releases.evidence import signing
from releases.evidence.build import PARTS, evidence_build
from releases.evidence.notice import CopyrightRecord, LicenseRecord, notice_text, year_ranges
from releases.evidence.views import CSV_COLUMNS
from releases.gates import GATES
from releases.jobs import JobHooks, evidence_request, git_job_execute, git_jobs_requeue_stalled
from releases.models import EvidenceBundle, GatePolicy, GitJob
from releases.services import release_create, waiver_grant
from scans.models import Finding
from tests.conftest import make_user
from tests.releases.conftest import SYNC_FILES, git
from tests.tokens import github_token

ROOT = Path(__file__).resolve().parents[2]

HOLDERS = {
    **SYNC_FILES,
    "core/api.py": "# Copyright (c) 2019, 2020 Acme Corp.\n# SPDX-License-Identifier: Apache-2.0\n"
    "def ping():\n    return 1\n",
    "core/util.py": "# Copyright 2021-2022 Acme Corp\n"
    "# Copyright 2018 Jane Roe <jane@example.org>\n"
    "# SPDX-License-Identifier: MIT\ndef pong():\n    return 2\n",
    "core/requirements.txt": "requests==2.32.3\nclick>=8.0\n",
}


def members(bundle: EvidenceBundle) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bytes(bundle.archive))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def waive_the_vendored_file(p) -> None:
    mismatch = Finding.objects.filter(rule="license-mismatch", path="core/util.py").first()
    if mismatch is not None:
        waiver_grant(
            actor=p.world.admin, finding=mismatch, owner=p.world.alice,
            reason="Vendored from a MIT project; attribution kept.",
            expires_at=timezone.now() + timedelta(days=30),
        )  # fmt: skip


@pytest.fixture
def published(ready, django_capture_on_commit_callbacks):
    """Published, with the MIT header of core/util.py waived for its finding: a vendored
    file the office accepted."""

    def build(files=None):
        p = ready(files or HOLDERS)
        with django_capture_on_commit_callbacks(execute=True):
            waive_the_vendored_file(p)
        p.release.refresh_from_db()
        assert p.release.state == "ready", p.release.blocking_gates
        with django_capture_on_commit_callbacks(execute=True):
            p.release = p.publish()
        return p

    return build


def test_publishing_builds_one_signed_bundle_of_every_part(published):
    p = published()

    bundle = EvidenceBundle.objects.get(release=p.release)
    assert bundle.preview is False
    files = members(bundle)
    assert sorted(files) == sorted(["manifest.json", *PARTS])
    manifest = json.loads(files["manifest.json"])
    assert manifest["external"]["commit"] == p.release.external_commit
    assert manifest["external"]["tag"] == "v1.0.0"
    assert manifest["external"]["tree"] == git(p.external, "rev-parse", "v1.0.0^{tree}")
    assert manifest["internal"]["commit"] == p.release.commit
    assert signing.signature_problem(manifest, signing.configured_keys()[1]) is None
    job = GitJob.objects.get(kind=GitJob.Kind.EVIDENCE, release=p.release)
    assert job.status == GitJob.Status.SUCCEEDED and job.evidence_id == bundle.pk
    assert AuditEvent.objects.filter(action="release.evidence_built").count() == 1


def test_the_sbom_and_the_spdx_document_are_valid_by_the_real_libraries(published, tmp_path):
    p = published()
    files = members(EvidenceBundle.objects.get(release=p.release))

    sbom = files["sbom.cdx.json"].decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(sbom) is None
    doc = json.loads(sbom)
    assert doc["metadata"]["component"]["name"] == "mq-core"
    assert doc["metadata"]["component"]["licenses"] == [{"expression": "Apache-2.0"}]
    purls = {c["purl"] for c in doc["components"]}
    assert "pkg:pypi/requests@2.32.3" in purls and "pkg:pypi/click" in purls

    path = tmp_path / "tree.spdx.json"
    path.write_bytes(files["tree.spdx.json"])
    document = parse_file(str(path))
    assert validate_full_spdx_document(document) == []
    by_name = {f.name: f for f in document.files}
    published_files = set(git(p.external, "ls-tree", "-r", "--name-only", "v1.0.0").split())
    assert set(by_name) == {f"./{name}" for name in published_files}
    util = by_name["./core/util.py"]
    assert [str(x) for x in util.license_info_in_file] == ["MIT"]
    assert "Jane Roe" in util.copyright_text


def test_the_notice_merges_holders_and_years_and_names_the_licenses(published):
    p = published()
    text = members(EvidenceBundle.objects.get(release=p.release))["NOTICE"].decode()

    assert text.startswith("Mq Core 1.0.0\n")
    assert "Copyright 2019-2022 Acme Corp" in text  # 2019, 2020 and 2021-2022 merged
    assert "Copyright 2018 Jane Roe" in text
    assert "This product is licensed under Apache-2.0." in text
    assert "  MIT: 1 file (core/util.py)" in text


def test_notice_text_for_several_holders_and_licenses():
    text = notice_text(
        name="Kv Store", version="2.1.0", license="Apache-2.0",
        copyrights=[
            CopyrightRecord("a.py", "Acme Corp.", (2019, 2020)),
            CopyrightRecord("b.py", "ACME Corp", (2022,)),
            CopyrightRecord("b.py", "Bob Dev <bob@example.org>", ()),
            CopyrightRecord("c.py", "Acme Corp.", (2021,)),
        ],
        licenses=[LicenseRecord(p, "MIT") for p in ("x/1.js", "x/2.js")]
        + [LicenseRecord("a.py", "Apache-2.0"), LicenseRecord("g.c", "BSD-3-Clause")],
    )  # fmt: skip
    lines = text.splitlines()
    assert lines[:3] == ["Kv Store 2.1.0", "Copyright 2019-2022 Acme Corp.",
                         "Copyright Bob Dev <bob@example.org>"]  # fmt: skip
    assert "  MIT: 2 files (x/1.js, x/2.js)" in lines
    assert "  BSD-3-Clause: 1 file (g.c)" in lines
    assert lines.index("  MIT: 2 files (x/1.js, x/2.js)") < lines.index(
        "  BSD-3-Clause: 1 file (g.c)"
    )
    assert year_ranges([2023, 2019, 2020, 2021, 2025]) == "2019-2021, 2023, 2025"


# --------------------------------------------------------------------------- evidence_verify


def verify(archive: Path, *args: str, env_extra: dict | None = None):
    """evidence_verify in a process of its own, with no database it could reach."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(archive.parent),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none",  # nothing listens there
        "GATEHOUSE_VAR_DIR": str(archive.parent / "var"),
        "DEBUG": "1",
        **(env_extra or {}),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "evidence_verify", str(archive), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def public_key() -> str:
    key, _ = signing.configured_keys()
    return signing.public_text(signing.raw_public(key))


@pytest.fixture
def archive(published, tmp_path):
    p = published()
    bundle = EvidenceBundle.objects.get(release=p.release)
    path = tmp_path / "bundle.zip"
    path.write_bytes(bytes(bundle.archive))
    return p, path


def rezip(path: Path, change) -> None:
    files = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            files[name] = zf.read(name)
    change(files)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)


def test_evidence_verify_passes_with_no_database_and_checks_the_tag(archive):
    p, path = archive

    done = verify(path, "--repository", f"file://{p.external}", "--public-key", public_key())

    assert done.returncode == 0, done.stderr
    assert "ok  signature: Ed25519" in done.stdout
    assert f"ok  files: {len(PARTS)}" in done.stdout
    assert "ok  repository: tag v1.0.0" in done.stdout
    assert "verified: bundle of mq-core 1.0.0" in done.stdout


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda f: f.__setitem__("NOTICE", f["NOTICE"][:-2] + b"X\n"), "NOTICE: SHA-256"),
        (lambda f: f.pop("findings.json"), "findings.json: listed in the manifest, missing"),
        (lambda f: f.__setitem__("extra.txt", b"hi"), "extra.txt: in the archive but not listed"),
        (lambda f: f.__setitem__("manifest.json", f["manifest.json"].replace(b'"1.0.0"',
                                                                               b'"1.0.1"')),
         "signature of manifest.json does not match"),
    ],
)  # fmt: skip
def test_evidence_verify_fails_on_a_changed_byte_a_removed_file_or_an_added_one(
    archive, tamper, message
):
    _, path = archive
    rezip(path, tamper)

    done = verify(path, "--public-key", public_key())

    assert done.returncode == 1, done.stdout
    assert message in done.stderr


def test_evidence_verify_fails_under_a_wrong_key(archive):
    _, path = archive
    other = signing.public_text(signing.raw_public(signing.private_key(secrets.token_bytes(32))))

    done = verify(path, "--public-key", other)

    assert done.returncode == 1
    assert "which is not trusted" in done.stderr
    # The server's own configuration trusts its key (the development one, here).
    assert verify(path).returncode == 0


def test_evidence_verify_fails_when_the_tag_moved_to_another_tree(archive):
    p, path = archive
    work = p.external.parent / "moved"
    git(p.external.parent, "clone", "-q", str(p.external), str(work))
    (work / "core" / "api.py").write_text("def ping():\n    return 2\n")
    git(work, "commit", "-qam", "Another tree")
    git(work, "tag", "-f", "v1.0.0")
    git(work, "push", "-q", "--force", "origin", "refs/tags/v1.0.0")

    done = verify(path, "--repository", f"file://{p.external}", "--public-key", public_key())

    assert done.returncode == 1
    assert "tag v1.0.0 holds tree" in done.stderr and "the manifest names" in done.stderr


def test_a_malformed_key_or_a_missing_archive_exits_2(tmp_path):
    assert verify(tmp_path / "nothing.zip").returncode == 2
    path = tmp_path / "x.zip"
    path.write_bytes(b"PK")
    done = verify(path, "--public-key", "not base64!")
    assert done.returncode == 2 and "--public-key" in done.stderr
    assert "not a readable zip" in verify(path, "--public-key", public_key()).stderr


def test_the_signing_key_comes_from_the_environment(tmp_path):
    seed = secrets.token_bytes(32)
    env = {"GATEHOUSE_EVIDENCE_KEY": base64.b64encode(seed).decode()}
    done = subprocess.run(
        [sys.executable, "manage.py", "evidence_key"], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEBUG": "1",
             "GATEHOUSE_VAR_DIR": str(tmp_path), **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["public_key"] == signing.public_text(signing.raw_public(signing.private_key(seed)))


# --------------------------------------------------------------------------- pages and API


def test_the_release_page_shows_the_bundle_and_its_parts_read_as_pages(published, client):
    p = published()
    bundle = EvidenceBundle.objects.get(release=p.release)
    client.force_login(p.world.alice)

    page = client.get(p.release.get_absolute_url()).content.decode()
    assert 'data-testid="evidence"' in page and bundle.key_id in page
    assert bundle.get_absolute_url() in page
    download = client.get(bundle.get_absolute_url())
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download.content == bytes(bundle.archive)
    assert "mq-core-1.0.0-evidence.zip" in download["Content-Disposition"]

    notice = client.get(reverse("releases:evidence-part", args=[p.release.pk, "notice"]))
    assert "Copyright 2019-2022 Acme Corp" in notice.content.decode()
    sbom = client.get(reverse("releases:evidence-part", args=[p.release.pk, "sbom"]))
    assert "pkg:pypi/requests@2.32.3" in sbom.content.decode()
    approvals = client.get(reverse("releases:evidence-part", args=[p.release.pk, "approvals"]))
    text = approvals.content.decode()
    for reviewer in p.world.reviewers.values():
        assert reviewer.username in text
    assert (
        client.get(reverse("releases:evidence-part", args=[p.release.pk, "x"])).status_code == 404
    )


def test_someone_who_cannot_see_the_release_cannot_read_or_download_its_evidence(published, client):
    p = published()
    bundle = EvidenceBundle.objects.get(release=p.release)
    outsider = make_user("mallory")
    client.force_login(outsider)

    assert client.get(bundle.get_absolute_url()).status_code == 404
    assert client.get(reverse("releases:evidence", args=[p.release.pk])).status_code == 404
    # Another release's id with this bundle's id: still not found.
    assert client.post(reverse("releases:evidence-build", args=[p.release.pk])).status_code == 404


def test_the_api_downloads_the_final_bundle(published, api):
    p = published()
    client = api(p.world.alice)

    body = client.get(f"/api/releases/{p.release.pk}/").json()
    assert body["evidence"]["preview"] is False
    assert body["evidence"]["download"].endswith(f"/api/releases/{p.release.pk}/evidence/")
    download = client.get(f"/api/releases/{p.release.pk}/evidence/")
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert download.content == bytes(EvidenceBundle.objects.get(release=p.release).archive)
    missing = client.get(f"/api/releases/{p.release.pk}/evidence/?preview=1")
    assert missing.status_code == 404 and "no preview" in missing.json()["detail"]
    assert client.get(f"/api/releases/{p.release.pk}/evidence/?preview=x").status_code == 400
    # The final bundle exists: asking again is refused, nothing queued.
    again = client.post(f"/api/releases/{p.release.pk}/evidence/")
    assert again.status_code == 400 and "built already" in json.dumps(again.json())


def test_a_preview_is_marked_and_replaced_by_the_next_one(
    ready, api, django_capture_on_commit_callbacks
):
    p = ready(HOLDERS)
    with django_capture_on_commit_callbacks(execute=True):
        waive_the_vendored_file(p)
    p.release.refresh_from_db()
    client = api(p.world.alice)

    with django_capture_on_commit_callbacks(execute=True):
        queued = client.post(f"/api/releases/{p.release.pk}/evidence/")
    assert queued.status_code == 202, queued.json()
    first = EvidenceBundle.objects.get(release=p.release)
    assert first.preview is True and first.manifest["preview"] is True
    assert first.manifest["external"]["tag"] == ""
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/releases/{p.release.pk}/evidence/").status_code == 202
    second = EvidenceBundle.objects.get(release=p.release)
    assert second.pk != first.pk and second.tree == first.tree
    # Someone who sees the release but does not own it builds no preview.
    assert api(p.world.reviewers["legal"]).post(
        f"/api/releases/{p.release.pk}/evidence/").status_code in (403, 404)  # fmt: skip


def test_gates_findings_and_audit_parts_carry_what_an_auditor_needs(published):
    p = published()
    files = members(EvidenceBundle.objects.get(release=p.release))

    gates = json.loads(files["gates.json"])
    assert gates["verdict"] == "published"
    assert {g["gate"] for g in gates["gates"]} >= {"reviews", "scan", "licensing"}
    (waiver,) = gates["waivers_in_force"]
    assert waiver["owner"] == "alice" and waiver["granted_by"] == "admin"
    assert waiver["reason"].startswith("Vendored") and waiver["expires_at"]

    findings = json.loads(files["findings.json"])["findings"]
    paths = {f["path"] for f in findings}
    assert "sharding/router.py" not in paths  # internal only, and not a secret
    mismatch = next(f for f in findings if f["rule"] == "license-mismatch")
    assert mismatch["published_path"] == "core/util.py"
    assert mismatch["waiver"]["reason"].startswith("Vendored")

    approvals = json.loads(files["approvals.json"])
    departments = {d["department"]: d for d in approvals["departments"]}
    assert set(departments) == set(p.world.reviewers)
    for slug, dept in departments.items():
        (signoff,) = dept["signoffs"]
        assert signoff["reviewer"] == p.world.reviewers[slug].username
        assert signoff["decision"] == "approve" and signoff["on_release_commit"]
        assert signoff["checklist"] and all(a["answer"] == "yes" for a in signoff["checklist"])

    lines = [json.loads(line) for line in files["audit.jsonl"].decode().splitlines()]
    events = [line for line in lines if line["type"] == "event"]
    actions = {e["action"] for e in events}
    assert "release.published" in actions
    assert any(e["object_type"] == "reviews.signoff" for e in events)
    for e in events:  # each event as the chain holds it: its hash recomputes
        assert e["hash"] == event_digest(
            seq=e["seq"], prev_hash=e["prev_hash"], created_at=e["at"], actor_id=e["actor_id"],
            actor_name=e["actor"], action=e["action"], object_type=e["object_type"],
            object_id=e["object_id"], object_repr=e["object_repr"], scope=e["scope"],
            before=e["before"], after=e["after"],
        )  # fmt: skip
    assert lines[-1]["type"] in ("chain_head", "anchor")


def test_the_component_page_lists_bundles_and_the_portfolio_exports_a_csv(published, client):
    p = published()
    bundle = EvidenceBundle.objects.get(release=p.release)
    client.force_login(p.world.alice)

    listing = client.get(reverse("releases:component-releases", args=[p.component.slug]))
    assert bundle.get_absolute_url() in listing.content.decode()

    response = client.get(reverse("releases:releases-csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    (row,) = rows
    assert row["component"] == "mq-core" and row["version"] == "1.0.0"
    assert row["evidence"] == "bundle" and row["bundle_sha256"] == bundle.sha256
    assert row["external_tag"] == "v1.0.0"
    # Someone who sees no component gets the header only.
    client.force_login(make_user("nobody"))
    assert b"".join(client.get(reverse("releases:releases-csv")).streaming_content).decode(
    ).strip() == ",".join(CSV_COLUMNS)  # fmt: skip


# --------------------------------------------------------------------------- more of it


def test_the_policy_switch_adds_the_generated_notice_to_the_exported_tree(
    ready, django_capture_on_commit_callbacks
):
    GatePolicy.objects.create(component=None, gates=list(GATES), export_notice=True)
    p = ready(HOLDERS)
    with django_capture_on_commit_callbacks(execute=True):
        waive_the_vendored_file(p)
    p.release.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        release = p.publish()

    published_notice = git(p.external, "show", "v1.0.0:NOTICE")
    assert "Copyright 2019-2022 Acme Corp" in published_notice
    bundle = EvidenceBundle.objects.get(release=release)
    files = members(bundle)
    assert files["NOTICE"].decode().strip() == published_notice.strip()
    spdx = json.loads(files["tree.spdx.json"])
    assert "./NOTICE" in {f["fileName"] for f in spdx["files"]}
    assert bundle.tree == git(p.external, "rev-parse", "v1.0.0^{tree}")


def test_a_secret_anywhere_is_in_the_findings_with_its_triage_and_never_its_excerpt(
    ready, django_capture_on_commit_callbacks
):
    token = github_token("evidence secret")
    p = ready({**HOLDERS, "sharding/deploy.py": f'TOKEN = "{token}"\n'})
    secret = Finding.objects.get(kind="secret", path="sharding/deploy.py")
    with django_capture_on_commit_callbacks(execute=True):
        waive_the_vendored_file(p)
        waiver_grant(actor=p.world.admin, finding=secret, owner=p.world.alice,
                     reason="Rotated; the file stays internal.",
                     expires_at=timezone.now() + timedelta(days=7))  # fmt: skip
    p.release.refresh_from_db()
    assert p.release.state == "ready", p.release.blocking_gates
    with django_capture_on_commit_callbacks(execute=True):
        release = p.publish()

    files = members(EvidenceBundle.objects.get(release=release))
    assert token.encode() not in b"".join(files.values())
    (found,) = [f for f in json.loads(files["findings.json"])["findings"] if f["kind"] == "secret"]
    assert found["path"] == "sharding/deploy.py" and found["published_path"] is None
    assert found["excerpt"] == "" and found["waiver"]["reason"].startswith("Rotated")


def test_a_bundle_is_built_once_and_a_lost_evidence_job_is_queued_by_the_beat_pass(
    published, django_capture_on_commit_callbacks
):
    p = published()
    first = EvidenceBundle.objects.get(release=p.release)
    assert evidence_build(release=p.release, actor=p.world.alice, preview=False) == first

    # The worker died between the publish's commit and queueing the job: no job, no bundle.
    EvidenceBundle.objects.all().delete()
    GitJob.objects.filter(kind=GitJob.Kind.EVIDENCE).delete()
    with django_capture_on_commit_callbacks(execute=True):
        counts = git_jobs_requeue_stalled()
    assert counts["evidence"] == 1
    rebuilt = EvidenceBundle.objects.get(release=p.release)
    assert rebuilt.tree == first.tree
    # A job that exists (even failed) is not queued again by the pass.
    with django_capture_on_commit_callbacks(execute=True):
        assert git_jobs_requeue_stalled()["evidence"] == 0


def test_another_releases_id_does_not_reach_a_bundle(published, client):
    p = published()
    bundle = EvidenceBundle.objects.get(release=p.release)
    other = release_create(component=p.component, actor=p.world.alice, version="1.0.1")
    client.force_login(p.world.alice)

    url = reverse("releases:evidence-download", args=[other.pk, bundle.pk])
    assert client.get(url).status_code == 404
    assert client.get(reverse("releases:evidence", args=[other.pk])).status_code == 200


def test_the_about_page_shows_the_public_keys_to_anyone(client, settings):
    old = signing.public_text(signing.raw_public(signing.private_key(secrets.token_bytes(32))))
    settings.GATEHOUSE_EVIDENCE_OLD_PUBLIC_KEYS = [old]

    page = client.get(reverse("releases:about")).content.decode()

    assert public_key() in page and old in page
    assert "earlier key, still trusted" in page


def test_the_readme_names_the_demo_public_key():
    seed = hashlib.sha256(b"gatehouse-development-gatehouse_evidence_key").digest()
    public = signing.raw_public(signing.private_key(seed))
    readme = (ROOT / "README.md").read_text()
    assert signing.public_text(public) in readme and signing.key_id(public) in readme


def test_a_community_role_sees_the_release_but_not_its_evidence(published, client, api):
    """PMC members see the component (and the release page), not its review: the bundle
    holds the justification, the comments and every secret's whereabouts."""
    p = published()
    bundle = EvidenceBundle.objects.get(release=p.release)
    client.force_login(p.state.pmc)

    page = client.get(p.release.get_absolute_url())
    assert page.status_code == 200 and 'data-testid="evidence"' not in page.content.decode()
    assert client.get(bundle.get_absolute_url()).status_code == 404
    assert client.get(reverse("releases:evidence", args=[p.release.pk])).status_code == 404
    listing = client.get(reverse("releases:component-releases", args=[p.component.slug]))
    assert bundle.get_absolute_url() not in listing.content.decode()
    assert api(p.state.pmc).get(f"/api/releases/{p.release.pk}/evidence/").status_code == 404
    # A reviewer of the component's submission reads it.
    client.force_login(p.world.reviewers["legal"])
    assert client.get(bundle.get_absolute_url()).status_code == 200


def test_an_evidence_job_whose_worker_died_is_taken_over_and_stores_one_bundle(
    ready, django_capture_on_commit_callbacks
):
    """worker-a builds the preview and dies before it commits; beat requeues the job,
    worker-b finishes it: one bundle, the job succeeded once."""
    p = ready(HOLDERS)
    with django_capture_on_commit_callbacks(execute=True):
        waive_the_vendored_file(p)
    p.release.refresh_from_db()
    with django_capture_on_commit_callbacks():  # queued, not run
        job, _ = evidence_request(release=p.release, actor=p.world.alice, preview=True)
    assert leases.claim(GitJob, job.pk, owner="worker-a", waiting="queued", running="running")
    job.refresh_from_db()
    with pytest.raises(RuntimeError), transaction.atomic():
        evidence_build(release=p.release, actor=p.world.alice, preview=True,
                       job=JobHooks(job, "worker-a"))  # fmt: skip
        raise RuntimeError("killed before the commit")
    assert not EvidenceBundle.objects.exists()

    GitJob.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert git_jobs_requeue_stalled()["requeued"] == 1
    done = git_job_execute(job_id=job.pk, owner="worker-b")

    assert done.status == "succeeded"
    bundle = EvidenceBundle.objects.get()
    assert done.evidence_id == bundle.pk and bundle.preview
    # A late duplicate delivery of the same message does nothing.
    assert git_job_execute(job_id=job.pk, owner="worker-c") is None
    assert EvidenceBundle.objects.count() == 1


def test_a_reviewer_who_sees_the_release_builds_no_evidence_from_the_page(published, client):
    p = published()
    client.force_login(p.world.reviewers["legal"])

    response = client.post(reverse("releases:evidence-build", args=[p.release.pk]))

    assert response.status_code == 403
    assert not GitJob.objects.filter(
        kind=GitJob.Kind.EVIDENCE, created_by=p.world.reviewers["legal"]
    ).exists()
