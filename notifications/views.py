from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.forms import add_service_errors
from notifications import selectors, services, webhooks
from notifications.forms import PreferencesForm, SubscriptionForm
from notifications.models import Notification, WebhookSubscription


def _own(request, pk) -> Notification:
    """One of the caller's notifications; anybody else's is a 404, like one that is not."""
    return get_object_or_404(Notification, pk=pk, user=request.user)


@login_required
@require_safe
def notification_list(request):
    unread = request.GET.get("unread") == "1"
    page = Paginator(selectors.notifications_of(request.user, unread=unread), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/list.html",
        {
            "page": page,
            "unread": unread,
            "state": "",
            "unread_count": selectors.unread_count(request.user),
        },
    )


@login_required
@require_safe
def bell(request):
    """The bell alone, for the page to refresh it."""
    return render(request, "notifications/partials/bell.html")


@login_required
@require_safe
def notification_open(request, pk):
    """Mark a notification read and go where it points (a path on this site only)."""
    note = _own(request, pk)
    services.notification_mark_read(notification=note, user=request.user)
    if note.url and url_has_allowed_host_and_scheme(note.url, allowed_hosts=None):
        return redirect(note.url)
    return redirect("notifications:list")


@login_required
@require_POST
def notification_read(request, pk):
    services.notification_mark_read(notification=_own(request, pk), user=request.user)
    return redirect(request.POST.get("next") if _safe_next(request) else "notifications:list")


@login_required
@require_POST
def notifications_read_all(request):
    count = services.notifications_mark_all_read(user=request.user)
    messages.success(request, f"{count} notifications marked read.")
    return redirect("notifications:list")


def _safe_next(request) -> bool:
    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts=None)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    current = services.preferences_of(request.user)
    form = PreferencesForm(request.POST or None, initial_channels=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.preferences_set(user=request.user, channels=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Notification preferences saved.")
            return redirect("notifications:preferences")
    status = 400 if request.method == "POST" else 200
    return render(request, "notifications/preferences.html", {"form": form}, status=status)


# --------------------------------------------------------------------------- webhooks (office)


def _office(request) -> None:
    # A 404, as elsewhere for what a person may not know exists.
    if not request.user.is_superuser:
        raise Http404("Not found.")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_list(request):
    _office(request)
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            subscription, secret = webhooks.subscription_create(
                actor=request.user, url=data["url"], events=data["events"],
                description=data["description"],
            )  # fmt: skip
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _detail(request, subscription, secret=secret, status=201)
    return render(
        request,
        "notifications/webhook_list.html",
        {"subscriptions": selectors.subscriptions(), "form": form},
        status=400 if request.method == "POST" else 200,
    )


def _detail(request, subscription, *, secret: str = "", status: int = 200):
    page = Paginator(selectors.deliveries_of(subscription), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/webhook_detail.html",
        {
            "subscription": subscription,
            "page": page,
            "secret": secret,
            "state": "",
            "signature_header": webhooks.SIGNATURE_HEADER,
        },  # fmt: skip
        status=status,
    )


@login_required
@require_safe
def webhook_detail(request, pk):
    _office(request)
    return _detail(request, get_object_or_404(WebhookSubscription, pk=pk))


@login_required
@require_POST
def webhook_rotate(request, pk):
    """A new secret, shown on this one response only."""
    _office(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    secret = webhooks.subscription_rotate(subscription=subscription, actor=request.user)
    return _detail(request, subscription, secret=secret)


@login_required
@require_POST
def webhook_toggle(request, pk):
    _office(request)
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    active = request.POST.get("active") == "1"
    webhooks.subscription_set_active(
        subscription=subscription, actor=request.user, active=active,
        reason="" if active else "disabled by the open-source office",
    )  # fmt: skip
    messages.success(request, f"{subscription} {'enabled' if active else 'disabled'}.")
    return redirect("notifications:webhook", pk=subscription.pk)
