"""vcs.plan: each file's fate under a component's open scope and prefix mapping."""

from types import SimpleNamespace

from vcs.plan import EXCLUDED, INTERNAL, PUBLISHED, Scope, export_plan


def entry(path, kind="blob", size=10):
    return SimpleNamespace(path=path, kind=kind, sha="a" * 40, size=size)


TREE = [
    entry("README.md"),
    entry("pkg/LICENSE"),
    entry("pkg/core/api.py"),
    entry("pkg/internal/secret_sauce.py"),
    entry("tools/deploy.py"),
    entry("vendor/lib", kind="commit", size=None),
]


def test_each_file_gets_one_fate_with_its_published_path_and_the_deciding_glob():
    plan = export_plan(
        TREE, open_paths=["pkg/**", "vendor/**"], internal_paths=["pkg/internal/"],
        from_prefix="pkg/", to_prefix="",
    )  # fmt: skip
    fates = {f.path: (f.fate, f.published_path, f.glob) for f in plan.files}
    assert fates == {
        "README.md": (EXCLUDED, "", ""),
        "pkg/LICENSE": (PUBLISHED, "LICENSE", "pkg/**"),
        "pkg/core/api.py": (PUBLISHED, "core/api.py", "pkg/**"),
        "pkg/internal/secret_sauce.py": (INTERNAL, "", "pkg/internal/"),
        "tools/deploy.py": (EXCLUDED, "", ""),
        "vendor/lib": (EXCLUDED, "", ""),  # a submodule is never published
    }
    assert plan.pairs() == [("pkg/LICENSE", "LICENSE"), ("pkg/core/api.py", "core/api.py")]
    assert plan.counts()[PUBLISHED] == {"files": 2, "bytes": 20}
    assert plan.counts()[EXCLUDED]["files"] == 3
    assert not plan.problems
    assert plan.fate("no/such/file") == EXCLUDED


def test_an_internal_glob_also_catches_the_path_a_file_would_be_published_as():
    plan = export_plan(
        [entry("src/secret/x.py")], open_paths=["src/**"], internal_paths=["secret/**"],
        from_prefix="src/", to_prefix="",
    )  # fmt: skip
    assert plan.files[0].fate == INTERNAL


def test_no_open_path_publishes_nothing():
    plan = export_plan(TREE, open_paths=[])
    assert not plan.published


def test_two_files_on_one_published_path_is_a_problem():
    plan = export_plan(
        [entry("a/x.py"), entry("x.py")], open_paths=["**"], from_prefix="a/", to_prefix=""
    )
    assert plan.problems == (
        "x.py and a/x.py would both be published as x.py: change the prefix mapping.",
    )


def test_the_scope_judges_one_path_as_the_plan_does():
    scope = Scope(("pkg/**",), ("pkg/internal/**",), "pkg/", "lib/")
    assert scope.fate("pkg/a.py") == (PUBLISHED, "lib/a.py", "pkg/**")
    assert scope.fate("pkg/internal/a.py")[0] == INTERNAL
    assert scope.fate("other.py")[0] == EXCLUDED
