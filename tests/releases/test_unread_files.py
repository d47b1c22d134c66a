"""An incomplete scan says which files it could not read, and so does the gate."""

from __future__ import annotations

import codecs

from scans.services import scan_execute, scan_request
from tests.releases.conftest import CLEAN_FILES


def test_the_gate_names_the_files_an_incomplete_scan_did_not_read(
    approved, make_repo, django_capture_on_commit_callbacks, settings
):
    settings.GATEHOUSE_SCAN_MAX_BLOB_BYTES = 100_000
    wide = codecs.BOM_UTF16_LE + ("line\n" * 200_000).encode("utf-16-le")
    state = approved(CLEAN_FILES)
    repo = state.repo
    (repo.path / "core" / "wide.txt").write_bytes(wide)
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "wide")
    scan = scan_request(repository=state.submission.repository, commit=repo.head(),
                        component=state.component)  # fmt: skip
    scan_execute(scan_id=scan.pk)
    scan.refresh_from_db()
    assert scan.status == "incomplete"
    assert scan.unread == [["core/wide.txt", "a UTF-16-LE file too large to read whole"]]
    from releases.services import release_create

    release = release_create(component=state.component, actor=state.world.alice,
                             version="1.0.0", commit=repo.head())  # fmt: skip
    (scan_gate,) = [g for g in release.gates if g["gate"] == "scan"]
    assert scan_gate["status"] == "blocked" and "core/wide.txt" in scan_gate["reason"]
