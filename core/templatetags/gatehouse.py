"""Template filters every page uses, so that people read words and human times.

* ``humantime``: one filter for every age and duration. A datetime reads as how long ago
  (or how far ahead) it is -- "just now", "12 min ago", "3 h ago", "2.4 days ago",
  "in 5 days"; a ``timedelta`` or a number of days reads as a length -- "40 min", "3 h",
  "2.4 days". Never "0.000002 days".
* ``words``: a stored code (``changes_requested``, ``export_pending``) as words.
* ``action_words``: an audit action code (``signoff.approve``) as a sentence fragment.
* ``state_icon``: the shape that goes with a state on a chip, so that a state is never
  told by colour alone.
* ``nav_link``: a navigation link that says whether it is the current page.

Core knows nothing of the apps above it: the codes are mapped here as plain strings.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def _number(value: float) -> str:
    """One decimal, without a trailing ".0"."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def human_duration(seconds: float) -> str:
    """A length of time for people: "under a minute", "12 min", "3 h", "2.4 days", "40 days"."""
    seconds = abs(seconds)
    if seconds < MINUTE:
        return "under a minute"
    if seconds < HOUR:
        return f"{round(seconds / MINUTE)} min"
    if seconds < DAY:
        hours = round(seconds / HOUR)
        return "1 day" if hours == 24 else f"{hours} h"
    days = seconds / DAY
    if days < 10:
        text = _number(days)
        return f"{text} day" if text == "1" else f"{text} days"
    return f"{round(days)} days"


@register.filter
def humantime(value, now=None) -> str:
    """How long ago (or ahead) a datetime is, or how long a duration (a ``timedelta`` or a
    number of days) lasts. Empty for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        now = now if isinstance(now, datetime) else timezone.now()
        seconds = (now - value).total_seconds()
        if abs(seconds) < MINUTE:
            return "just now"
        text = human_duration(seconds)
        return f"{text} ago" if seconds > 0 else f"in {text}"
    if isinstance(value, timedelta):
        return human_duration(value.total_seconds())
    try:
        days = float(value)
    except (TypeError, ValueError):
        return str(value)
    return human_duration(days * DAY)


# Codes whose plain spelling would mislead or read badly.
WORDS = {
    "open": "needs review",
    "in_sync": "in sync",
    "export_pending": "export pending",
    "backport_needed": "back-port needed",
    "changes_requested": "changes requested",
    "request_changes": "requested changes",
    "false_positive": "false positive",
    "accepted_risk": "accepted risk",
    "pass": "passes",
    "blocked": "blocked",
    "waived": "waived",
    "scan_finished": "scan finished",
    "beat": "scheduled",
    "pmc": "PMC member",
}


@register.filter
def words(code) -> str:
    """A stored code as words: ``export_pending`` → "export pending"."""
    if code is None:
        return ""
    code = str(code)
    if code in WORDS:
        return WORDS[code]
    return code.replace("_", " ").replace(".", " ").replace("-", " ").strip()


# Audit actions: "<object>.<verb>". Known ones read as a phrase; others by their words.
ACTIONS = {
    "submission.created": "submitted",
    "submission.state_changed": "changed the submission's state",
    "submission.commit_moved": "moved the submission to a new commit",
    "submission.scope_changed": "changed the review scope",
    "submission.resubmitted": "resubmitted",
    "ticket.state_changed": "changed a review's state",
    "signoff.approve": "approved",
    "signoff.request_changes": "requested changes",
    "signoff.reject": "rejected",
    "signoff.stale_by_finding": "marked sign-offs stale (new finding)",
    "comment.created": "commented",
    "component.created": "registered the component",
    "component.owner_added": "added an owner",
    "component.role_changed": "changed a community role",
    "component.scope_changed": "changed what is published",
    "component.stage_changed": "changed the stage",
    "finding.triaged": "triaged a finding",
    "finding.confirmed": "confirmed a triage",
    "release.created": "created a release",
    "release.published": "published a release",
    "release.cancelled": "cancelled a release",
    "release.ready": "release became ready",
    "release.blocked": "release became blocked",
    "waiver.granted": "granted a waiver",
    "waiver.revoked": "revoked a waiver",
    "waiver.expired": "a waiver expired",
    "repository.bound": "registered a repository",
    "repository.unbound": "unbound a repository",
    "backport.created": "back-ported a community commit",
    "backport.conflict": "tried a back-port (conflicts)",
    "policy.updated": "updated the scan policy",
    "baseline.imported": "imported a triage baseline",
    "api_token.created": "made an API token",
    "api_token.revoked": "revoked an API token",
    "admin.added": "added in the admin",
    "admin.changed": "changed in the admin",
    "admin.deleted": "deleted in the admin",
}


@register.filter
def action_words(code) -> str:
    """An audit action code as words: ``signoff.approve`` → "approved"."""
    if not code:
        return ""
    code = str(code)
    if code in ACTIONS:
        return ACTIONS[code]
    subject, _, verb = code.partition(".")
    return f"{words(subject)} {words(verb)}".strip()


ICONS = {
    "✓": {"approved", "released", "ready", "pass", "published", "done", "succeeded", "fixed",
          "in_sync", "created", "current", "active", "passed"},
    "✕": {"rejected", "blocked", "blocking", "failed", "diverged", "conflict", "stale",
          "refused"},
    "!": {"changes_requested", "warning", "incomplete", "export_pending", "backport_needed",
          "overdue", "confirmed"},
    "◐": {"in_review", "running", "queued", "pending", "waived"},
    "○": {"open", "draft"},
    "–": {"withdrawn", "cancelled", "closed", "info", "false_positive", "accepted_risk",
          "superseded", "archived", "ignored", "dismissed"},
}  # fmt: skip
STATE_ICON = {state: icon for icon, states in ICONS.items() for state in states}


@register.filter
def state_icon(state) -> str:
    """The shape shown before a state's words on a chip."""
    return STATE_ICON.get(str(state), "•")


@register.simple_tag(takes_context=True)
def nav_link(context, url_name: str, label: str, *sections: str):
    """A link of the main navigation. The page it names gets ``aria-current="page"``; a
    page below it (or under one of ``sections``, path prefixes such as "/tickets/") gets
    ``aria-current="true"``, so that the navigation always shows where you are."""
    href = reverse(url_name)
    request = context.get("request")
    path = request.path if request is not None else ""
    current = ""
    if path == href:
        current = "page"
    elif (href != "/" and path.startswith(href)) or any(path.startswith(s) for s in sections):
        current = "true"
    if current:
        return format_html('<a href="{}" aria-current="{}">{}</a>', href, current, label)
    return format_html('<a href="{}">{}</a>', href, label)
