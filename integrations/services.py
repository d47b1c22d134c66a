"""Incoming push webhooks: a repository's hook made and rotated, each delivery checked and
logged at once, and acted on by a worker.

Receiving does no git and no work beyond one insert: the forge waits for the answer, so
the refresh and the sync are queued (after the insert commits) and the answer is sent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from urllib.parse import parse_qs

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

import vcs
from core.audit import audit_record
from core.tokens import derived_secret
from governance.models import Repository
from governance.repositories import INTERNAL, holder_of
from integrations import rules
from integrations.models import HookDelivery, RepositoryHook
from integrations.providers import PROVIDERS, Provider
from releases import jobs
from reviews.enums import SubmissionState
from reviews.models import Submission
from reviews.services import submission_refresh_by_push

log = logging.getLogger(__name__)

Status = HookDelivery.Status
#: Refused requests logged per hook and hour; beyond it they go to the log file only, so
#: a stranger who learnt a hook's URL cannot fill the database.
REFUSED_LOGGED_PER_HOUR = 60
_NO_COMMIT = "0" * 40
_LIVE_STATES = (SubmissionState.IN_REVIEW, SubmissionState.CHANGES_REQUESTED)


def hook_secret(hook: RepositoryHook) -> str:
    return derived_secret("incoming-webhook", hook.nonce)


def hook_url(hook: RepositoryHook, provider: str) -> str:
    return settings.GATEHOUSE_BASE_URL.rstrip("/") + hook.path(provider)


def hook_rotate(*, repository: Repository, actor) -> tuple[RepositoryHook, str]:
    """Make the repository's hook, or give it a new secret (the URL stays). Returns the
    hook and its secret, which is not stored and cannot be shown again; the old secret
    stops working at once. The owners of the component holding the repository and the
    office may (``actor`` None: the ``webhook_secret`` command). Audited without the
    secret."""
    if actor is not None and not rules.can_manage_hook(actor, repository):
        raise PermissionDenied("Only the component's owners and the open-source office do this.")
    holder = holder_of(repository)
    with transaction.atomic():
        hook = RepositoryHook.objects.select_for_update().filter(repository=repository).first()
        created = hook is None
        if created:
            hook = RepositoryHook(repository=repository, public_id=secrets.token_urlsafe(16))
        hook.nonce = secrets.token_hex(32)
        hook.rotated_at = timezone.now()
        hook.rotated_by = actor if actor is not None and actor.is_authenticated else None
        hook.save()
        audit_record(
            actor=actor,
            action="hook.created" if created else "hook.rotated",
            obj=hook,
            after={"repository": repository.url, "public_id": hook.public_id},
            scope=holder[0].audit_scope if holder else "",
        )
    return hook, hook_secret(hook)


# --------------------------------------------------------------------------- receiving


@dataclass
class Reply:
    status: int
    body: dict = field(default_factory=dict)


def _refuse(hook, provider: Provider, headers, digest: str, status: int, reason: str) -> Reply:
    since = timezone.now() - timedelta(hours=1)
    logged = HookDelivery.objects.filter(
        hook=hook, status=Status.REFUSED, received_at__gte=since
    ).count()
    if logged < REFUSED_LOGGED_PER_HOUR:
        HookDelivery.objects.create(
            hook=hook, provider=provider.name, delivery_id=provider.delivery_id(headers)[:100],
            event=provider.event(headers), body_sha256=digest, received_at=timezone.now(),
            status=Status.REFUSED, reason=reason[:300],
        )  # fmt: skip
    log.warning("hook %s (%s): refused %s: %s", hook.public_id, provider.name, status, reason)
    return Reply(status, {"detail": reason})


FORM = "application/x-www-form-urlencoded"


def _json_of(body: bytes, content_type: str) -> str | bytes | None:
    """The JSON a delivery carries: the body itself, or, when GitHub or Gitea send a form
    (``payload=<json>``), its one ``payload`` field (None when there is none)."""
    if content_type.split(";")[0].strip().lower() != FORM:
        return body
    try:
        fields = parse_qs(body.decode("ascii"), max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return None
    payload = fields.get("payload")
    return payload[0] if payload and len(payload) == 1 else None


def _push_of(body: bytes, content_type: str) -> tuple[str, str] | str:
    """The pushed ref and commit a push body names, or why it is not a push body."""
    text = _json_of(body, content_type)
    if text is None:
        return "The form has no payload field holding the event."
    try:
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        return "The body is not JSON."
    if not isinstance(payload, dict) or not isinstance(payload.get("ref"), str):
        return "The body names no ref: not a push event's payload."
    after = payload.get("after") or payload.get("checkout_sha") or ""
    ref = payload["ref"]
    if not ref or len(ref) > 255 or not isinstance(after, str) or len(after) > 64:
        return "The body's ref or commit is not one git would make."
    return ref, after


def delivery_receive(*, provider: str, public_id: str, headers, body: bytes) -> Reply:
    """Check one request to a hook and log it: 404 for an unknown hook or provider, 403
    for a wrong signature or token, 400 for a request that is not a forge's delivery,
    409 for a delivery already received (a replay), 200 for a verified event that sets
    nothing off (a ping), 202 for a push, whose processing is queued after the log row
    commits. Refused requests are logged too (a bounded number per hour)."""
    adapter = PROVIDERS.get(provider)
    hook = RepositoryHook.objects.filter(public_id=public_id).first()
    if adapter is None or hook is None:
        return Reply(404, {"detail": "No such hook."})
    digest = hashlib.sha256(body).hexdigest()
    refusal = adapter.verify(headers, body, hook_secret(hook))
    if refusal:
        return _refuse(hook, adapter, headers, digest, 403, refusal)
    delivery_id, event = adapter.delivery_id(headers), adapter.event(headers)
    if not delivery_id or len(delivery_id) > 100:
        return _refuse(hook, adapter, headers, digest, 400, "No usable delivery id header.")
    row = HookDelivery(
        hook=hook, provider=adapter.name, delivery_id=delivery_id, event=event,
        body_sha256=digest, received_at=timezone.now(), verified=True,
    )  # fmt: skip
    if event in adapter.push_events:
        push = _push_of(body, headers.get("Content-Type", ""))
        if isinstance(push, str):
            return _refuse(hook, adapter, headers, digest, 400, push)
        row.ref, row.after = push
        row.status = Status.QUEUED
    else:
        row.status, row.reason = Status.IGNORED, f"{event or 'Unnamed'} event: only a push acts."
    try:
        with transaction.atomic():
            row.save()
            if row.status == Status.QUEUED:
                from integrations.tasks import process_delivery

                transaction.on_commit(partial(process_delivery.delay, delivery_id=row.pk))
    except IntegrityError:
        return Reply(409, {"detail": "This delivery was received before: a replay is refused."})
    code = 202 if row.status == Status.QUEUED else 200
    return Reply(code, {"delivery": row.pk, "status": row.status, "detail": row.reason})


# --------------------------------------------------------------------------- acting


def _refresh_submissions(component, branch: str, after: str) -> list[dict]:
    if after == _NO_COMMIT:
        return [{"kind": "skipped", "reason": f"branch {branch} was deleted"}]
    done = []
    submissions = Submission.objects.filter(
        component=component, branch=branch, state__in=_LIVE_STATES
    ).order_by("pk")
    for submission in submissions:
        try:
            result = submission_refresh_by_push(submission=submission)
        except (PermissionDenied, ValidationError, vcs.VcsError) as exc:
            reason = " ".join(getattr(exc, "messages", None) or [str(exc)])
            done.append({"kind": "skipped", "submission": submission.pk, "reason": reason[:300]})
        else:
            done.append({
                "kind": "refresh", "submission": submission.pk, "moved": result.moved,
                "commit": result.new_commit,
            })  # fmt: skip
    return done


def _sync(component) -> dict:
    try:
        job, _ = jobs.sync_request(component=component, actor=None, trigger="webhook")
    except ValidationError as exc:
        return {"kind": "skipped", "component": component.pk, "reason": " ".join(exc.messages)}
    return {"kind": "sync", "component": component.pk, "job": job.pk}


def delivery_process(*, delivery_id: int) -> HookDelivery | None:
    """Act on one verified push: a push to a branch of a component's internal repository
    refreshes the component's submissions under review on that branch (which queues the
    new commit's scan) and, when the component publishes outside, queues its sync; a push
    to an external repository queues the component's sync. Records what it set off and
    audits it (``hook.push``). Idempotent: a processed delivery is left alone, and what it
    sets off is idempotent itself (a refresh of an unmoved branch changes nothing; a sync
    coalesces with a live one)."""
    row = HookDelivery.objects.select_related("hook__repository").filter(pk=delivery_id).first()
    if row is None or row.status != Status.QUEUED:
        return row
    repository = row.hook.repository
    holder = holder_of(repository)
    triggered: list[dict] = []
    if holder is None:
        triggered.append({"kind": "skipped", "reason": "no component holds the repository"})
    else:
        component, role = holder
        branch = row.ref.removeprefix("refs/heads/") if row.ref.startswith("refs/heads/") else ""
        if role == INTERNAL and branch:
            triggered += _refresh_submissions(component, branch, row.after)
        if role != INTERNAL or component.external_repository_id:
            triggered.append(_sync(component))
    with transaction.atomic():
        updated = HookDelivery.objects.filter(pk=row.pk, status=Status.QUEUED).update(
            status=Status.DONE, triggered=triggered, processed_at=timezone.now()
        )
        if updated:
            audit_record(
                actor=None, action="hook.push", obj=row,
                after={"provider": row.provider, "delivery_id": row.delivery_id,
                       "repository": repository.url, "ref": row.ref, "triggered": triggered},
                scope=holder[0].audit_scope if holder else "",
            )  # fmt: skip
    row.refresh_from_db()
    return row


def deliveries_requeue_stalled(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Send again the pushes still queued long after they arrived (a broker that lost the
    task, a worker that died before acknowledging it). Safe to overlap with a late
    original: processing is idempotent. Returns how many were sent."""
    from integrations.tasks import process_delivery

    since = timezone.now() - older_than
    stalled = list(
        HookDelivery.objects.filter(status=Status.QUEUED, received_at__lt=since)
        .order_by("received_at")
        .values_list("pk", flat=True)[:500]
    )
    for pk in stalled:
        process_delivery.delay(delivery_id=pk)
    return len(stalled)
