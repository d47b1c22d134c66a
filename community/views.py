"""The community's pages: the calendar and its events, the iCalendar feed, the digest
archives (pages, Markdown, Atom) and the community section of a component's page.

Everybody signed in sees the calendar, without the events linked only to components
they may not see. A component's digests are for those who may see the component (404
for anybody else); the portfolio's is for everybody, cut down to what each may see.
Calendar and feed readers cannot sign in: the feeds also take ``?token=``, a person's
private feed address (community.services), which reads as that person.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from community import digest as digests
from community import health as community_health
from community import services
from community.forms import EventForm, add_event_errors
from community.models import CalendarFeed, DigestSubscription, Event, WeeklyDigest
from governance.models import Component
from governance.selectors import component_detail, sees_every_component, visible_components

ARCHIVE_PAGE_SIZE = 26
PAST_EVENTS_SHOWN = 100
FEED_ITEMS = 26
ICS_PAST_DAYS = 365


def _component_or_404(user, slug) -> Component:
    try:
        return component_detail(user, slug)
    except Component.DoesNotExist as exc:
        raise Http404("Not found, or not yours to see.") from exc


# --------------------------------------------------------------------------- events: reads


def visible_events(user):
    """The events ``user`` may see: those linked to no component, and those linked to a
    component they may see; with their components (prefetched, by name)."""
    events = Event.objects.prefetch_related(
        Prefetch("components", queryset=Component.objects.order_by("name"))
    )
    if sees_every_component(user):
        return events
    return events.filter(
        Q(components__isnull=True) | Q(components__in=visible_components(user))
    ).distinct()


def _shown_components(user, events: list[Event]) -> None:
    """Give each event ``shown_components``: the components of it ``user`` may see (an
    event also linked to a component they may not see does not name it). One query."""
    if sees_every_component(user):
        for event in events:
            event.shown_components = list(event.components.all())
        return
    linked = {c.pk for e in events for c in e.components.all()}
    visible = set(visible_components(user).filter(pk__in=linked).values_list("pk", flat=True))
    for event in events:
        event.shown_components = [c for c in event.components.all() if c.pk in visible]


def _by_month(events: list[Event]) -> list[tuple[str, list[Event]]]:
    """Events grouped by the month they start in, where they happen."""
    groups: list[tuple[str, list[Event]]] = []
    for event in events:
        label = event.starts_at.astimezone(ZoneInfo(event.time_zone)).strftime("%B %Y")
        if groups and groups[-1][0] == label:
            groups[-1][1].append(event)
        else:
            groups.append((label, [event]))
    return groups


def _feed_address(user) -> str:
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is None:
        return ""
    return digests.absolute(reverse("community:events-ics")) + f"?token={services.feed_token(feed)}"


@login_required
@require_safe
def calendar(request):
    """Upcoming and past events, by month, each in its own time zone and in UTC;
    ``?component=<slug>`` for one component's."""
    now = timezone.now()
    events = visible_events(request.user)
    component = None
    if request.GET.get("component"):
        component = _component_or_404(request.user, request.GET["component"])
        events = events.filter(components=component)
    upcoming = list(events.filter(ends_at__gte=now).order_by("starts_at", "pk"))
    past = list(events.filter(ends_at__lt=now).order_by("-starts_at", "-pk")[:PAST_EVENTS_SHOWN])
    _shown_components(request.user, upcoming + past)
    return render(
        request,
        "community/calendar.html",
        {
            "upcoming": _by_month(upcoming),
            "past": _by_month(past),
            "component": component,
            "components": visible_components(request.user).filter(events__isnull=False)
            .distinct().order_by("name"),
            "can_create": services.can_create_event(request.user),
            "feed_address": _feed_address(request.user),
        },
    )  # fmt: skip


def _event_or_404(user, pk) -> Event:
    event = visible_events(user).filter(pk=pk).first()
    if event is None:
        raise Http404("Not found, or not yours to see.")
    return event


