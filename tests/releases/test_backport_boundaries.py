"""Attack 2: push a branch into another team's internal repository by back-porting a
commit of yours, with a forged author and no approval. Real repositories, real services,
the API as an engineer would call it."""

from __future__ import annotations

import subprocess

import pytest
from django.core.exceptions import ValidationError

from governance.repositories import TAKEN
from governance.services import ComponentDraft
from releases.sync import backport_create
from reviews.services import component_set_external, submission_create
from tests.conftest import make_user, submit
from tests.releases.conftest import SYNC_FILES, git


def forged_commit(tmp_path, external, *, name: str, email: str) -> str:
    """A commit pushed outside whose author claims to be someone else."""
    work = tmp_path / f"forger-{len(list(tmp_path.glob('forger-*')))}"
    git(tmp_path, "clone", "-q", str(external), str(work))
    (work / "api").mkdir(exist_ok=True)
    (work / "api" / "v2.py").write_text("V = 2\n")
    git(work, "add", "-A")
    subprocess.run(
        ["git", "-c", f"user.name={name}", "-c", f"user.email={email}", "-c",
         "commit.gpgsign=false", "commit", "-q", "-m", "Add v2"],
        cwd=work, check=True, capture_output=True,
    )  # fmt: skip
    git(work, "push", "-q", "origin", "HEAD:main")
    return git(work, "rev-parse", "HEAD")


def refs(path) -> str:
    return subprocess.run(
        ["git", "for-each-ref", "--format=%(refname) %(objectname)"],
        cwd=path, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_another_teams_internal_repository_is_not_yours_to_backport_into(
    world, make_repo, ready, tmp_path
):
    # Team X's internal repository, registered to X.
    victim = make_repo({"README.md": "# x\n", "core/api.py": "X = 1\n"})
    submit(world, victim, actor=world.bob, slug="team-x")
    before = refs(victim.path)
    # Alice's own component, published and synced (the ``ready`` fixture).
    mine = ready(SYNC_FILES)
    mine.publish()
    # Neither as her component's internal repository nor as its external one.
    with pytest.raises(ValidationError) as caught:
        submission_create(
            actor=world.alice, repository_url=victim.url, branch="main", justification="x",
            new_component=ComponentDraft(
                name="Mine too", slug="mine-too", license="MIT", open_paths=["**"]
            ),
        )  # fmt: skip
    assert caught.value.message_dict == {"repository_url": [TAKEN]}
    with pytest.raises(ValidationError) as caught:
        component_set_external(component=mine.component, actor=world.alice, url=victim.url)
    assert caught.value.message_dict == {"external_url": [TAKEN]}
    # A back-port lands in her own internal repository only.
    sha = forged_commit(tmp_path, mine.external, name="Bob Victim", email="bob@example.com")
    backport = backport_create(component=mine.component, actor=world.alice, commit=sha)
    assert backport.state == "created"
    assert refs(victim.path) == before
    branch = mine.repo.git("for-each-ref", "--format=%(refname)", "refs/heads/gatehouse/")
    assert branch == f"refs/heads/{backport.branch}"
    # The community author is kept as author; Gatehouse is the committer, for alice.
    who = mine.repo.git("log", "-1", "--format=%an <%ae>|%cn <%ce>|%B", backport.branch)
    author, committer, message = who.split("|", 2)
    assert author == "Bob Victim <bob@example.com>"
    assert committer == "Gatehouse <gatehouse@localhost>"
    assert f"commit {sha}, by Gatehouse for alice" in message


def test_backports_are_refused_to_people_outside_the_component(ready, tmp_path, api):
    p = ready(SYNC_FILES)
    p.publish()
    sha = forged_commit(tmp_path, p.external, name="Anyone", email="a@example.org")
    body = {"commit": sha}
    url = f"/api/components/{p.component.slug}/backports/"
    stranger = make_user("mallory")
    assert api(stranger).post(url, body, format="json").status_code == 404
    reviewer = p.world.reviewers["legal"]  # may see the component, may not write to it
    assert api(reviewer).post(url, body, format="json").status_code == 403
    assert "gatehouse/" not in p.repo.git("for-each-ref", "--format=%(refname)")
