"""Who is told about an audit event, and what they read.

One function per action (or action family) turns an event into messages: a kind, the
people it is for, a title, a link, and the check that each of them may see what it links
to. The outbox applies the checks, drops the actor (nobody is told of their own act) and
keeps one message per person and event, the first that names them: so a mention, listed
before the comment it is in, wins over "a comment on your submission".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldError
from django.db.models import Model

from core.models import AuditEvent
from governance.enums import CommunityRole
from governance.models import Component, Department
from governance.rules import can_view_component, is_pmc
from notifications.enums import Kind
from reviews import rules as review_rules
from reviews.enums import Decision
from reviews.models import Comment, ReviewTicket, SignOff, Submission

User = get_user_model()
T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sight:
    """Who may open what a message links to: a rule of (user, obj). Named by the rule and
    the object, so a drain asks it once per person and object however many events share
    it (a permission check is the costliest part of fanning an event out)."""

    rule: Callable[[object, Model], bool]
    obj: Model

    @property
    def key(self) -> tuple:
        return (self.rule.__name__, self.obj._meta.label_lower, self.obj.pk)

    def __call__(self, user) -> bool:
        return self.rule(user, self.obj)


@dataclass
class Message:
    kind: str
    users: Iterable
    title: str
    url: str
    can_see: Sight
    body: str = ""


Handler = Callable[[AuditEvent, Model], list[Message]]
HANDLERS: dict[str, Handler] = {}
#: What a handler reads through its object, fetched with the object in one query.
RELATED: dict[str, tuple[str, ...]] = {}
_MENTION = re.compile(r"(?<![\w@])@([\w.+-]*[\w+-])")


def handles(*actions: str, related: tuple[str, ...] = ()):
    def register(handler: Handler) -> Handler:
        for action in actions:
            HANDLERS[action] = handler
            RELATED[action] = related
        return handler

    return register


def event_object(event: AuditEvent, related: tuple[str, ...] = ()) -> Model | None:
    """The object an event is about (with ``related`` joined in), or None when it is gone
    or of an unknown model."""
    try:
        model = apps.get_model(event.object_type)
    except (LookupError, ValueError):
        return None
    objects = model._default_manager.filter(pk=event.object_id)
    try:
        return objects.select_related(*related).first() if related else objects.first()
    except FieldError:  # the event names another model than its handler reads
        return objects.first()


def messages_for(event: AuditEvent) -> list[Message]:
    key = event.action if event.action in HANDLERS else event.action.split(".")[0] + ".*"
    handler = HANDLERS.get(key)
    if handler is None:
        return []
    obj = event_object(event, RELATED[key])
    if obj is None:
        return []
    try:
        return handler(event, obj)
    except Exception:
        # One event that cannot be told (a handler's bug, data it did not expect) must not
        # stop the outbox for every later one: it is logged, and the drain goes on.
        log.exception("outbox: event #%s (%s) could not be fanned out", event.seq, event.action)
        return []


def mentioned_usernames(text: str) -> list[str]:
    """``@name`` in a text, in order, once each (an e-mail address is not a mention)."""
    seen: dict[str, None] = {}
    for name in _MENTION.findall(text):
        seen.setdefault(name, None)
    return list(seen)


# --------------------------------------------------------------------------- people


_drain_memo: ContextVar[dict | None] = ContextVar("fanout_drain_memo", default=None)


@contextmanager
def one_drain():
    """Within one drain (one transaction), what is read about people is read once: the
    people of an object, who may see it, each person's channel. A hundred comments on a
    submission ask for its stakeholders and check its readers once."""
    token = _drain_memo.set({})
    try:
        yield
    finally:
        _drain_memo.reset(token)


def drain_memo() -> dict:
    """The current drain's memo (a throwaway one outside a drain)."""
    memo = _drain_memo.get()
    return {} if memo is None else memo


def remembered(key: tuple, compute: Callable[[], T]) -> T:
    memo = drain_memo()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _active(queryset) -> list:
    return list(queryset.filter(is_active=True))


def reviewers(department: Department) -> list:
    return remembered(
        ("reviewers", department.pk), lambda: _active(department.reviewer_group.user_set.all())
    )


