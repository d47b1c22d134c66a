from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.forms import add_service_errors
from governance.models import Component, Department
from governance.selectors import component_detail
from releases import charts, dashboard, departments, rules, selectors, services
from releases.enums import OPEN_RELEASE_STATES, GateStatus
from releases.forms import CancelForm, ReleaseForm, WaiverForm
from releases.models import Release, Waiver
from scans.models import Finding


def _release_or_404(user, pk):
    try:
        return selectors.release_detail(user, pk)
    except Release.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc


@login_required
def release_create(request, slug):
    try:
        component = component_detail(request.user, slug)
    except Component.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc
    if not rules.can_create_release(request.user, component):
        raise PermissionDenied("Only the component's owners and admins create its releases.")
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            release = services.release_create(
                component=component, actor=request.user, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Release {release.version} created: {release.state}.")
            return redirect(release)
    approved = selectors.approved_commit(component)
    return render(
        request,
        "releases/release_create.html",
        {"component": component, "form": form, "approved_commit": approved},
        status=400 if form.errors else 200,
    )


def _release_context(request, release, **forms):
    now = timezone.now()
    user = request.user
    is_admin = rules.can_grant_waiver(user)
    gate_rows = release.gates
    blocked_keys = [g["gate"] for g in gate_rows if g["status"] == GateStatus.BLOCKED]
    waivers = list(
        Waiver.objects.filter(Q(release=release) | Q(component=release.component, release=None))
        .select_related("owner", "granted_by")
        .order_by("-created_at")
    )
    for w in waivers:
        w.active = w.is_active(now)
    return {
        "release": release,
        "component": release.component,
        "gate_rows": gate_rows,
        "path_to_ready": [g for g in gate_rows if g["status"] == GateStatus.BLOCKED],
        "evaluations": release.evaluations.all()[:30],
        "waivers": waivers,
        "is_admin": is_admin,
        "can_manage": rules.can_create_release(user, release.component),
        "is_open": release.state in OPEN_RELEASE_STATES,
        "waiver_form": forms.get("waiver_form")
        or (
            WaiverForm(
                gate_keys=blocked_keys,
                findings=_blocking_findings(release, now),
                initial={"owner": user.pk},
            )
            if is_admin and release.state in OPEN_RELEASE_STATES
            else None
        ),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
    }


def _blocking_findings(release, now):
    context, _ = selectors.gate_context(release, now=now)
    return [f for f in context.findings if f.severity == "blocking"][:50]


@login_required
def release_detail(request, pk):
    release = _release_or_404(request.user, pk)
    return render(request, "releases/release_detail.html", _release_context(request, release))


@login_required
@require_POST
def release_evaluate(request, pk):
    release = _release_or_404(request.user, pk)
    services.release_evaluate(release_id=release.pk, trigger="manual", actor=request.user)
    messages.info(request, "Gates evaluated.")
    return redirect(release)


@login_required
@require_POST
def release_cancel(request, pk):
    release = _release_or_404(request.user, pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.release_cancel(
                release=release, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Release {release.version} cancelled.")
            return redirect(release)
    context = _release_context(request, release, cancel_form=form)
    return render(request, "releases/release_detail.html", context, status=400)


@login_required
@require_POST
def waiver_create(request, pk):
    release = _release_or_404(request.user, pk)
    if not rules.can_grant_waiver(request.user):
        raise PermissionDenied("Only the open-source office (admins) grants waivers.")
    keys = [g["gate"] for g in release.gates]
    form = WaiverForm(
        request.POST, gate_keys=keys, findings=_blocking_findings(release, timezone.now())
    )
    if form.is_valid():
        data = form.cleaned_data
        finding = None
        if data.get("finding"):
            finding = get_object_or_404(
                Finding.objects.select_related("scan"),
                pk=data["finding"], scan__component=release.component,
            )  # fmt: skip
        try:
            services.waiver_grant(
                actor=request.user, reason=data["reason"], owner=data["owner"],
                expires_at=data["expires_at"], release=None if finding else release,
                gate="" if finding else data["gate"], finding=finding,
            )  # fmt: skip
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Waiver granted; the gates were re-evaluated.")
            return redirect(release)
    context = _release_context(request, release, waiver_form=form)
    return render(request, "releases/release_detail.html", context, status=400)


@login_required
@require_POST
def waiver_revoke(request, pk):
    waiver = get_object_or_404(Waiver.objects.select_related("component"), pk=pk)
    services.waiver_revoke(waiver=waiver, actor=request.user)
    messages.success(request, "Waiver revoked; the gates were re-evaluated.")
    back = request.POST.get("next", "")
    release = waiver.release or waiver.component.releases.first()
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect(release or waiver.component)


PORTFOLIO_PAGE_SIZE = 50


@login_required
def portfolio(request):
    filters = dashboard.PortfolioFilters.from_params(request.GET)
    page = Paginator(
        dashboard.portfolio_queryset(request.user, filters), PORTFOLIO_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "releases/portfolio.html",
        {
            "page": page,
            "rows": dashboard.portfolio_rows(list(page.object_list)),
            "counters": dashboard.portfolio_counters(request.user),
            "filters": filters,
            "choices": dashboard.filter_choices(),
            "query": query.urlencode(),
        },
    )


@login_required
def component_releases(request, slug):
    """The releases of one component: a fragment for the component page (htmx), or a page."""
    try:
        component = component_detail(request.user, slug)
    except Component.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc
    context = {
        "component": component,
        "releases": component.releases.select_related("created_by").order_by("-created_at")[:50],
        "can_create": rules.can_create_release(request.user, component),
    }
    template = "releases/partials/component_releases.html"
    if not request.htmx:
        template = "releases/component_releases.html"
    return render(request, template, context)


DEPARTMENT_PAGE_SIZE = 50


@login_required
def department_list(request):
    """The active departments with their open and overdue tickets; links to the ones the
    user reviews for (admins: all)."""
    rows = departments.department_index(request.user, now=timezone.now())
    return render(request, "releases/department_list.html", {"rows": rows})


@login_required
def department_detail(request, slug):
    """One department's open tickets, counters and reviewer workload: for its reviewers
    and admins; 404 for anyone else, as for anything not theirs to see."""
    try:
        department = departments.department_for(request.user, slug)
    except Department.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc
    now = timezone.now()
    counters = departments.department_counters(department, now=now)
    page = Paginator(
        departments.department_tickets(department, now=now), DEPARTMENT_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "releases/department_detail.html",
        {
            "department": department,
            "counters": counters,
            "page": page,
            "tickets": departments.with_age(page.object_list, now=now),
            "workload": departments.department_workload(
                department, waiting=counters.waiting, now=now
            ),
        },
    )


@login_required
def charts_page(request):
    """Activity, review speed and open findings, drawn as inline SVG, over the components
    the user may see."""
    now = timezone.now()
    user = request.user
    activity = departments.weekly_activity(user, now=now)
    weeks = [f"{w.day} {w:%b}" for w in activity.weeks]
    medians = departments.approval_medians(user, now=now)
    findings = departments.open_findings_over_time(user, now=now)
    figures = [
        (
            charts.bar_chart(
                title="Submissions and releases per week",
                categories=weeks,
                series=[
                    charts.Series("Submissions", activity.submissions),
                    charts.Series("Releases", activity.releases),
                ],
                x_label="Week starting",
                y_label="Created",
            ),
            "Submissions and releases created in each of the last 12 weeks (weeks start on "
            "Monday).",
        ),
        (
            charts.bar_chart(
                title="Median days from submission to approval",
                categories=[m.name for m in medians],
                series=[charts.Series("Median days", [m.median_days for m in medians])],
                notes=[f"{m.approvals} approved" for m in medians],
                x_label="Department",
                y_label="Days",
            ),
            "Per department, over the reviews approved in the last 180 days: the median "
            "time from the submission to the department's approval. No bar: no approval.",
        ),
        (
            charts.line_chart(
                title="Open findings by kind",
                categories=[f"{w.day} {w:%b}" for w in findings.weeks],
                series=[charts.Series(kind, n) for kind, n in findings.by_kind.items()],
                x_label="Week starting",
                y_label="Open findings",
            ),
            "Open blocking and warning findings, by kind, in each component's latest "
            "finished scan as of the end of each week (a finding counts as open that week "
            "if it was triaged or fixed only later).",
        ),
    ]
    return render(request, "releases/charts.html", {"figures": figures})
