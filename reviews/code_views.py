"""Pages of the reviewer's view of the code: the public tree of the reviewed commit, one
file at that commit, the changes between two commits the submission was reviewed at, and
a finding's line. Same access as the submission itself: a submission the user may not see
is a 404, like one that does not exist."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

import vcs
from reviews import code, selectors
from reviews.models import Submission
from scans.models import Finding
from scans.selectors import visible_scans
from vcs import plan as export

FATE_LABELS = {
    export.PUBLISHED: "Published",
    export.INTERNAL: "Kept internal",
    export.EXCLUDED: "Left out",
}


def _submission_or_404(user, pk) -> Submission:
    try:
        return (
            selectors.visible_submissions(user)
            .select_related("component__internal_repository", "repository")
            .get(pk=pk)
        )
    except Submission.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc


def _unavailable(request, submission, message, *, status=200):
    return render(
        request, "reviews/code_unavailable.html",
        {"submission": submission, "component": submission.component, "message": message},
        status=status,
    )  # fmt: skip


def file_url(submission_id: int, path: str, line: int | None = None) -> str:
    url = reverse("reviews:submission-file", kwargs={"pk": submission_id})
    url += "?" + urlencode({"path": path})
    return url + (f"#L{line}" if line else "")


@login_required
def submission_tree(request, pk):
    submission = _submission_or_404(request.user, pk)
    only_findings = request.GET.get("filter") == "findings"
    try:
        tree = code.public_tree(submission, only_findings=only_findings)
    except code.CodeUnavailable as exc:
        return _unavailable(request, submission, str(exc))
    counts = [
        {"fate": fate, "label": FATE_LABELS[fate], **tree.counts[fate]} for fate in export.FATES
    ]
    return render(
        request,
        "reviews/submission_tree.html",
        {
            "submission": submission, "component": submission.component, "tree": tree,
            "counts": counts, "fate_labels": FATE_LABELS,
        },
    )  # fmt: skip


@login_required
def submission_file(request, pk):
    submission = _submission_or_404(request.user, pk)
    path = request.GET.get("path", "")
    if not path or len(path) > 4096:
        raise Http404("Give the path of a file of the reviewed commit.")
    try:
        view = code.file_view(submission, path)
    except vcs.PathNotFound as exc:
        raise Http404("No such file at the reviewed commit.") from exc
    except code.CodeUnavailable as exc:
        return _unavailable(request, submission, str(exc))
    return render(
        request,
        "reviews/submission_file.html",
        {
            "submission": submission, "component": submission.component, "view": view,
            "fate_label": FATE_LABELS[view.planned.fate],
        },
    )  # fmt: skip


@login_required
def submission_diff(request, pk):
    submission = _submission_or_404(request.user, pk)
    old = request.GET.get("from", "")
    new = request.GET.get("to", "") or submission.commit
    try:
        diff = code.diff_view(submission, old, new)
    except code.BadCommit as exc:
        return _unavailable(request, submission, str(exc), status=400)
    except code.CodeUnavailable as exc:
        return _unavailable(request, submission, str(exc))
    for item in diff.files:
        item.fate_label = FATE_LABELS.get(item.fate, item.fate)
    return render(
        request,
        "reviews/submission_diff.html",
        {
            "submission": submission, "component": submission.component, "view": diff,
            "fate_labels": FATE_LABELS, "is_current": new == submission.commit,
        },
    )  # fmt: skip


@login_required
def finding_line(request, pk):
    """A finding's line in the file view, of the latest submission the user may see at the
    finding's commit."""
    finding = (
        Finding.objects.filter(pk=pk, scan__in=visible_scans(request.user))
        .select_related("scan")
        .first()
    )
    if finding is None:
        raise Http404("Not found, or not yours to see.")
    submission = (
        selectors.visible_submissions(request.user)
        .filter(component=finding.scan.component_id, commit=finding.scan.commit)
        .order_by("-created_at")
        .first()
    )
    if submission is None or not finding.path:
        raise Http404("No submission under review shows this commit.")
    return redirect(file_url(submission.pk, finding.path, finding.line or None))
