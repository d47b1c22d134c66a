"""The code through the API: the ticket's checklist (enough to approve from GET alone), the
submission's tree, diff and file endpoints, their permissions, the API root and its docs."""

# ruff: noqa: F811 - the fixtures imported below are parameters of the tests
from __future__ import annotations

import pytest

from reviews.enums import SignOffStatus
from reviews.models import SignOff
from tests.reviews.test_code_view import (  # noqa: F401 - fixtures
    API,
    code_repo,
    move,
    reviewed,
)


def tickets(submission):
    return {t.department.slug: t for t in submission.tickets.select_related("department")}


def test_an_api_client_approves_using_only_what_the_ticket_says(api, world, reviewed):
    client = api(world.reviewers["legal"])
    ticket_id = tickets(reviewed)["legal"].pk
    ticket = client.get(f"/api/tickets/{ticket_id}/").json()
    assert ticket["checklist"] and set(ticket["checklist"][0]) == {"id", "text", "help"}
    body = {
        "decision": "approve",
        "commit": ticket["commit"],
        "answers": [{"question": q["id"], "answer": "yes"} for q in ticket["checklist"]],
    }
    answer = client.post(f"/api/tickets/{ticket_id}/signoff/", body, format="json")
    assert answer.status_code == 201, answer.json()
    signoff = SignOff.objects.get(ticket_id=ticket_id, status=SignOffStatus.CURRENT)
    assert signoff.reviewer == world.reviewers["legal"] and signoff.commit == reviewed.commit
    assert signoff.answers.count() == len(ticket["checklist"])


def test_ticket_list_carries_the_checklist_in_a_fixed_number_of_queries(
    api, world, reviewed, django_assert_max_num_queries
):
    client = api(world.admin)
    with django_assert_max_num_queries(14):
        results = client.get("/api/tickets/").json()["results"]
    assert len(results) == 4 and all(r["checklist"] for r in results)


def test_tree_lists_files_with_fates_and_findings_paged(api, world, reviewed):
    client = api(world.reviewers["security"])
    page = client.get(f"/api/submissions/{reviewed.pk}/tree/", {"limit": 3}).json()
    assert page["count"] == 8 and len(page["results"]) == 3 and page["next"]
    everything = client.get(f"/api/submissions/{reviewed.pk}/tree/", {"limit": 100}).json()
    files = {f["path"]: f for f in everything["results"]}
    assert files["core/api.py"]["fate"] == "published"
    assert files["core/api.py"]["published_path"] == "core/api.py"
    assert files["sharding/shard.py"]["fate"] == "internal"
    assert files["docs/guide.md"]["fate"] == "excluded"
    assert 3 in {f["line"] for f in files["core/api.py"]["findings"]}
    only = client.get(f"/api/submissions/{reviewed.pk}/tree/", {"filter": "findings"}).json()
    assert "core/api.py" in [f["path"] for f in only["results"]]
    assert all(f["fate"] == "published" and f["findings"] for f in only["results"])
    assert "sharding/shard.py" not in [f["path"] for f in only["results"]]
    assert client.get(f"/api/submissions/{reviewed.pk}/tree/", {"filter": "x"}).status_code == 400


def test_file_endpoint_returns_text_or_says_binary_or_too_large(api, world, reviewed):
    client = api(world.reviewers["security"])
    url = f"/api/submissions/{reviewed.pk}/file/"
    text = client.get(url, {"path": "core/api.py"}).json()
    assert text["text"] == API and text["fate"] == "published" and text["findings"]
    binary = client.get(url, {"path": "core/logo.png"}).json()
    assert binary["binary"] and binary["text"] is None
    huge = client.get(url, {"path": "core/huge.txt"}).json()
    assert huge["too_large"] and huge["text"] is None and huge["size"] == 30_000
    assert client.get(url, {"path": "nope"}).status_code == 404
    assert client.get(url, {"path": "../../etc/passwd"}).status_code == 404
    assert client.get(url).status_code == 400


def test_diff_endpoint_with_renames_and_fates(api, world, code_repo, reviewed):
    old = reviewed.commit
    code_repo.git("mv", "core/util.py", "core/helpers.py")
    move(world, code_repo, reviewed, {"sharding/shard.py": "SHARDS = 8\n"})
    client = api(world.reviewers["security"])
    diff = client.get(f"/api/submissions/{reviewed.pk}/diff/", {"from": old}).json()
    assert diff["old_commit"] == old and diff["new_commit"] == reviewed.commit
    assert diff["old_is_ancestor"] is True and diff["touches_export"] is True
    files = {f["new_path"] or f["old_path"]: f for f in diff["files"]}
    assert files["core/helpers.py"]["status"] == "renamed"
    assert files["core/helpers.py"]["old_path"] == "core/util.py"
    assert files["sharding/shard.py"]["fate"] == "internal"
    hunk = files["sharding/shard.py"]["hunks"][0]
    assert [(line["kind"], line["text"]) for line in hunk["lines"]] == [
        ("-", "SHARDS = 4"), ("+", "SHARDS = 8"),
    ]  # fmt: skip


@pytest.mark.parametrize("sha", ["", "abc", "-x", "0" * 40, "f" * 64])
def test_diff_endpoint_refuses_a_bad_or_unknown_commit_with_the_reason(api, world, reviewed, sha):
    answer = api(world.reviewers["security"]).get(
        f"/api/submissions/{reviewed.pk}/diff/", {"from": sha}
    )
    assert answer.status_code == 400
    assert answer.json()["from"]


def test_another_teams_engineer_sees_none_of_the_code(api, world, reviewed):
    """The attack: bob (an engineer of another team) guesses ids and paths."""
    bob = api(world.bob)
    base = f"/api/submissions/{reviewed.pk}"
    ticket = tickets(reviewed)["security"]
    for url, params in (
        (f"{base}/tree/", {}),
        (f"{base}/file/", {"path": "core/api.py"}),
        (f"{base}/diff/", {"from": reviewed.commit}),
        (f"/api/tickets/{ticket.pk}/", {}),
    ):
        answer = bob.get(url, params)
        assert answer.status_code in (403, 404), url
        assert b"core/api.py" not in answer.content and b"example-internal" not in answer.content
    assert api().get(f"{base}/tree/").status_code in (401, 403)


def test_api_root_lists_the_endpoints_and_the_docs_are_local(api, world, client):
    root = api(world.alice).get("/api/").json()
    for name in ("submissions", "tickets", "dashboard", "schema", "docs"):
        assert name in root
    assert root["submission code"]["tree"] == "submissions/{id}/tree/"
    client.force_login(world.alice)
    docs = client.get("/api/docs/")
    body = docs.content.decode()
    assert docs.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in body
    assert "<style" not in body and "<script>" not in body and "cdn" not in body.lower()
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content
    assert "'unsafe-inline'" not in docs["Content-Security-Policy"]
