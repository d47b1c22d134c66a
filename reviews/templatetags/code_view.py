"""Tags for the reviewer's view of the code on the submission, ticket and release pages:
a summary of what goes public with a link to the public tree, the changes since the
reader's approval, and the submission's commit moves. Each asks a fixed number of queries
and never raises: a commit not fetched yet reads as such."""

from __future__ import annotations

from django import template

from reviews import code, selectors

register = template.Library()


@register.inclusion_tag("reviews/partials/export_summary_body.html", takes_context=True)
def export_summary(context, submission=None, commit=None, component=None):
    """What goes public at ``commit`` (default: the submission's); on a release page give
    the component and the commit, and the latest submission the reader may see is used."""
    user = context.get("user")
    if submission is None and component is not None and user is not None:
        submission = (
            selectors.visible_submissions(user)
            .filter(component=component)
            .select_related("component__internal_repository")
            .order_by("-created_at")
            .first()
        )
    if submission is None:
        return {"summary": None, "submission": None}
    summary = code.export_summary(submission, commit)
    rows = []
    if summary.counts:
        labels = {"published": "published", "internal": "kept internal", "excluded": "left out"}
        rows = [{"fate": k, "label": labels[k], **summary.counts[k]} for k in labels]
    return {
        "summary": summary, "rows": rows, "submission": submission,
        "same_commit": summary.commit == submission.commit,
    }  # fmt: skip


@register.inclusion_tag("reviews/partials/changes_since_body.html", takes_context=True)
def changes_since_approval(context, ticket):
    """On a ticket: for each reviewer whose latest approval is on an earlier commit, a link
    to the diff from that commit to the one under review; the reader's own first."""
    user = context.get("user")
    submission = ticket.submission
    signoffs = list(ticket.signoffs.all())
    reviewers = {s.reviewer_id: s.reviewer for s in signoffs}
    rows = []
    for reviewer_id, reviewer in reviewers.items():
        last = code.last_approved_commit(signoffs, reviewer)
        if last is not None and last.commit != submission.commit:
            rows.append({"reviewer": reviewer, "signoff": last,
                         "mine": user is not None and reviewer_id == user.pk})  # fmt: skip
    rows.sort(key=lambda r: (not r["mine"], r["reviewer"].get_username()))
    return {"rows": rows, "submission": submission}


@register.inclusion_tag("reviews/partials/commit_moves_body.html")
def commit_moves(submission):
    return {"moves": code.commit_moves(submission), "submission": submission}
