from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from governance.models import Repository
from governance.repositories import holder_of
from integrations import rules, selectors, services
from integrations.providers import PROVIDERS, guess_provider


@csrf_exempt  # a forge has no session: the signature or token is the proof
@require_POST
def hook_receive(request, provider, hook):
    """A forge's push webhook. No sign-in and no throttle: the hook's secret is the
    credential, checked before anything is stored, and a forge sends in bursts."""
    limit = settings.GATEHOUSE_HOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"detail": "A bad Content-Length."}, status=400)
    if declared > limit:
        return JsonResponse({"detail": f"The body is over {limit} bytes."}, status=413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return JsonResponse({"detail": f"The body is over {limit} bytes."}, status=413)
    reply = services.delivery_receive(
        provider=provider, public_id=hook, headers=request.headers, body=body
    )
    return JsonResponse(reply.body, status=reply.status)


def _repository_or_404(user, pk) -> Repository:
    repository = Repository.objects.filter(pk=pk).first()
    if repository is None or not rules.can_manage_hook(user, repository):
        raise Http404("Not found, or not yours to see.")
    return repository


def _render(request, repository, *, secret: str = "", status: int = 200):
    hook = selectors.hook_of(repository)
    holder = holder_of(repository)
    urls = []
    if hook is not None:
        urls = [(p.label, services.hook_url(hook, p.name)) for p in PROVIDERS.values()]
    return render(
        request,
        "integrations/repository_hooks.html",
        {
            "repository": repository,
            "component": holder[0] if holder else None,
            "role": holder[1] if holder else "",
            "hook": hook,
            "urls": urls,
            "suggested": guess_provider(repository.url),
            "secret": secret,
            "deliveries": selectors.recent_deliveries(hook) if hook else [],
        },
        status=status,
    )


@login_required
@require_safe
def repository_hooks(request, pk):
    """The repository's push hook (its URLs, when its secret was made) and its delivery
    log: the owners of the component holding it and the office."""
    return _render(request, _repository_or_404(request.user, pk))


@login_required
@require_POST
def repository_hook_rotate(request, pk):
    """Make the hook or give it a new secret, shown on this one answer only."""
    repository = _repository_or_404(request.user, pk)
    _hook, secret = services.hook_rotate(repository=repository, actor=request.user)
    return _render(request, repository, secret=secret, status=201)
