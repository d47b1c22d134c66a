from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from governance import rules, selectors, services
from governance.forms import ExternalForm, RoleForm
from governance.models import Component


def _component_or_404(user, slug):
    try:
        return selectors.component_detail(user, slug)
    except Component.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc


@login_required
def component_list(request):
    return render(
        request,
        "governance/component_list.html",
        {"components": selectors.component_list(request.user)[:500]},
    )


def _can_set_external(user, component) -> bool:
    # The same people component_set_external lets through: owners and the office.
    return user.is_authenticated and (user.is_superuser or rules.is_owner(user, component))


def _external_initial(component) -> dict:
    repository = component.external_repository
    return {
        "url": repository.url if repository else "",
        "branch": component.external_branch or "main",
        "from_prefix": component.export_from_prefix,
        "to_prefix": component.export_to_prefix,
    }


def _render_component(request, component, *, role_form=None, external_form=None, status=200):
    can_set_external = _can_set_external(request.user, component)
    if external_form is None and can_set_external:
        external_form = ExternalForm(initial=_external_initial(component))
    return render(
        request,
        "governance/component_detail.html",
        {
            "component": component,
            "submissions": selectors.component_submissions(component),
            "roles": selectors.component_roles(component),
            "can_manage_roles": rules.can_manage_roles(request.user, component),
            "role_form": role_form or RoleForm(),
            "can_set_external": can_set_external,
            "external_form": external_form,
            "timeline": selectors.component_timeline(component)[:200],
        },
        status=status,
    )


@login_required
def component_detail(request, slug):
    return _render_component(request, _component_or_404(request.user, slug))


@login_required
@require_POST
def component_roles(request, slug):
    component = _component_or_404(request.user, slug)
    if not rules.can_manage_roles(request.user, component):
        raise PermissionDenied("Only the component's PMC members and admins manage its roles.")
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            services.component_role_set(
                component=component, user=form.user, role=form.cleaned_data["role"],
                actor=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Roles of {component} updated.")
            return redirect(component.get_absolute_url() + "#roles")
    return _render_component(request, component, role_form=form, status=400)


@login_required
@require_POST
def component_external(request, slug):
    """Set where the component is published (owners and admins); back to its Sync section."""
    component = _component_or_404(request.user, slug)
    if not _can_set_external(request.user, component):
        raise PermissionDenied("Only the component's owners and admins set where it is published.")
    form = ExternalForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.component_set_external(
                component=component, actor=request.user, url=data["url"],
                branch=data["branch"] or "main", from_prefix=data["from_prefix"],
                to_prefix=data["to_prefix"],
            )  # fmt: skip
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{component} is published to {data['url']}.")
            return redirect(component.get_absolute_url() + "#sync")
    return _render_component(request, component, external_form=form, status=400)
