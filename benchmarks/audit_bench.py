"""Audit log benchmark: what sealing costs a write, and how fast the whole chain verifies.

    .venv/bin/python benchmarks/audit_bench.py [--events 20000]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/audit_bench.py

It builds a throwaway test database (test_<name>, dropped at the end), appends --events
events through the real ``audit_record`` (one transaction each, as services write them),
anchors the head, and runs the real ``verify``. Printed: appends per second, verify
events per second and its peak memory growth, the anchor write time, and beside them the
same verify loop without the seals (the plain SHA-256 chain the log had before), so the
seals' share of the cost is plain to see.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

from core import audit  # noqa: E402
from core.models import AuditEvent  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def plain_verify() -> int:
    """The old verifier: sequence, link and recomputed SHA-256, no seals, no anchors."""
    expected, prev = 1, ""
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        assert event.seq == expected and event.prev_hash == prev
        assert audit._digest_of(event) == event.hash
        prev, expected = event.hash, expected + 1
    return expected - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
            settings.GATEHOUSE_AUDIT_ANCHOR_FILE = Path(tmp) / "anchors.jsonl"
            actor = get_user_model().objects.create_user("bench", "bench@example.com", "x")
            print(f"database: {connection.vendor}; {os.cpu_count()} cores; {args.events} events")
            began = time.perf_counter()
            for n in range(args.events):
                audit.audit_record(
                    actor=actor, action="bench.event", obj=actor,
                    before={"n": n}, after={"n": n + 1, "note": "x" * 80},
                )  # fmt: skip
            appended = time.perf_counter() - began
            print(f"append (sealed, one transaction each): {args.events / appended:8.0f} events/s")

            began = time.perf_counter()
            anchor = audit.anchor_chain_head()
            took = 1000 * (time.perf_counter() - began)
            print(f"anchor the head (append + fsync):      {took:8.1f} ms")
            assert anchor is not None

            before = peak_mib()
            began = time.perf_counter()
            report = audit.verify()
            sealed = time.perf_counter() - began
            assert report.problem is None, report.problem
            grew = peak_mib() - before
            began = time.perf_counter()
            plain_verify()
            plain = time.perf_counter() - began
            print(f"verify, sealed + anchors (audit_verify): {report.events / sealed:8.0f} events/s"
                  f"  ({sealed:.2f} s; peak RSS grew {grew:.0f} MiB)")  # fmt: skip
            cost = 100 * (sealed - plain) / plain
            print(f"verify, plain SHA-256 chain (before):    {report.events / plain:8.0f} events/s"
                  f"  ({plain:.2f} s): seals cost {cost:+.0f} %")  # fmt: skip
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
