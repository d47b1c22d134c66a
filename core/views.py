"""The person's own API tokens: list, make (shown once), revoke."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core import tokens
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