def _stakeholders(submission: Submission) -> list:
    """The submitter and the component's owners."""
    return remembered(
        ("stakeholders", submission.pk),
        lambda: _active(
            User.objects.filter(pk=submission.submitted_by_id)
            | User.objects.filter(owned_components=submission.component_id)
        ),
    )


def _component_people(component: Component, *roles: str) -> list:
    people = User.objects.filter(owned_components=component)
    if roles:
        people = people | User.objects.filter(
            component_roles__component=component, component_roles__role__in=roles
        )
    return _active(people.distinct())


def _review_message(ticket: ReviewTicket, title: str) -> Message:
    """A ticket waiting for its department. The submitter and the owners are not asked:
    they may not judge their own submission."""
    submission = ticket.submission
    stake = {submission.submitted_by_id, *submission.component.owners.values_list("pk", flat=True)}
    return Message(
        kind=Kind.REVIEW,
        users=[u for u in reviewers(ticket.department) if u.pk not in stake],
        title=title,
        url=ticket.get_absolute_url(),
        can_see=Sight(review_rules.can_view_ticket, ticket),
        body=f"Commit {submission.commit[:10]} on {submission.branch}.\n\n"
        f"Justification:\n{submission.justification}\n\n"
        f"Review it within {ticket.department.sla_days} days.",
    )


# --------------------------------------------------------------------------- reviews

_TICKET = ("submission__component", "department__reviewer_group")
_SIGNOFF = ("ticket__submission__component", "ticket__department")
_COMMENT = ("submission__component", "ticket__department")


@handles("submission.created")
def _submission_created(event: AuditEvent, submission: Submission) -> list[Message]:
    tickets = submission.tickets.select_related("department__reviewer_group")
    return [
        _review_message(ticket, f"{ticket.department} review needed: {submission.component}")
        for ticket in tickets
    ]


@handles("ticket.state_changed", related=_TICKET)
def _ticket_state_changed(event: AuditEvent, ticket: ReviewTicket) -> list[Message]:
    if event.after.get("state") != "open":
        return []
    reason = event.after.get("reason")
    title = f"{ticket.department} review needed again: {ticket.submission.component}"
    message = _review_message(ticket, title)
    if reason:
        message.body = f"Why: {reason}\n\n{message.body}"
    return [message]


@handles(*(f"signoff.{d}" for d in Decision.values), related=_SIGNOFF)
def _signoff(event: AuditEvent, signoff: SignOff) -> list[Message]:
    ticket = signoff.ticket
    submission = ticket.submission
    comment = f"\n\nComment:\n{signoff.comment}" if signoff.comment else ""
    return [
        Message(
            kind=Kind.DECISION,
            users=_stakeholders(submission),
            title=f"{ticket.department}: {signoff.get_decision_display().lower()} "
            f"— {submission.component}",
            url=submission.get_absolute_url(),
            can_see=Sight(review_rules.can_view_submission, submission),
            body=f"{event.actor_name} ({ticket.department}) decided "
            f"'{signoff.get_decision_display()}' on commit {signoff.commit[:10]}.{comment}",
        )
    ]


@handles("comment.created", related=_COMMENT)
def _comment(event: AuditEvent, comment: Comment) -> list[Message]:
    submission = comment.submission
    if comment.ticket_id:
        can_see = Sight(review_rules.can_view_ticket, comment.ticket)
        url = comment.ticket.get_absolute_url()
    else:
        can_see = Sight(review_rules.can_view_submission, submission)
        url = submission.get_absolute_url()
    names = mentioned_usernames(comment.body)
    where = f"{comment.ticket.department} review of " if comment.ticket_id else ""
    messages = []
    if names:
        messages.append(
            Message(
                kind=Kind.MENTION,
                users=_active(User.objects.filter(username__in=names)),
                title=f"{event.actor_name} mentioned you on the {where}{submission.component}",
                url=url,
                can_see=can_see,
                body=comment.body,
            )  # fmt: skip
        )
    messages.append(
        Message(
            kind=Kind.COMMENT,
            users=_stakeholders(submission),
            title=f"{event.actor_name} commented on the {where}{submission.component}",
            url=url,
            can_see=can_see,
            body=comment.body,
        )  # fmt: skip
    )
    return messages


