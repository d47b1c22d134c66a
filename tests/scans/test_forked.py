"""Shares of a scan in forked children (scans.forked): real git, real child processes."""

import os
import threading
import time

import vcs
from scans import forked
from scans.detectors.base import Policy
from tests.gitrepo import GitRepo
from tests.scans.test_engine import mirror_of


def _shares(tmp_path, names):
    repo = GitRepo(tmp_path / "repo")
    repo.commit({name: f"# {name}\nVALUE = 1\n" for name in names}, "files")
    mirror = mirror_of(repo, tmp_path)
    entries = vcs.list_tree(mirror, repo.head())
    by_sha = {e.sha: [(f"key-{e.path}", e.path)] for e in entries}
    sizes = {e.sha: e.size for e in entries}
    return mirror, forked.deal(by_sha, sizes, 2)


def _scan_or_die(data: bytes, name: str, policy: Policy) -> list[dict]:
    if name == "die.py":
        os._exit(3)  # the child dies half-way through its share
    return [{"kind": "hygiene", "rule": "seen", "severity": "info", "line": 0, "message": name}]


def test_each_share_comes_back_from_its_child(tmp_path):
    mirror, parts = _shares(tmp_path, [f"f{i}.py" for i in range(450)])
    fresh, cut = forked.scan_parts(
        mirror, parts, Policy(), _scan_or_die, max_blob_bytes=1 << 20,
        deadline=time.monotonic() + 60,
    )  # fmt: skip
    assert not cut
    assert sorted(fresh) == sorted(f"key-f{i}.py" for i in range(450))


def test_a_child_that_dies_loses_only_what_it_had_not_sent(tmp_path):
    mirror, parts = _shares(tmp_path, ["die.py", *(f"f{i}.py" for i in range(40))])
    fresh, cut = forked.scan_parts(
        mirror, parts, Policy(), _scan_or_die, max_blob_bytes=1 << 20,
        deadline=time.monotonic() + 60,
    )  # fmt: skip
    assert not cut and "key-die.py" not in fresh
    other = next(p for p in parts if all(name != "die.py" for _, [(_, name)] in p))
    assert {key for _, [(key, _)] in other} <= set(fresh)  # the other share is whole


def test_forking_in_a_process_that_holds_broker_connections_does_not_hang(tmp_path):
    """multiprocessing ran kombu's after-fork hook in each child, which read from the
    parent's Redis socket and never returned; children made by os.fork run no such hook."""
    from config.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1)
        with app.producer_or_acquire() as producer:
            assert producer is not None
            mirror, parts = _shares(tmp_path, [f"f{i}.py" for i in range(50)])
            outcome = {}

            def run():
                outcome["result"] = forked.scan_parts(
                    mirror, parts, Policy(), _scan_or_die, max_blob_bytes=1 << 20,
                    deadline=time.monotonic() + 30,
                )  # fmt: skip

            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            thread.join(60)
            assert not thread.is_alive(), "the forked scan hung"
            fresh, cut = outcome["result"]
            assert len(fresh) == 50 and not cut
