"""Writes of the community's calendar and digests: events, digest subscriptions, and each
person's private feed address. One transaction each, audited in it. (Promotion votes
have their own module, community.votes.)

Who may manage an event: the open-source office (superusers), and the owners and PMC
members of every component it is linked to -- so nobody puts an event on, or takes one
off, a component that is not theirs. An event linked to no component is the office's.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from community.enums import EventKind
from community.models import CalendarFeed, DigestSubscription, Event
from core.audit import audit_record
from governance.enums import CommunityRole
from governance.models import Component
from governance.rules import can_view_component, is_owner, is_pmc

EVENT_FIELDS = ("title", "kind", "starts_at", "ends_at", "time_zone", "place", "link",
                "description", "report")  # fmt: skip


# --------------------------------------------------------------------------- who may


def can_host_for(user, component: Component) -> bool:
    """Whether ``user`` may link events to ``component``: its owners and PMC members."""
    return user.is_authenticated and (is_owner(user, component) or is_pmc(user, component))


def can_link_events(user, components: Iterable[Component]) -> bool:
    """Whether ``user`` may hold an event linked to exactly ``components``."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    components = list(components)
    return bool(components) and all(can_host_for(user, c) for c in components)


def can_create_event(user) -> bool:
    """The office, and anybody who owns a component or sits on its PMC."""
    if not user.is_authenticated:
        return False
    return (
        user.is_superuser
        or user.owned_components.exists()
        or user.component_roles.filter(role=CommunityRole.PMC).exists()
    )


def can_manage_event(user, event: Event) -> bool:
    return can_link_events(user, event.components.all())


def hostable_components(user):
    """The components ``user`` may link events to, by name."""
    if user.is_superuser:
        return Component.objects.order_by("name")
    return (
        Component.objects.filter(
            Q(owners=user) | Q(roles__user=user, roles__role=CommunityRole.PMC)
        )
        .distinct()
        .order_by("name")
    )


