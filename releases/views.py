from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.forms import add_service_errors
from core.models import AuditEvent
from core.templatetags.gatehouse import humantime
from governance.models import Component, Department
from governance.selectors import component_detail, visible_components
from releases import charts, dashboard, departments, jobs, rules, selectors, services, summaries
from releases.enums import OPEN_RELEASE_STATES, GateStatus, ReleaseState
from releases.evidence import read as evidence_read
from releases.forms import AlertTriageForm, CancelForm, ReleaseForm, WaiverForm
from releases.models import (
    Backport,
    EvidenceBundle,
    ExternalAlert,
    ExternalWatch,
    GitJob,
    Release,
    SyncState,
    Waiver,
)
from scans.models import Finding


def _release_or_404(user, pk):
    try:
        return selectors.release_detail(user, pk)
    except Release.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc


def _component_or_404(user, slug) -> Component:
    try:
        return component_detail(user, slug)
    except Component.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc


@login_required
def release_create(request, slug):
    component = _component_or_404(request.user, slug)
    if not rules.can_create_release(request.user, component):
        raise PermissionDenied("Only the component's owners and admins create its releases.")
    form = ReleaseForm(request.POST or None, commits=services.release_commit_choices(component))
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
    can_manage = rules.can_create_release(user, release.component)
    return {
        "release": release,
        "component": release.component,
        "gate_rows": gate_rows,
        "path_to_ready": [g for g in gate_rows if g["status"] == GateStatus.BLOCKED],
        "evaluations": release.evaluations.all()[:30],
        "waivers": waivers,
        "is_admin": is_admin,
        "can_manage": can_manage,
        "is_open": release.state in OPEN_RELEASE_STATES,
        # The button shows only when publishing can work; the service checks it all again.
        "can_publish": can_manage
        and release.state == ReleaseState.READY
        and release.component.external_repository_id is not None,
        "publish_errors": forms.get("publish_errors", []),
        "jobs": _jobs_to_show(
            GitJob.objects.filter(release=release, kind=GitJob.Kind.PUBLISH).select_related(
                "created_by"
            )[:1]
        ),
        "waiver_form": forms.get("waiver_form")
        or (
            WaiverForm(
                gate_keys=blocked_keys,
                findings=selectors.waivable_findings(release, now=now),
                initial={"owner": user.pk},
            )
            if is_admin and release.state in OPEN_RELEASE_STATES
            else None
        ),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        **(
            _evidence_context(release, can_manage)
            if rules.can_read_evidence(user, release.component)
            else {"no_evidence": True}
        ),
    }


