"""The person's own API tokens: list, make (shown once), revoke; and the two endpoints for
machines, /healthz (a load balancer's probe) and /metrics (Prometheus)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core import health, tokens
from core import metrics as gatehouse_metrics
from core.forms import TokenForm, add_service_errors
from core.models import ApiToken


def _render(request, *, form=None, new_key="", new_token=None, status=200):
    return render(
        request,
        "core/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=request.user).order_by("-created_at")[:100],
            "form": form or TokenForm(),
            "new_key": new_key,
            "new_token": new_token,
            "now": timezone.now(),
        },
        status=status,
    )


@never_cache
@login_required
def token_list(request):
    """GET: the tokens; POST: make one and show its key in this very response, never
    again (not in a redirect, a message or a log)."""
    if request.method != "POST":
        return _render(request)
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = tokens.token_create(
                user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _render(request, new_key=key, new_token=token, status=201)
    return _render(request, form=form, status=400)


@login_required
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token {token.prefix}… ({token.name}) revoked.")
    return redirect("core:tokens")


@require_safe
def healthz(request):
    """No sign-in, nothing but each part's name and "ok" or "failing": 200 when all are
    ok, else 503. Served over plain http too (SECURE_REDIRECT_EXEMPT), for the load
    balancer in front."""
    report = health.health_report()
    response = JsonResponse(report, status=200 if report["status"] == health.OK else 503)
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def metrics(request):
    """Prometheus's text format, only for the bearer of GATEHOUSE_METRICS_TOKEN; anyone
    else (and everyone, when no token is set) gets the same 404 as a page that does not
    exist."""
    if not gatehouse_metrics.authorized(request):
        raise Http404
    body, content_type = gatehouse_metrics.exposition()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