@handles("ticket.overdue", related=_TICKET)
def _overdue(event: AuditEvent, ticket: ReviewTicket) -> list[Message]:
    level = event.after.get("level", 1)
    days = event.after.get("days")
    department = ticket.department
    people = reviewers(department) if level == 1 else _active(department.leads.all())
    waited = f" has waited {days} days" if days is not None else " is overdue"
    return [
        Message(
            kind=Kind.OVERDUE,
            users=people,
            title=f"{department} review of {ticket.submission.component}{waited}",
            url=ticket.get_absolute_url(),
            # A lead is told only when they may open the ticket (a reviewer, or the office).
            can_see=Sight(review_rules.can_view_ticket, ticket),
            body=f"The department's SLA is {department.sla_days} days"
            + (" (twice that has passed)." if level > 1 else "."),
        )
    ]


# --------------------------------------------------------------------------- releases


@handles("release.published")
def _release_published(event: AuditEvent, release) -> list[Message]:
    component = release.component
    return [
        Message(
            kind=Kind.RELEASE,
            users=_component_people(component, *CommunityRole.values),
            title=f"{component} {release.version} is published",
            url=release.get_absolute_url(),
            can_see=Sight(can_view_component, component),
        )
    ]


@handles("waiver.expired")
def _waiver_expired(event: AuditEvent, waiver) -> list[Message]:
    component = waiver.component
    people = _component_people(component) + _active(User.objects.filter(pk=waiver.owner_id))
    subject = waiver.gate or waiver.finding_label or "a finding"
    return [
        Message(
            kind=Kind.WAIVER,
            users=people,
            title=f"A waiver on {component} expired ({subject})",
            url=component.get_absolute_url(),
            can_see=Sight(can_view_component, component),
            body=waiver.reason,
        )
    ]


@handles("alert.opened")
def _alert_opened(event: AuditEvent, alert) -> list[Message]:
    component = Component.objects.filter(pk=event.after.get("component")).first()
    if component is None:
        return []
    department = Department.objects.filter(slug=event.after.get("department", "")).first()
    people = reviewers(department) if department else []
    people += _component_people(component)
    url = alert.get_absolute_url() if hasattr(alert, "get_absolute_url") else ""
    return [
        Message(
            kind=Kind.ALERT,
            users=people,
            title=f"External repository alert on {component}: {event.object_repr}",
            url=url or component.get_absolute_url(),
            can_see=Sight(can_view_component, component),
            body=f"Commit {str(event.after.get('commit', ''))[:10]}, "
            f"{event.after.get('path', '')}.",
        )
    ]


# --------------------------------------------------------------------------- community


def _vote_component(event: AuditEvent) -> Component | None:
    return Component.objects.filter(pk=event.after.get("component")).first()


@handles("vote.opened")
def _vote_opened(event: AuditEvent, vote) -> list[Message]:
    component = _vote_component(event)
    if component is None:
        return []
    return [
        Message(
            kind=Kind.VOTE,
            users=_active(
                User.objects.filter(
                    component_roles__component=component, component_roles__role=CommunityRole.PMC
                )
            ),
            title=f"Vote on {component}: {event.object_repr}",
            url=vote.get_absolute_url() if hasattr(vote, "get_absolute_url") else "",
            can_see=Sight(is_pmc, component),
        )
    ]


@handles("vote.closed", "vote.withdrawn")
def _vote_closed(event: AuditEvent, vote) -> list[Message]:
    component = _vote_component(event) or getattr(vote, "component", None)
    if component is None:
        return []
    result = event.after.get("result") or event.action.split(".")[1]
    people = User.objects.filter(
        component_roles__component=component, component_roles__role=CommunityRole.PMC
    )
    candidate = getattr(vote, "candidate_id", None)
    if candidate:
        people = people | User.objects.filter(pk=candidate)
    return [
        Message(
            kind=Kind.VOTE,
            users=_active(people.distinct()),
            title=f"Vote on {component} {result}: {event.object_repr}",
            url=vote.get_absolute_url() if hasattr(vote, "get_absolute_url") else "",
            can_see=Sight(can_view_component, component),
        )
    ]
