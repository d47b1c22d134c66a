from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from scans import rules, selectors, services
from scans.enums import FindingKind, Severity, TriageState
from scans.models import Finding, ScanRun


def _visible_scan(user, pk) -> ScanRun:
    scan = (
        selectors.visible_scans(user)
        .select_related("repository", "component")
        .filter(pk=pk)
        .first()
    )
    if scan is None:
        raise Http404("Not found, or not yours to see.")
    return scan


@login_required
def scan_detail(request, pk):
    scan = _visible_scan(request.user, pk)
    findings = selectors.filter_findings(
        scan.findings.select_related("triaged_by", "confirmed_by"), request.GET
    ).order_by(selectors.SEVERITY_RANK, "kind", "path", "line")
    page = Paginator(findings, 100).get_page(request.GET.get("page"))
    return render(
        request,
        "scans/scan_detail.html",
        {
            "scan": scan,
            "page": page,
            "findings": page.object_list,
            "counts": selectors.finding_counts(scan),
            "kinds": FindingKind.choices,
            "severities": Severity.choices,
            "states": TriageState.choices,
            "triage_kinds": rules.triageable_kinds(request.user, scan.component),
            "filters": {k: request.GET.get(k, "") for k in ("kind", "severity", "state", "path")},
        },
    )


@login_required
def scan_progress(request, pk):
    scan = _visible_scan(request.user, pk)
    response = render(request, "scans/partials/progress.html", {"scan": scan})
    if scan.is_finished and request.htmx:
        # Reload the whole page once, to show the findings table.
        response["HX-Refresh"] = "true"
    return response


def _visible_finding(user, pk) -> Finding:
    finding = Finding.objects.select_related("scan__component").filter(pk=pk).first()
    if finding is None:
        raise Http404
    _visible_scan(user, finding.scan_id)
    return finding


def _back(request, finding):
    """Back where the form was (the ticket or the scan page), never off the site."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("scans:scan", pk=finding.scan_id)


@login_required
@require_POST
def finding_triage(request, pk):
    finding = _visible_finding(request.user, pk)
    try:
        finding = services.finding_triage(
            finding=finding, actor=request.user,
            state=request.POST.get("state", ""), reason=request.POST.get("reason", ""),
        )  # fmt: skip
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if finding.awaits_confirmation:
            messages.success(
                request,
                f"Finding marked {finding.get_state_display().lower()}; it blocks until a "
                "second reviewer of the department confirms.",
            )
        else:
            messages.success(request, f"Finding marked {finding.get_state_display().lower()}.")
    return _back(request, finding)


@login_required
@require_POST
def finding_confirm(request, pk):
    """The second reviewer confirms a blocking finding's triage (four eyes)."""
    finding = _visible_finding(request.user, pk)
    try:
        services.finding_confirm(finding=finding, actor=request.user)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Triage confirmed: the gates count it as settled.")
    return _back(request, finding)
