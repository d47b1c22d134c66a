"""The hash-chained audit log: append an event, verify the chain.

Every event's hash covers its own content and the previous event's hash, so a changed
or removed event breaks the chain at a place ``verify_chain`` can name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

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


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model,
    before: dict | None = None,
    after: dict | None = None,
    scope: str = "",
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction.

    Locks the chain head row, so concurrent writers append one after the other; if the
    caller's transaction rolls back, the event goes with it. Not idempotent: each call
    is one more event.
    """
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
        event.save()
        head.last_seq = event.seq
        head.last_hash = event.hash
        head.save(update_fields=["last_seq", "last_hash"])
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    message: str


def verify_chain() -> ChainProblem | None:
    """Return the first problem in the chain, or None when it is intact.

    Reads the events in order with a server-side cursor, so memory stays flat on a
    long log.
    """
    expected_seq = 1
    prev_hash = ""
    events = AuditEvent.objects.order_by("seq").iterator(chunk_size=2000)
    for event in events:
        if event.seq != expected_seq:
            return ChainProblem(expected_seq, f"event #{expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainProblem(
                event.seq, f"event #{event.seq} does not follow the event before it"
            )
        if _digest_of(event) != event.hash:
            return ChainProblem(event.seq, f"event #{event.seq} was altered")
        prev_hash = event.hash
        expected_seq += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    last_seq = expected_seq - 1
    if head is not None and (head.last_seq != last_seq or head.last_hash != prev_hash):
        return ChainProblem(
            last_seq + 1,
            f"event #{last_seq + 1} is missing (the chain head records #{head.last_seq})",
        )
    return None
