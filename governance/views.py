from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from governance import repositories, rules, selectors, services
from governance.forms import RegistryForm, RoleForm
from governance.models import Component, Repository


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


def _render_component(request, component, *, role_form=None, status=200):
    return render(
        request,
        "governance/component_detail.html",
        {
            "component": component,
            "submissions": selectors.component_submissions(component),
            "roles": selectors.component_roles(component),
            "can_manage_roles": rules.can_manage_roles(request.user, component),
            "role_form": role_form or RoleForm(),
            "can_change_scope": rules.can_change_scope(request.user, component),
            # The repositories' push webhooks (their pages are the integrations app's).
            "can_manage_hooks": request.user.is_superuser
            or rules.is_owner(request.user, component),
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


# --------------------------------------------------------------------------- the registry


def _require_office(user) -> None:
    if not user.is_superuser:
        raise PermissionDenied("The repository registry is the open-source office's.")


@login_required
def repository_list(request):
    """Every registered repository and the component holding it (admins)."""
    _require_office(request.user)
    return render(
        request,
        "governance/repository_list.html",
        {"repositories": repositories.registry_rows()[:1000], "form": RegistryForm()},
    )


@login_required
@require_POST
def repository_change(request, pk):
    """Unbind a repository, or reassign it to another component (admins); audited."""
    _require_office(request.user)
    repository = get_object_or_404(Repository, pk=pk)
    form = RegistryForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == "unbind":
                repositories.repository_unbind(
                    repository=repository, actor=request.user, reason=data["reason"]
                )
            else:
                repositories.repository_reassign(
                    repository=repository, component=data["component"], role=data["role"],
                    actor=request.user, reason=data["reason"],
                )  # fmt: skip
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{repository.url}: {data['action']} recorded.")
    else:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("governance:repositories")