@login_required
@require_safe
def event_detail(request, pk):
    event = _event_or_404(request.user, pk)
    _shown_components(request.user, [event])
    return render(
        request,
        "community/event_detail.html",
        {"event": event, "can_manage": services.can_manage_event(request.user, event)},
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def event_create(request):
    if not services.can_create_event(request.user):
        raise PermissionDenied(
            "Events are held by the owners and PMC members of components, and the office."
        )
    form = EventForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(actor=request.user, **form.service_values())
        except ValidationError as exc:
            add_event_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("components", str(exc))
        else:
            messages.success(request, f"Event “{event.title}” created.")
            return redirect(event)
    return render(
        request,
        "community/event_form.html",
        {"form": form, "event": None},
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def event_edit(request, pk):
    event = _event_or_404(request.user, pk)
    if not services.can_manage_event(request.user, event):
        raise PermissionDenied("Only those who manage this event's components edit it.")
    form = EventForm(request.POST or None, user=request.user, event=event)
    if request.method == "POST" and form.is_valid():
        values = form.service_values()
        components = values.pop("components")
        try:
            event = services.event_update(
                event=event, actor=request.user, components=components, **values
            )
        except ValidationError as exc:
            add_event_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error("components", str(exc))
        else:
            messages.success(request, "Event saved.")
            return redirect(event)
    return render(
        request,
        "community/event_form.html",
        {"form": form, "event": event},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def event_delete(request, pk):
    event = _event_or_404(request.user, pk)
    if not services.can_manage_event(request.user, event):
        raise PermissionDenied("Only those who manage this event's components delete it.")
    services.event_delete(event=event, actor=request.user)
    messages.success(request, f"Event “{event.title}” deleted.")
    return redirect("community:calendar")


@login_required
@require_POST
def feed_address(request):
    """Make (or make anew) or turn off the caller's private feed address."""
    if request.POST.get("action") == "revoke":
        services.feed_address_revoke(user=request.user)
        messages.success(request, "Your feed address is off: calendars using it stop updating.")
    else:
        services.feed_address_make(user=request.user)
        messages.success(request, "Your private feed address is below. Keep it to yourself.")
    return redirect(reverse("community:calendar") + "#feed")


# --------------------------------------------------------------------------- iCalendar


def _feed_reader(request):
    """Who a feed is for: the owner of ``?token=`` (404 for an unknown one), else the
    signed-in person; None when neither (the caller sends them to sign in)."""
    token = request.GET.get("token")
    if token is not None:
        user = services.feed_user(token)
        if user is None:
            raise Http404("Unknown or revoked feed address.")
        return user
    return request.user if request.user.is_authenticated else None


def ics_text(value: str) -> str:
    """RFC 5545 TEXT: backslashes, semicolons, commas and line breaks escaped."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    for raw, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\n", "\\n")):
        value = value.replace(raw, escaped)
    return value


def ics_fold(line: str) -> str:
    """A content line folded at 75 octets (continuations start with one space), never
    inside a UTF-8 character."""
    if len(line.encode()) <= 75:
        return line
    parts, current, size = [], [], 0
    for ch in line:
        width = len(ch.encode())
        if size + width > 75:
            parts.append("".join(current))
            current, size = [ch], 1 + width
        else:
            current.append(ch)
            size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _ics_time(value) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def ics_calendar(events, *, host: str) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Gatehouse//Community events//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Gatehouse community events",
    ]
    for event in events:
        page = digests.absolute(event.get_absolute_url())
        details = [event.description.strip(), event.report.strip() and
                   f"Report: {event.report.strip()}", f"Details: {page}"]  # fmt: skip
        lines += [
            "BEGIN:VEVENT",
            f"UID:event-{event.pk}@{host}",
            f"DTSTAMP:{_ics_time(event.updated_at)}",
            f"LAST-MODIFIED:{_ics_time(event.updated_at)}",
            f"DTSTART:{_ics_time(event.starts_at)}",
            f"DTEND:{_ics_time(event.ends_at)}",
            f"SUMMARY:{ics_text(event.title)}",
            f"CATEGORIES:{ics_text(event.get_kind_display())}",
        ]
        if event.place:
            lines.append(f"LOCATION:{ics_text(event.place)}")
        lines.append(f"URL:{event.link or page}")
        lines.append(f"DESCRIPTION:{ics_text(chr(10).join(d for d in details if d))}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(ics_fold(line) + "\r\n" for line in lines)


@require_safe
def events_ics(request):
    """The events the reader may see, from a year back on, as an iCalendar feed."""
    user = _feed_reader(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    since = timezone.now() - timedelta(days=ICS_PAST_DAYS)
    events = visible_events(user).filter(ends_at__gte=since).order_by("starts_at", "pk")[:1000]
    host = urlsplit(settings.GATEHOUSE_BASE_URL).hostname or "gatehouse"
    response = HttpResponse(
        ics_calendar(events, host=host), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="gatehouse-events.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


# --------------------------------------------------------------------------- digests


def _archive_component(user, slug):
    return None if slug is None else _component_or_404(user, slug)


def _digests_of(component):
    return WeeklyDigest.objects.filter(component=component).order_by("-week_start")


def _visible_facts(user, rows: list[WeeklyDigest]) -> list[dict]:
    """Each digest's facts as ``user`` may read them (one query for all of them)."""
    if not rows:
        return []
    slugs = digests.visible_slugs(user, *(d.facts for d in rows))
    return [digests.filter_facts(d.facts, slugs) for d in rows]


@login_required
@require_safe
def digest_list(request, slug=None):
    """A digest archive, newest week first, with the subscribe button and the Atom feed."""
    component = _archive_component(request.user, slug)
    page = Paginator(_digests_of(component), ARCHIVE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for row, facts in zip(rows, _visible_facts(request.user, rows), strict=True):
        row.counts = digests.counts(facts)
        row.url = digests.digest_url(row, slug=slug)
    subscribed = DigestSubscription.objects.filter(user=request.user, component=component).exists()
    return render(
        request,
        "community/digest_list.html",
        {
            "component": component,
            "page": page,
            "rows": rows,
            "subscribed": subscribed,
            "released": component is None or digests.is_released(component),
            "feed_url": digests.feed_url(slug),
            "feed_address": _feed_address(request.user),
        },
    )


def _digest_or_404(user, week: str, slug):
    component = _archive_component(user, slug)
    try:
        monday = digests.parse_week(week)
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    found = _digests_of(component).filter(week_start=monday).select_related("component").first()
    if found is None:
        raise Http404("No digest for that week.")
    return found


@login_required
@require_safe
def digest_detail(request, week, slug=None):
    found = _digest_or_404(request.user, week, slug)
    facts = digests.facts_for(request.user, found)
    return render(
        request,
        "community/digest_detail.html",
        {
            "digest": found,
            "component": found.component,
            "body": digests.render_html(facts),
            "md_url": digests.digest_url(found, slug=slug, markdown=True),
            "archive": digests.digest_archive_url(slug),
        },
    )


@login_required
@require_safe
def digest_markdown(request, week, slug=None):
    found = _digest_or_404(request.user, week, slug)
    response = HttpResponse(
        digests.markdown_for(request.user, found), content_type="text/markdown; charset=utf-8"
    )
    name = f"{found.component.slug if found.component else 'portfolio'}-digest-{found.week}.md"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


@login_required
@require_POST
def digest_subscription(request, slug=None):
    component = _archive_component(request.user, slug)
    if request.POST.get("action") == "unsubscribe":
        services.digest_unsubscribe(user=request.user, component=component)
        messages.success(request, "You will no longer get this digest by e-mail.")
    else:
        services.digest_subscribe(user=request.user, component=component)
        messages.success(request, "Subscribed: each Monday's digest comes by e-mail.")
    return redirect(digests.digest_archive_url(slug))


@require_safe
def digest_feed(request, slug=None):
    """The archive as an Atom feed, each entry the whole digest as its reader may see it."""
    user = _feed_reader(request)
    if user is None:
        return redirect_to_login(request.get_full_path())
    component = _archive_component(user, slug)
    rows = list(_digests_of(component).select_related("component")[:FEED_ITEMS])
    archive = digests.absolute(digests.digest_archive_url(slug))
    name = component.name if component else "Portfolio"
    feed = Atom1Feed(
        title=f"{name} community digest",
        link=archive,
        description=f"What happened each week in {name}'s community.",
        feed_url=digests.absolute(digests.feed_url(slug)),
        feed_guid=archive,
        language="en",
        author_name="Gatehouse",
    )
    base = settings.GATEHOUSE_BASE_URL.rstrip("/")
    for row, facts in zip(rows, _visible_facts(user, rows), strict=True):
        link = digests.absolute(digests.digest_url(row, slug=slug))
        feed.add_item(
            title=facts["title"],
            link=link,
            description=digests.render_html(facts, base=base),
            unique_id=link,
            unique_id_is_permalink=True,
            pubdate=row.built_at,
            updateddate=row.built_at,
        )
    response = HttpResponse(
        feed.writeString("utf-8"), content_type="application/atom+xml; charset=utf-8"
    )
    response["Cache-Control"] = "private, max-age=300"
    return response


# --------------------------------------------------------------------------- component page


@login_required
@require_safe
def component_community(request, slug):
    """The community of one component: its health charts, events and latest digest; a
    fragment for the component page (htmx), or a page."""
    component = _component_or_404(request.user, slug)
    figures = community_health.component_health(component)
    now = timezone.now()
    events = Event.objects.filter(components=component).prefetch_related(
        Prefetch("components", queryset=Component.objects.order_by("name"))
    )
    upcoming = list(events.filter(ends_at__gte=now).order_by("starts_at", "pk")[:5])
    past = list(events.filter(ends_at__lt=now).order_by("-starts_at", "-pk")[:5])
    _shown_components(request.user, upcoming + past)
    latest = _digests_of(component).first()
    context = {
        "component": component,
        "health": figures,
        "charts": community_health.health_charts(figures) if figures.has_data else [],
        "backport_median": community_health.format_hours(figures.backport_median_hours),
        "backport_p90": community_health.format_hours(figures.backport_p90_hours),
        "top1": digests.percent(figures.top1_share),
        "top3": digests.percent(figures.top3_share),
        "upcoming": upcoming,
        "past": past,
        "latest": latest,
        "latest_url": digests.digest_url(latest, slug=slug) if latest else "",
        "released": digests.is_released(component),
    }
    template = "community/partials/component_community.html"
    if not request.htmx:
        template = "community/component_community.html"
    return render(request, template, context)
