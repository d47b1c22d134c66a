"""Scanning shares of a commit's blobs in forked child processes. Plain Python, no Django.

Children are made with ``os.fork``, not with multiprocessing: multiprocessing runs in every
child the after-fork hooks libraries register with it, and kombu's closes the parent's broker
connections by reading from the parent's Redis socket, which hung the child for ever in any
process that had talked to the broker. A child here runs the scan and nothing else: it reads
its share through its own ``git cat-file``, streams the results back in frames, and leaves
with ``os._exit`` (no atexit handler or finalizer touches a socket it shares with the parent).

A frame is an 8-byte length and a pickle (from our own child, never from outside):
``("results", {cache key: found})`` every FLUSH_FILES files, then ``("end", cut)``. A child
that dies leaves its share without an end frame; the caller scans what it did not send.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import selectors
import signal
import struct
import time
from collections.abc import Callable
from pathlib import Path

import vcs
from scans.detectors.base import Policy

__all__ = ["can_fork", "deal", "scan_parts", "scan_share"]

_FRAME = struct.Struct("!Q")
FLUSH_FILES = 200
#: How long after the scan's deadline a child may still take to send what it has.
GRACE_SECONDS = 5.0

Part = list[tuple[str, list[tuple[str, str]]]]  # [(blob sha, [(cache key, file name)])]
Scan = Callable[[bytes, str, Policy], list[dict]]


def can_fork() -> bool:
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


def deal(by_sha: dict[str, list[tuple[str, str]]], sizes: dict[str, int], count: int) -> list[Part]:
    """The blobs dealt into ``count`` shares of about equal bytes, largest first (so no
    share ends with one big file alone), each share in git's order."""
    loads = [0] * count
    shares: list[list[str]] = [[] for _ in range(count)]
    for sha in sorted(by_sha, key=lambda s: -sizes[s]):
        i = loads.index(min(loads))
        shares[i].append(sha)
        loads[i] += sizes[sha] + 2_000  # a file costs something even when it is small
    order = {sha: n for n, sha in enumerate(by_sha)}
    return [[(sha, by_sha[sha]) for sha in sorted(p, key=order.__getitem__)] for p in shares if p]


def scan_parts(
    mirror: Path,
    parts: list[Part],
    policy: Policy,
    scan: Scan,
    *,
    max_blob_bytes: int,
    deadline: float,
    on_results: Callable[[dict[str, list[dict]]], None] | None = None,
) -> tuple[dict[str, list[dict]], bool]:
    """Scan each part in a child of its own; returns the results that came back and
    whether the deadline cut the work short. ``on_results(batch)`` is called as each
    frame of results arrives."""
    fresh: dict[str, list[dict]] = {}
    cut = False
    children: dict[int, tuple[int, bytearray]] = {}  # read fd -> (pid, buffer)
    try:
        for part in parts:
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child; its results are what is tested
                code = 1
                try:
                    os.close(read_fd)
                    for fd in children:
                        os.close(fd)
                    _child(write_fd, mirror, part, policy, scan, max_blob_bytes, deadline)
                    code = 0
                finally:
                    os._exit(code)
            os.close(write_fd)
            children[read_fd] = (pid, bytearray())
        with selectors.DefaultSelector() as selector:
            for fd in children:
                selector.register(fd, selectors.EVENT_READ)
            while selector.get_map():
                left = deadline + GRACE_SECONDS - time.monotonic()
                if left <= 0:
                    return fresh, True
                for key, _ in selector.select(left):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        selector.unregister(key.fd)
                        continue
                    buffer = children[key.fd][1]
                    buffer += chunk
                    for kind, value in _frames(buffer):
                        if kind == "results":
                            fresh.update(value)
                            if on_results:
                                on_results(value)
                        else:
                            cut = cut or value
        return fresh, cut
    finally:
        for fd, (pid, _) in children.items():
            os.close(fd)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # a no-op for one that has exited
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _frames(buffer: bytearray):
    """Complete frames taken off the front of ``buffer``."""
    while len(buffer) >= _FRAME.size:
        (size,) = _FRAME.unpack_from(buffer)
        if len(buffer) < _FRAME.size + size:
            return
        payload = bytes(buffer[_FRAME.size : _FRAME.size + size])
        del buffer[: _FRAME.size + size]
        yield pickle.loads(payload)  # noqa: S301 - written by our own child, just now


def scan_share(
    mirror: Path,
    share: Part,
    policy: Policy,
    scan: Scan,
    *,
    max_blob_bytes: int,
    deadline: float,
    on_batch: Callable[[dict[str, list[dict]]], None],
) -> bool:
    """Read and scan one share in this process, through one cat-file: ``on_batch(results)``
    every FLUSH_FILES files and once at the end. Returns whether the deadline cut it short
    (what was scanned by then has been handed over)."""
    named = dict(share)
    batch: dict[str, list[dict]] = {}
    cut = False
    try:
        with vcs.BlobReader(mirror, max_blob_bytes=max_blob_bytes, deadline=deadline) as reader:
            for sha, data in reader.read_many(named):
                for key, name in named[sha]:
                    batch[key] = scan(data or b"", name, policy)
                if len(batch) >= FLUSH_FILES:
                    on_batch(batch)
                    batch = {}
                if time.monotonic() > deadline:
                    cut = True
                    break
    except vcs.LimitExceeded:
        cut = True
    on_batch(batch)
    return cut


def _child(fd, mirror, share, policy, scan, max_blob_bytes, deadline) -> None:
    with os.fdopen(fd, "wb") as out:

        def send(message) -> None:
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(_FRAME.pack(len(payload)) + payload)
            out.flush()

        cut = scan_share(
            mirror, share, policy, scan, max_blob_bytes=max_blob_bytes, deadline=deadline,
            on_batch=lambda batch: send(("results", batch)),
        )  # fmt: skip
        send(("end", cut))
