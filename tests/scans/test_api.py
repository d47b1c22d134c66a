import pytest
from rest_framework.test import APIClient

from scans.models import ScanPolicy
from scans.services import scan_execute, scan_request
from tests.conftest import submit
from tests.tokens import github_token

TOKEN = github_token("scan api")


@pytest.fixture
def scanned(world, make_repo):
    ScanPolicy.objects.create(pk=1, internal_domains=["corp.example-internal.net"])
    repo = make_repo({"README.md": "# x\n", "app.py": f'T = "{TOKEN}"\n'})
    submission = submit(world, repo)
    scan = scan_request(repository=submission.repository, commit=submission.commit,
                        component=submission.component)  # fmt: skip
    scan_execute(scan_id=scan.pk)
    return submission, scan


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_scans_and_findings_are_listed_for_those_who_see_the_component(world, scanned):
    submission, scan = scanned
    alice, bob = client_for(world.alice), client_for(world.bob)
    assert [s["id"] for s in alice.get("/api/scans/").data["results"]] == [scan.pk]
    assert bob.get("/api/scans/").data["results"] == []
    assert bob.get(f"/api/scans/{scan.pk}/").status_code == 404
    secrets = alice.get("/api/findings/", {"scan": scan.pk, "kind": "secret"}).data["results"]
    assert [(f["path"], f["line"]) for f in secrets] == [("app.py", 1)]
    assert TOKEN not in str(alice.get("/api/findings/").data)
    assert alice.get("/api/findings/", {"kind": "nonsense"}).status_code == 400


def test_triage_through_the_api(world, scanned):
    _, scan = scanned
    secret = scan.findings.get(kind="secret")
    url = f"/api/findings/{secret.pk}/triage/"
    body = {"state": "false_positive", "reason": "x"}
    # alice sees the finding but does not triage secrets; neither does legal.
    assert client_for(world.alice).post(url, body, format="json").status_code == 403
    assert client_for(world.reviewers["legal"]).post(url, body, format="json").status_code == 403
    sam = client_for(world.reviewers["security"])
    assert sam.post(url, {"state": "false_positive"}, format="json").status_code == 400
    response = sam.post(url, {"state": "accepted_risk", "reason": "Rotated."}, format="json")
    assert response.status_code == 200 and response.data["state"] == "accepted_risk"
    secret.refresh_from_db()
    assert secret.triage_reason == "Rotated." and secret.triaged_by == world.reviewers["security"]


def test_post_scan_queues_a_new_run(world, scanned):
    submission, scan = scanned
    response = client_for(world.alice).post(f"/api/submissions/{submission.pk}/scan/")
    assert response.status_code == 202 and response.data["id"] != scan.pk
    assert client_for(world.bob).post(f"/api/submissions/{submission.pk}/scan/").status_code == 404
