"""The audit log: append an event, anchor the chain outside the database, verify it.

Three layers, each catching what the one before cannot:

* **The chain.** Every event's hash covers its own content and the previous event's
  hash, so a changed, inserted or removed event breaks the chain at a place
  ``verify_chain`` can name.
* **The seals.** A hash anyone can recompute; so each event's hash is also sealed with
  an HMAC under ``GATEHOUSE_AUDIT_KEY``, a key from the environment that the database
  never holds. Someone who edits an event and recomputes every hash after it still
  cannot make the seals match. The chain-head row is sealed too.
* **The anchors.** Deleting the newest events and rewinding the (sealed) head would leave
  a shorter but consistent chain; so a beat task appends the sealed head (sequence, hash,
  time) to a file outside the database every minute. An anchor that names an event the
  database no longer has, or a different hash for it, names the first event removed or
  altered.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from core.models import AuditChainHead, AuditEvent


def _canonical(value: Any) -> Any:
    """Round-trip through JSON so the hashed form equals what the database returns."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def event_digest(
    *,
    seq: int,
    prev_hash: str,
    created_at: str,
    actor_id: int | None,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    object_repr: str,
    scope: str,
    before: dict,
    after: dict,
) -> str:
    payload = json.dumps(
        [
            seq,
            prev_hash,
            created_at,
            actor_id,
            actor_name,
            action,
            object_type,
            object_id,
            object_repr,
            scope,
            before,
            after,
        ],
        sort_keys=True,
        separators=(",", ":"),
        cls=DjangoJSONEncoder,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _digest_of(event: AuditEvent) -> str:
    return event_digest(
        seq=event.seq,
        prev_hash=event.prev_hash,
        created_at=event.created_at.isoformat(),
        actor_id=event.actor_id,
        actor_name=event.actor_name,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        object_repr=event.object_repr,
        scope=event.scope,
        before=event.before,
        after=event.after,
    )


# --------------------------------------------------------------------------- keys and seals


def key_id(key: bytes) -> str:
    """A name for a key that reveals nothing of it."""
    return hashlib.sha256(b"gatehouse-audit-key-id\0" + key).hexdigest()[:12]


def _keys() -> dict[str, bytes]:
    """The current audit key first, then the old ones that still verify."""
    keys = [settings.GATEHOUSE_AUDIT_KEY, *settings.GATEHOUSE_AUDIT_OLD_KEYS]
    return {key_id(k): k for k in keys}


def _mac(key: bytes, *parts: object) -> str:
    message = "\0".join(str(p) for p in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def event_seal(key: bytes, event_hash: str) -> str:
    return _mac(key, "event", event_hash)


def head_seal(key: bytes, seq: int, last_hash: str) -> str:
    return _mac(key, "head", seq, last_hash)


def anchor_seal(key: bytes, seq: int, last_hash: str, at: str) -> str:
    return _mac(key, "anchor", seq, last_hash, at)


def _seal_matches(kind: str, key_name: str, seal: str, *parts: object) -> bool:
    key = _keys().get(key_name)
    if key is None or not seal:
        return False
    return hmac.compare_digest(_mac(key, kind, *parts), seal)


# --------------------------------------------------------------------------- writing


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model,
    before: dict | None = None,
    after: dict | None = None,
    scope: str = "",
) -> AuditEvent:
    """Append one sealed event to the chain, inside the caller's transaction.

    Locks the chain head row, so concurrent writers append one after the other; if the
    caller's transaction rolls back, the event goes with it. Not idempotent: each call
    is one more event.
    """
    key = settings.GATEHOUSE_AUDIT_KEY
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        actor_id = actor.pk if actor is not None and actor.is_authenticated else None
        event = AuditEvent(
            seq=head.last_seq + 1,
            created_at=timezone.now(),
            actor_id=actor_id,
            actor_name=actor.get_username() if actor_id else "system",
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            scope=scope,
            before=_canonical(before or {}),
            after=_canonical(after or {}),
            prev_hash=head.last_hash,
        )
        event.hash = _digest_of(event)
        event.seal = event_seal(key, event.hash)
        event.key_id = key_id(key)
        event.save()
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.seal = head_seal(key, head.last_seq, head.last_hash)
        head.save(update_fields=["last_seq", "last_hash", "seal"])
        _wake_outbox_on_commit()
    return event


def _wake_outbox() -> None:
    import_string(settings.GATEHOUSE_OUTBOX_TASK).delay()


def _wake_outbox_on_commit() -> None:
    """Once per transaction that wrote events, wake whatever reads the chain (the
    notifications outbox: named in settings, for core imports nothing above it). A wake
    only says "look"; what is read is the chain itself, so a lost wake delays, never
    drops, an event (beat drains the outbox on a schedule too)."""
    if not settings.GATEHOUSE_OUTBOX_WAKE:
        return
    connection = transaction.get_connection()
    if any(entry[1] is _wake_outbox for entry in connection.run_on_commit):
        return
    # Robust: a broker that is down must not fail a request whose change has committed.
    transaction.on_commit(_wake_outbox, robust=True)


# --------------------------------------------------------------------------- anchors


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str
    key_id: str
    seal: str
    line: int  # 1-based line number in the anchor file (0: not counted)


def anchor_path() -> Path:
    return Path(settings.GATEHOUSE_AUDIT_ANCHOR_FILE)


def _parse_anchor(line: str, number: int) -> Anchor:
    data = json.loads(line)
    return Anchor(int(data["seq"]), str(data["hash"]), str(data["at"]), str(data["key_id"]),
                  str(data["seal"]), number)  # fmt: skip


def _last_anchor(fd: int) -> Anchor | None:
    """The newest anchor of an open anchor file, read from its end (the file grows by a
    line a minute; the writer need not read it all). Its line number is not known: 0."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    tail = os.pread(fd, min(size, 4096), max(0, size - 4096)).decode("utf-8", "replace")
    lines = [line for line in tail.splitlines() if line.strip()]
    try:
        return _parse_anchor(lines[-1], 0) if lines else None
    except (ValueError, KeyError, TypeError):
        return None


def read_anchors(path: Path | None = None) -> tuple[list[Anchor], list[int]]:
    """Every anchor of the file, and the line numbers that are not anchors at all."""
    path = path or anchor_path()
    anchors, broken = [], []
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            anchors.append(_parse_anchor(line, number))
        except (ValueError, KeyError, TypeError):
            broken.append(number)
    return anchors, broken


def anchor_chain_head(*, path: Path | None = None) -> Anchor | None:
    """Append the current chain head to the anchor file, sealed; nothing when the newest
    anchor already records it (or the chain is empty). The file is opened for appending
    only and flushed to disk before returning; an flock keeps two writers apart.
    Idempotent. Returns the anchor written, or None."""
    path = path or anchor_path()
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.last_seq == 0:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = settings.GATEHOUSE_AUDIT_KEY
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        last = _last_anchor(fd)
        if last is not None and (last.seq, last.hash) == (head.last_seq, head.last_hash):
            return None
        at = timezone.now().isoformat()
        seal = anchor_seal(key, head.last_seq, head.last_hash, at)
        record = {"seq": head.last_seq, "hash": head.last_hash, "at": at,
                  "key_id": key_id(key), "seal": seal}  # fmt: skip
        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return Anchor(head.last_seq, head.last_hash, at, key_id(key), seal, 0)


# --------------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None  # the first event concerned; None when no event can be named
    message: str


@dataclass(frozen=True)
class ChainReport:
    events: int
    anchors: int
    problem: ChainProblem | None


def verify_chain(*, anchors_path: Path | None = None) -> ChainProblem | None:
    """Return the first problem in the chain, or None when it is intact."""
    return verify(anchors_path=anchors_path).problem


def verify(*, anchors_path: Path | None = None) -> ChainReport:
    """Check every event's hash, link and seal, the sealed chain head, and the chain
    against each anchor of the file; report the first event altered, removed or cut from
    the end. Reads the events in order with a server-side cursor (memory stays flat) and
    keeps only the hashes the anchors ask about."""
    anchors, broken = read_anchors(anchors_path)
    wanted = {a.seq for a in anchors}
    seen: dict[int, str] = {}
    expected_seq, prev_hash, count = 1, "", 0
    events = AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)
    for event in events:
        count += 1
        if event.seq != expected_seq:
            return ChainReport(count, len(anchors), ChainProblem(
                expected_seq, f"event #{expected_seq} is missing"))  # fmt: skip
        if event.prev_hash != prev_hash:
            return ChainReport(count, len(anchors), ChainProblem(
                event.seq, f"event #{event.seq} does not follow the event before it"))  # fmt: skip
        if _digest_of(event) != event.hash:
            return ChainReport(count, len(anchors), ChainProblem(
                event.seq, f"event #{event.seq} was altered"))  # fmt: skip
        if not _seal_matches("event", event.key_id, event.seal, event.hash):
            return ChainReport(count, len(anchors), ChainProblem(
                event.seq, f"event #{event.seq} was altered (its seal does not match; "
                "its hash was recomputed without the audit key)"))  # fmt: skip
        if event.seq in wanted:
            seen[event.seq] = event.hash
        prev_hash = event.hash
        expected_seq += 1
    last_seq = expected_seq - 1

    def report(problem: ChainProblem | None) -> ChainReport:
        return ChainReport(count, len(anchors), problem)

    # The anchors know what the database once held: a later event they name is gone.
    for anchor in anchors:
        if not _seal_matches("anchor", anchor.key_id, anchor.seal, anchor.seq, anchor.hash,
                             anchor.at):  # fmt: skip
            return report(ChainProblem(None, f"anchor line {anchor.line} was altered"))
        if anchor.seq > last_seq:
            return report(ChainProblem(
                last_seq + 1,
                f"event #{last_seq + 1} is missing: events #{last_seq + 1} to "
                f"#{anchor.seq} were cut from the end (the anchor of {anchor.at} records "
                f"#{anchor.seq})"))  # fmt: skip
        if seen.get(anchor.seq) != anchor.hash:
            return report(ChainProblem(
                anchor.seq, f"event #{anchor.seq} was altered (it differs from the anchor "
                f"of {anchor.at})"))  # fmt: skip
    if broken:
        return report(ChainProblem(None, f"anchor line {broken[0]} is not an anchor"))

    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_seq, head.last_hash) != (0, ""):
        if head.last_seq != last_seq or head.last_hash != prev_hash:
            return report(ChainProblem(
                last_seq + 1,
                f"event #{last_seq + 1} is missing (the chain head records "
                f"#{head.last_seq})"))  # fmt: skip
        if not any(
            hmac.compare_digest(head_seal(k, head.last_seq, head.last_hash), head.seal or "")
            for k in _keys().values()
        ):
            return report(ChainProblem(
                None, f"the chain head was altered: it records #{head.last_seq}, but its "
                "seal does not match (events may have been cut from the end after the "
                "newest anchor)"))  # fmt: skip
    elif last_seq:
        return report(ChainProblem(last_seq, "the chain head is missing"))
    return report(None)
