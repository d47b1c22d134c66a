"""The evidence pages: a release's bundle and its parts, the download, building a preview."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F, OuterRef, Subquery
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from releases import rules, selectors
from releases.evidence import read, signing
from releases.jobs import evidence_request
from releases.models import EvidenceBundle, GitJob, Release


def _release_or_404(user, pk) -> Release:
    """The release, if ``user`` may read its evidence; else a 404 as for a release that
    does not exist."""
    try:
        release = selectors.release_detail(user, pk)
    except Release.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc
    if not rules.can_read_evidence(user, release.component):
        raise Http404("Not found, or not yours to see.")
    return release


@login_required
@require_http_methods(["GET", "HEAD"])
def evidence(request, pk, page=""):
    """The release's bundle (the final one, else the preview): its manifest, and one of
    its parts as a readable page (the NOTICE, the dependencies, the approvals)."""
    release = _release_or_404(request.user, pk)
    bundles = list(read.bundles(release))
    pages = {slug: (name, title) for slug, name, title in read.PAGES}
    if page and page not in pages:
        raise Http404("No such part.")
    chosen = request.GET.get("bundle")
    bundle = next((b for b in bundles if str(b.pk) == chosen), bundles[0] if bundles else None)
    context = {
        "release": release, "component": release.component, "bundles": bundles,
        "bundle": bundle, "pages": read.PAGES, "page": page,
    }  # fmt: skip
    if bundle is not None and page:
        name, context["page_title"] = pages[page]
        content = read.part(bundle, name)
        if page == "notice":
            context["notice"] = content.decode()
        elif page == "sbom":
            context["dependencies"] = read.dependency_rows(content)
        else:
            context["approvals"] = json.loads(content)
    return render(request, "releases/evidence.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def evidence_download(request, pk, bundle_pk):
    release = _release_or_404(request.user, pk)
    bundle = (
        EvidenceBundle.objects.filter(pk=bundle_pk, release=release)
        .select_related("release__component")
        .first()
    )
    if bundle is None:
        raise Http404("Not found, or not yours to see.")
    return download_response(bundle)


def download_response(bundle: EvidenceBundle) -> HttpResponse:
    response = HttpResponse(bytes(bundle.archive), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Digest"] = f"sha-256={bundle.sha256}"
    return response


@login_required
@require_POST
def evidence_build(request, pk):
    """Build a preview of a ready release's bundle, or (again) the final bundle of a
    published release that has none: owners and admins."""
    release = _release_or_404(request.user, pk)
    preview = release.state != "published"
    try:
        job, created = evidence_request(release=release, actor=request.user, preview=preview)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(release.get_absolute_url() + "#evidence")
    if created:
        messages.info(request, "Building the evidence bundle.")
    return redirect(release.get_absolute_url() + "#evidence")


@require_http_methods(["GET", "HEAD"])
def about(request):
    """What Gatehouse is, and the public keys that verify its evidence bundles."""
    key, trusted = signing.configured_keys()
    current = signing.key_id(signing.raw_public(key))
    keys = [
        {"key_id": kid, "public_key": signing.public_text(raw), "current": kid == current}
        for kid, raw in trusted.items()
    ]
    return render(request, "about.html", {"keys": keys})


#: Columns of the releases export.
CSV_COLUMNS = [
    "component", "version", "state", "commit", "published_at", "external_tag",
    "external_commit", "evidence", "bundle_sha256", "bundle_key_id", "bundle_built_at",
    "release_url",
]  # fmt: skip


def _cell(value) -> str:
    """A spreadsheet reads a cell starting with = + - @ (or a tab or return) as a formula:
    such text gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _evidence_status(release) -> str:
    if release.final_sha:
        return "bundle"
    if release.state == "published":
        return "failed" if release.evidence_job == GitJob.Status.FAILED else "missing"
    return "preview" if release.preview_at else "none"


class _Echo:
    def write(self, value):
        return value


@login_required
@require_http_methods(["GET", "HEAD"])
def releases_csv(request):
    """Every release the user may see, with its evidence status, as CSV (streamed)."""
    finals = EvidenceBundle.objects.filter(release=OuterRef("pk"), preview=False)
    previews = EvidenceBundle.objects.filter(release=OuterRef("pk"), preview=True)
    job = GitJob.objects.filter(release=OuterRef("pk"), kind=GitJob.Kind.EVIDENCE)
    rows = (
        selectors.visible_releases(request.user)
        .annotate(
            slug=F("component__slug"),
            final_sha=Subquery(finals.values("sha256")[:1]),
            final_key=Subquery(finals.values("key_id")[:1]),
            final_at=Subquery(finals.values("built_at")[:1]),
            preview_at=Subquery(previews.order_by("-built_at").values("built_at")[:1]),
            evidence_job=Subquery(job.order_by("-created_at", "-id").values("status")[:1]),
        )
        .order_by("component__slug", "created_at", "pk")
        .only(
            "pk", "version", "state", "commit", "published_at", "external_tag", "external_commit"
        )  # fmt: skip
    )
    base = request.build_absolute_uri("/").rstrip("/")
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(CSV_COLUMNS)
        for r in rows.iterator(chunk_size=2000):
            yield writer.writerow([_cell(v) for v in (
                r.slug, r.version, r.state, r.commit,
                r.published_at.isoformat() if r.published_at else "", r.external_tag,
                r.external_commit, _evidence_status(r), r.final_sha, r.final_key,
                r.final_at.isoformat() if r.final_at else "", base + r.get_absolute_url(),
            )])  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="gatehouse-releases.csv"'
    return response