def _evidence_context(release: Release, can_manage: bool) -> dict:
    bundles = list(evidence_read.bundles(release))
    live = _jobs_to_show(GitJob.objects.filter(release=release, kind=GitJob.Kind.EVIDENCE)[:1])
    final = any(not b.preview for b in bundles)
    buildable = release.state == ReleaseState.READY or (
        release.state == ReleaseState.PUBLISHED and not final
    )
    return {
        "bundles": bundles,
        "evidence_jobs": live,
        "can_build_evidence": can_manage and buildable and not (live and live[0].live),
    }


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
    form = WaiverForm(request.POST, gate_keys=keys, findings=selectors.waivable_findings(release))
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
    component = _component_or_404(request.user, slug)
    context = {
        "component": component,
        "releases": component.releases.select_related("created_by")
        .prefetch_related(
            Prefetch(
                "evidence",
                queryset=EvidenceBundle.objects.defer("archive").order_by("preview", "-built_at"),
                to_attr="bundles",
            )
        )
        .order_by("-created_at")[:50],
        "can_create": rules.can_create_release(request.user, component),
        "shows_evidence": rules.can_read_evidence(request.user, component),
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
    paginator = Paginator(departments.department_tickets(department, now=now), DEPARTMENT_PAGE_SIZE)
    paginator.count = counters.open  # the same tickets, counted already: no second count
    page = paginator.get_page(request.GET.get("page"))
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
    the user may see (over the whole portfolio: from the charts summary)."""
    now = timezone.now()
    data = summaries.chart_figures(request.user, now=now)
    activity = data.activity
    weeks = [f"{w.day} {w:%b}" for w in activity.weeks]
    medians = data.medians
    median_days = [m.median_days for m in medians]
    # Reviews decided within hours read in hours: a bar of "0.04 days" says little.
    longest = max((d for d in median_days if d), default=0)
    unit, per_day = (
        ("minutes", 24 * 60) if longest < 1 / 24 else ("hours", 24) if longest < 2 else ("days", 1)
    )
    findings = data.findings
    sync = data.sync
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
                title=f"Median {unit} from submission to approval",
                categories=[m.name for m in medians],
                series=[
                    charts.Series(
                        f"Median {unit}",
                        [None if d is None else d * per_day for d in median_days],
                    )
                ],
                notes=[f"{m.approvals} approved" for m in medians],
                x_label="Department",
                y_label=unit.capitalize(),
                value_format=lambda v: "no data" if v is None else humantime(v / per_day),
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
        (
            charts.line_chart(
                title="Components by sync status",
                categories=[f"{w.day} {w:%b}" for w in sync.weeks],
                series=[charts.Series(label, n) for label, n in sync.by_status.items()],
                x_label="Week starting",
                y_label="Components",
            ),
            "How many components stood in each sync status (internal and external sides in "
            "step, export pending, back-port needed, diverged) at the end of each week.",
        ),
    ]
    return render(request, "releases/charts.html", {"figures": figures})


# --------------------------------------------------------------------------- Open Core sync

SYNC_HISTORY = 10


def _sync_context(request, component, **extra) -> dict:
    """What the Sync section shows: a fixed number of queries, however many syncs,
    commits, tags and releases there are."""
    syncs = SyncState.objects.filter(component=component).order_by("-created_at", "-id")
    # The history without the lists of commits; the newest one in full.
    summary = (
        "id",
        "component_id",
        "created_at",
        "checked_at",
        "trigger",
        "status",
        "seconds",
        "error",
    )
    history = list(syncs.only(*summary)[:SYNC_HISTORY])
    latest = syncs.first() if history else None
    community = list(latest.community) if latest else []
    backports = list(
        Backport.objects.filter(component=component)
        .select_related("created_by")
        .order_by("-created_at", "-id")[:20]
    )
    # The newest back-port of each community commit (alone or in a range), on its row.
    by_source = {}
    for b in backports[::-1]:  # oldest first, so the newest wins
        for sha in b.source_commits or [b.source_commit]:
            by_source[sha] = b
    community = [{**c, "backport": by_source.get(c["sha"])} for c in community]
    waiting = [c for c in community if not (c["backport"] and c["backport"].branch)]
    tags = []
    if latest:
        missing = set(latest.tags_missing_externally)
        unknown = set(latest.tags_unknown_internally)
        for name in sorted(missing | unknown | set(latest.external_tags)):
            tags.append(
                {
                    "name": name,
                    "missing_externally": name in missing,
                    "unknown_internally": name in unknown,
                    "external": name in latest.external_tags,
                    "internal_rev": latest.external_tags.get(name, ""),
                }
            )
    exports = (
        Release.objects.filter(component=component, state=ReleaseState.PUBLISHED)
        .exclude(external_commit="")
        .order_by("-published_at", "-id")[:20]
    )
    return {
        "component": component,
        "external_repository": component.external_repository,
        "latest": latest,
        "history": history,
        "community": community,
        "waiting": waiting,
        "backports": backports,
        "tags": tags,
        "exports": exports,
        "may_sync": rules.can_sync(request.user, component),
        "jobs": _jobs_to_show(
            GitJob.objects.filter(
                component=component, kind__in=[GitJob.Kind.SYNC, GitJob.Kind.BACKPORT]
            ).select_related("sync_state", "backport", "created_by")[:20]
        ),
        **extra,
    }


def _jobs_to_show(recent) -> list[GitJob]:
    """Of ``recent`` jobs (newest first), the newest of each key, if it is still under way
    or failed: what a person waits for or must know went wrong. A success shows in the
    page itself (the sync, the back-port, the published release)."""
    seen, shown = set(), []
    for job in recent:
        if job.key not in seen and (job.live or job.status == GitJob.Status.FAILED):
            shown.append(job)
        seen.add(job.key)
    return shown


def _sync_response(request, component, *, status=200, **extra):
    template = "releases/partials/component_sync.html"
    if not request.htmx:
        template = "releases/component_sync.html"
    return render(request, template, _sync_context(request, component, **extra), status=status)


def _back_to_sync(component):
    return redirect(component.get_absolute_url() + "#sync")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def component_sync_panel(request, slug):
    """Where the component is published and how the two sides stand: a fragment for the
    component page (htmx), or a page. POST (owners, PMC, admins): sync now."""
    component = _component_or_404(request.user, slug)
    if request.method != "POST":
        return _sync_response(request, component)
    if not rules.can_sync(request.user, component):
        raise PermissionDenied("Only the component's owners, PMC members and admins sync it.")
    if component.internal_repository is None or component.external_repository is None:
        messages.error(request, "Nothing to sync: set the external repository first.")
        return _back_to_sync(component)
    job, created = jobs.sync_request(component=component, actor=request.user)
    if request.htmx:
        return _sync_response(request, component)
    if created:
        messages.info(request, "Sync queued: its progress shows below.")
    else:
        messages.info(request, "A sync of this component is already under way: see below.")
    return _back_to_sync(component)


@login_required
@require_POST
def backport_create(request, slug):
    """Back-port one community commit (or, with ``first``, a range of them) as a branch of
    the internal repository."""
    component = _component_or_404(request.user, slug)
    if not rules.can_sync(request.user, component):
        raise PermissionDenied("Only the component's owners, PMC members and admins back-port.")
    commit = request.POST.get("commit", "")
    try:
        job, created = jobs.backport_request(
            component=component, actor=request.user, commit=commit,
            first=request.POST.get("first", ""),
        )  # fmt: skip
    except ValidationError as exc:
        return _sync_response(request, component, status=400, backport_errors=exc.messages)
    if request.htmx:
        return _sync_response(request, component)
    short = job.params["commit"][:10]
    if created:
        messages.info(request, f"Back-port of {short} queued: its progress shows below.")
    else:
        messages.info(request, f"A back-port of {short} is already under way: see below.")
    return _back_to_sync(component)


@login_required
@require_POST
def release_publish(request, pk):
    """Publish a ready release to the external repository (owners and admins)."""
    release = _release_or_404(request.user, pk)
    try:
        jobs.publish_request(release=release, actor=request.user)
    except ValidationError as exc:
        context = _release_context(request, release, publish_errors=exc.messages)
        return render(request, "releases/release_detail.html", context, status=400)
    return redirect(release)


@login_required
@require_http_methods(["GET", "HEAD"])
def git_job(request, pk):
    """A publish, sync or back-port job: a page, or (htmx) the progress box, which polls
    while the job is live and reloads the page it sits on once it has finished."""
    job = (
        GitJob.objects.select_related(
            "component", "release", "sync_state", "backport", "created_by"
        )  # fmt: skip
        .filter(pk=pk, component__in=visible_components(request.user))
        .first()
    )
    if job is None:
        raise Http404("Not found, or not yours to see.")
    if request.htmx:
        response = render(request, "releases/partials/git_job.html", {"job": job})
        if not job.live:
            response["HX-Refresh"] = "true"
        return response
    return render(request, "releases/git_job.html", {"job": job, "component": job.component})


# --------------------------------------------------------------------------- external alerts

ALERTS_SHOWN = 50


def _alerts_context(request, component) -> dict:
    """What the External alerts section shows: three queries, however many alerts."""
    alerts = ExternalAlert.objects.filter(component=component).select_related("department")
    open_alerts = list(alerts.filter(state=ExternalAlert.State.OPEN)[:ALERTS_SHOWN])
    settled = list(
        alerts.exclude(state=ExternalAlert.State.OPEN)
        .select_related("triaged_by")
        .order_by("-triaged_at", "-id")[:ALERTS_SHOWN]
    )
    for alert in open_alerts + settled:
        alert.component = component
    return {
        "component": component,
        "open_alerts": open_alerts,
        "settled_alerts": settled,
        "watch": ExternalWatch.objects.filter(component=component).first(),
    }


@login_required
@require_http_methods(["GET", "HEAD"])
def component_alerts(request, slug):
    """The alerts the watcher opened on the component's external repository, open ones
    first: a fragment for the component page (htmx), or a page. Whoever sees the component
    sees them (the excerpts are redacted, as a scan's are)."""
    component = _component_or_404(request.user, slug)
    template = "releases/alerts_panel.html" if request.htmx else "releases/alerts.html"
    return render(request, template, _alerts_context(request, component))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def alert_detail(request, slug, pk):
    """One alert, with what it reopened and its history; POST (the department's reviewers
    and the office): triage it."""
    component = _component_or_404(request.user, slug)
    alert = (
        ExternalAlert.objects.select_related("department", "triaged_by")
        .filter(component=component, pk=pk)
        .first()
    )
    if alert is None:
        raise Http404("Not found, or not yours to see.")
    alert.component = component
    denial = rules.alert_triage_denial(request.user, alert)
    form = AlertTriageForm(request.POST or None)
    if request.method == "POST":
        if denial:
            raise PermissionDenied(denial)
        if form.is_valid():
            try:
                alert = services.alert_triage(
                    alert=alert, actor=request.user, **form.cleaned_data
                )  # fmt: skip
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Alert marked {alert.get_state_display().lower()}.")
                return redirect(alert)
    history = AuditEvent.objects.filter(
        object_type=ExternalAlert._meta.label_lower, object_id=str(alert.pk)
    ).order_by("-seq")[:20]
    return render(
        request,
        "releases/alerts_detail.html",
        {"component": component, "alert": alert, "form": form, "may_triage": not denial,
         "triage_denial": denial, "timeline": history},
        status=400 if form.errors else 200,
    )  # fmt: skip