# --------------------------------------------------------------------------- events


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA zone names this machine knows (read from disk once per process)."""
    return frozenset(available_timezones())


def _snapshot(event: Event, components: list[Component]) -> dict:
    return {
        "title": event.title,
        "kind": event.kind,
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
        "time_zone": event.time_zone,
        "place": event.place,
        "link": event.link,
        "has_report": bool(event.report),
        "components": sorted(c.slug for c in components),
    }


def _clean(values: dict) -> dict:
    """The event's fields checked and tidied: a known time zone, the end not before the
    start, a link only to a web page (http or https). Raises ValidationError by field."""
    errors: dict[str, list[str]] = {}
    clean = dict(values)
    for name in ("title", "place", "link", "description", "report", "time_zone"):
        if name in clean:
            clean[name] = (clean[name] or "").strip()
    if "title" in clean and not clean["title"]:
        errors["title"] = ["Give the event a title."]
    if "kind" in clean and clean["kind"] not in EventKind.values:
        errors["kind"] = ["Choose what kind of event it is."]
    if "time_zone" in clean and clean["time_zone"] not in time_zone_names():
        errors["time_zone"] = ["Choose a time zone by its name, e.g. Europe/Berlin."]
    for name in ("starts_at", "ends_at"):
        value = clean.get(name)
        if name in clean and not (isinstance(value, datetime) and timezone.is_aware(value)):
            errors[name] = ["Give a date and a time."]
    starts, ends = clean.get("starts_at"), clean.get("ends_at")
    if "starts_at" not in errors and "ends_at" not in errors and starts and ends and ends < starts:
        errors["ends_at"] = ["The event cannot end before it starts."]
    link = clean.get("link")
    if link:
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors["link"] = ["Give a web address starting with https:// (or http://)."]
    if errors:
        raise ValidationError(errors)
    return clean


def _check_components(actor, components: list[Component]) -> None:
    if not can_link_events(actor, components):
        if not components:
            raise PermissionDenied("Only the open-source office holds events of no component.")
        raise PermissionDenied(
            "Only the owners and PMC members of every component an event is linked to "
            "(and the open-source office) manage it."
        )


def _save(event: Event) -> None:
    try:
        event.full_clean(exclude=["components", "created_by"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc
    event.save()


def event_create(
    *, actor, title: str, kind: str, starts_at: datetime, ends_at: datetime,
    time_zone: str = "UTC", place: str = "", link: str = "", description: str = "",
    report: str = "", components: Iterable[Component] = (),
) -> Event:  # fmt: skip
    """Create an event linked to ``components``: by the office, or by someone who owns
    or is on the PMC of every one of them. Times are aware datetimes (stored in UTC);
    ``time_zone`` is where it happens. Audited (``event.created``). Queues nothing. Not
    idempotent: each call is one more event."""
    components = list(components)
    _check_components(actor, components)
    values = _clean({"title": title, "kind": kind, "starts_at": starts_at, "ends_at": ends_at,
                     "time_zone": time_zone, "place": place, "link": link,
                     "description": description, "report": report})  # fmt: skip
    with transaction.atomic():
        event = Event(created_by=actor, **values)
        _save(event)
        event.components.set(components)
        audit_record(
            actor=actor, action="event.created", obj=event, after=_snapshot(event, components),
            scope=components[0].audit_scope if components else "",
        )  # fmt: skip
    return event


def event_update(*, event: Event, actor, components: Iterable[Component] | None = None,
                 **changes) -> Event:  # fmt: skip
    """Change an event's fields (any of title, kind, starts_at, ends_at, time_zone,
    place, link, description, and the report written afterwards) and, given
    ``components``, what it is linked to. The actor must manage the event as it is and
    as it will be. Audited (``event.updated``, before and after) when something changed.
    Queues nothing. Idempotent: the same changes again change nothing."""
    unknown = set(changes) - set(EVENT_FIELDS)
    if unknown:
        raise ValueError(f"Not fields of an event: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        current = list(locked.components.order_by("name"))
        _check_components(actor, current)
        target = current if components is None else list(components)
        if components is not None:
            _check_components(actor, target)
        old = {name: getattr(locked, name) for name in EVENT_FIELDS}
        values = _clean({**old, **changes})
        before = _snapshot(locked, current)
        if values == old and {c.pk for c in target} == {c.pk for c in current}:
            return locked
        for name, value in values.items():
            setattr(locked, name, value)
        _save(locked)
        if components is not None:
            locked.components.set(target)
        audit_record(
            actor=actor, action="event.updated", obj=locked, before=before,
            after=_snapshot(locked, target),
            scope=target[0].audit_scope if target else "",
        )  # fmt: skip
    return locked


def event_delete(*, event: Event, actor) -> None:
    """Delete an event (who may manage it). Audited (``event.deleted``) with what it was.
    Queues nothing. Idempotent: a deleted event stays gone."""
    with transaction.atomic():
        locked = Event.objects.select_for_update().filter(pk=event.pk).first()
        if locked is None:
            return
        components = list(locked.components.order_by("name"))
        _check_components(actor, components)
        audit_record(
            actor=actor, action="event.deleted", obj=locked,
            before=_snapshot(locked, components),
            scope=components[0].audit_scope if components else "",
        )  # fmt: skip
        locked.delete()


# --------------------------------------------------------------------------- subscriptions


def digest_subscribe(*, user, component: Component | None = None) -> DigestSubscription:
    """Subscribe ``user`` to a component's digest (one they may see) or the portfolio's
    (None). Audited when new. Queues nothing. Idempotent."""
    if component is not None and not can_view_component(user, component):
        raise PermissionDenied("You may not see this component.")
    with transaction.atomic():
        subscription, created = DigestSubscription.objects.get_or_create(
            user=user, component=component
        )
        if created:
            audit_record(
                actor=user, action="digest.subscribed", obj=subscription,
                after={"component": component.slug if component else ""},
            )  # fmt: skip
    return subscription


def digest_unsubscribe(*, user, component: Component | None = None) -> bool:
    """End ``user``'s subscription to that digest. Audited when there was one. Queues
    nothing. Idempotent. Returns whether a subscription ended."""
    with transaction.atomic():
        subscription = DigestSubscription.objects.filter(user=user, component=component).first()
        if subscription is None:
            return False
        audit_record(
            actor=user, action="digest.unsubscribed", obj=subscription,
            before={"component": component.slug if component else ""},
        )  # fmt: skip
        subscription.delete()
    return True


# --------------------------------------------------------------------------- feed addresses


def feed_token(feed: CalendarFeed) -> str:
    """The token of a feed address: the person's id and an HMAC of the stored nonce under
    the server's secret key (the token itself is never stored)."""
    digest = salted_hmac(
        "gatehouse.community.feed", f"{feed.user_id}:{feed.nonce}", algorithm="sha256"
    ).hexdigest()
    return f"{feed.user_id}-{digest}"


def feed_user(token: str):
    """The active person a feed token belongs to, or None (unknown, turned off, or made
    anew since)."""
    user_id, _, _ = (token or "").partition("-")
    if not user_id.isdigit() or len(token) > 120:
        return None
    feed = CalendarFeed.objects.filter(user_id=int(user_id)).select_related("user").first()
    if feed is None or not feed.user.is_active:
        return None
    if not hmac.compare_digest(feed_token(feed), token):
        return None
    return feed.user


def feed_address_make(*, user) -> CalendarFeed:
    """Give ``user`` a private feed address, or a new one in place of the old (which stops
    working at once). Audited, without the token. Queues nothing. Not idempotent: each
    call is a new address."""
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        renewed = feed is not None
        if feed is None:
            feed = CalendarFeed(user=user)
        feed.nonce = secrets.token_hex(32)
        feed.created_at = timezone.now()
        feed.save()
        audit_record(
            actor=user, action="calendar_feed.renewed" if renewed else "calendar_feed.created",
            obj=feed, after={"user": user.get_username()},
        )  # fmt: skip
    return feed


def feed_address_revoke(*, user) -> bool:
    """Turn ``user``'s feed address off. Audited. Queues nothing. Idempotent. Returns
    whether there was one."""
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        if feed is None:
            return False
        audit_record(
            actor=user, action="calendar_feed.revoked", obj=feed,
            before={"user": user.get_username()},
        )  # fmt: skip
        feed.delete()
    return True
