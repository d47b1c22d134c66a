"""Personal API tokens: made, checked and revoked here; stored only as a SHA-256.

A token is ``gth_`` and 40 random URL-safe characters. Its first twelve characters (the
prefix, not secret) find the row; the SHA-256 of the whole token is compared in constant
time. 240 random bits need no slow hash: there is nothing to guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.models import ApiToken
from core.validators import has_control_characters

TOKEN_MARK = "gth_"
PREFIX_LENGTH = 12
#: A token's last use is written at most this often, not on every request.
TOUCH_INTERVAL = timedelta(minutes=5)


def derived_secret(purpose: str, nonce: str) -> str:
    """A webhook secret that is never stored: the HMAC of a stored random nonce under a
    server key the database never holds (GATEHOUSE_WEBHOOK_KEY). A new nonce is a new
    secret; ``purpose`` keeps an incoming hook's secret apart from an outgoing one's."""
    message = f"gatehouse-{purpose}\0{nonce}".encode()
    return hmac.new(settings.GATEHOUSE_WEBHOOK_KEY, message, hashlib.sha256).hexdigest()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, user, name: str, days: int | None = None, actor=None) -> tuple[ApiToken, str]:
    """Make a token for ``user`` and return it with its key, which is never stored and
    cannot be shown again. ``days`` defaults to GATEHOUSE_API_TOKEN_DAYS and is at most
    GATEHOUSE_API_TOKEN_MAX_DAYS. People make their own tokens; admins may make one for
    anybody (automation accounts). Audited, without the key."""
    actor = actor or user
    if actor.pk != user.pk and not actor.is_superuser:
        raise PermissionDenied("You can only make API tokens for yourself.")
    if not user.is_active:
        raise ValidationError({"user": ["An inactive account gets no API token."]})
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100 or has_control_characters(name):
        errors["name"] = ["Name the token (one line, up to 100 characters), e.g. 'CI'."]
    days = settings.GATEHOUSE_API_TOKEN_DAYS if days is None else days
    maximum = settings.GATEHOUSE_API_TOKEN_MAX_DAYS
    if not isinstance(days, int) or not 1 <= days <= maximum:
        errors["days"] = [f"A token lasts between 1 and {maximum} days."]
    if errors:
        raise ValidationError(errors)
    key = TOKEN_MARK + secrets.token_urlsafe(30)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=key[:PREFIX_LENGTH], digest=_digest(key),
            expires_at=timezone.now() + timedelta(days=days),
        )  # fmt: skip
        audit_record(
            actor=actor, action="api_token.created", obj=token,
            after={"user": user.get_username(), "name": name, "prefix": token.prefix,
                   "expires_at": token.expires_at.isoformat()},
        )  # fmt: skip
    return token, key


def token_revoke(*, token: ApiToken, actor) -> ApiToken:
    """Revoke a token at once: its owner or an admin. Idempotent; audited."""
    if actor.pk != token.user_id and not actor.is_superuser:
        raise PermissionDenied("You can only revoke your own API tokens.")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor, action="api_token.revoked", obj=locked,
            after={"user": locked.user.get_username(), "prefix": locked.prefix},
        )  # fmt: skip
    return locked


def token_authenticate(key: str) -> ApiToken | None:
    """The active token ``key`` names, with its user, or None (unknown, expired, revoked,
    or its user deactivated)."""
    # New tokens start with gth_; tokens carried over from DRF's authtoken do not.
    if not 20 <= len(key) <= 100:
        return None
    now = timezone.now()
    digest = _digest(key)
    for token in ApiToken.objects.filter(prefix=key[:PREFIX_LENGTH]).select_related("user"):
        if hmac.compare_digest(token.digest, digest):
            if not token.is_active(now) or not token.user.is_active:
                return None
            if token.last_used_at is None or now - token.last_used_at > TOUCH_INTERVAL:
                ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            return token
    return None
