from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from governance import selectors
from governance.models import Component


@login_required
def component_list(request):
    return render(
        request,
        "governance/component_list.html",
        {"components": selectors.component_list(request.user)[:500]},
    )


@login_required
def component_detail(request, slug):
    try:
        component = selectors.component_detail(request.user, slug)
    except Component.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc
    return render(
        request,
        "governance/component_detail.html",
        {
            "component": component,
            "submissions": selectors.component_submissions(component),
            "timeline": selectors.component_timeline(component)[:200],
        },
    )
