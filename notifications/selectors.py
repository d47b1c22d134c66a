from django.db.models import Count, Q, QuerySet
from django.utils.functional import SimpleLazyObject

from notifications.models import Notification, WebhookDelivery, WebhookSubscription


def notifications_of(user, *, unread: bool = False) -> QuerySet[Notification]:
    rows = Notification.objects.filter(user=user)
    return rows.filter(read_at=None) if unread else rows


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at=None).count()


def subscriptions() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__state="pending")),
        delivered=Count("deliveries", filter=Q(deliveries__state="delivered")),
    ).select_related("created_by")


def deliveries_of(subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    return subscription.deliveries.select_related("event").order_by("-event__seq")


def bell(request) -> dict:
    """The unread count for the bell on every page; counted only when a page shows it."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(request.user))}
