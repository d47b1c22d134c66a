"""The simulated people of the load benchmark (benchmarks/load.py), as locust users.

benchmarks/load.py runs this file in a process of its own (locust's gevent monkey-patching
stays out of the Django process that prepares and checks the database):

    .venv/bin/python benchmarks/locustfile.py --host http://127.0.0.1:PORT --users 50 \\
        --spawn-rate 10 --seconds 60 --out result.json

with GATEHOUSE_LOAD_CONFIG naming the JSON file load.py wrote (accounts, their password,
API tokens, the local repositories left to submit). The users, each class in proportion
to its weight:

* Reviewer (5): signs in through the login form, then reads their department's page
  (``/departments/<slug>/``), opens its tickets, their inbox (``/queue/``) and the
  portfolio, and now and then signs a ticket off: it reloads the ticket and posts the
  decision form with the whole checklist answered, approving four times in five and
  otherwise answering one question "no" and requesting changes. A ticket they approved
  already, or one that takes no decision any more, is left alone after the reload (no
  POST, not an error).
* Engineer (2): signs in, submits a new component from a local git repository of the pool
  (the submit form, then the submission page it redirects to), reads their submissions,
  and answers requested changes (the resubmit form) -- which is what keeps tickets
  coming back to the reviewers besides the new submissions.
* ApiClient (3): a CI job or dashboard screen with a personal API token, polling
  ``/api/dashboard/`` and ``/api/releases/``.

Every request is checked: a status other than the one expected, a redirect to the sign-in
page, the sign-in page itself, a form answered with errors (the form's message becomes
the error's text) or an API answer that is not the expected JSON counts as an error.

The run: all users are started at --spawn-rate; once every one has signed in (PBKDF2, a
second of CPU each), the statistics so far are kept as the ramp, and the steady window of
--seconds begins. The window's figures are those of the requests that *started* in it,
with exact percentiles: a request sent during the ramp and answered in the window (it
waited behind the sign-ins) is the ramp's; the window's last requests are waited for
before the users are stopped (one never answered counts as an error). Lines starting with ``@@``
on stdout tell load.py when the window starts and ends; the figures go to --out.
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import random
import re
import sys
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, events, task  # monkey-patches the standard library
from locust.env import Environment
from locust.log import setup_logging

CONFIG: dict = {}
if os.environ.get("GATEHOUSE_LOAD_CONFIG"):
    with open(os.environ["GATEHOUSE_LOAD_CONFIG"]) as config_file:
        CONFIG = json.load(config_file)

rng = random.Random()  # noqa: S311 - picks tickets, not secrets
SIGN_IN_PAGE = "Sign in to Gatehouse"
#: Counters load.py prints under each level: what users decided not to do, and why.
NOTES: dict[str, int] = {}
_taken = {role: itertools.count() for role in ("reviewers", "engineers", "api_tokens")}
_repos = list(CONFIG.get("repos", []))
_ready = {"count": 0}
#: Every request that started in the steady window: (start, method, name, milliseconds,
#: error or None), the start in seconds since the window began. A request that started
#: during the ramp (most of them waiting behind the sign-ins' PBKDF2) is the ramp's, even
#: when it ends inside the window; one that started in the window is waited for after it.
TIMELINE: list[tuple[float, str, str, float, str | None]] = []
#: The window's start and end (time.time(), as locust's start_time), and how many of the
#: requests started in it are still waiting for their answer.
_window: dict = {"began": None, "ended": None, "in_flight": 0}


def _in_window(start: float) -> bool:
    began, ended = _window["began"], _window["ended"]
    return began is not None and start >= began and (ended is None or start < ended)


@events.request.add_listener
def _on_request(request_type, name, response_time, start_time, exception=None, **kwargs):
    if _in_window(start_time):
        error = None if exception is None else str(exception)
        TIMELINE.append(
            (round(start_time - _window["began"], 4), request_type, name, response_time, error)
        )


@contextmanager
def call(client, method: str, path: str, **kwargs):
    """``client.request`` with catch_response and no redirects followed, counted while in
    flight if it starts in the window (its request event fires before it is uncounted)."""
    counted = _in_window(time.time())
    _window["in_flight"] += counted
    try:
        with client.request(
            method, path, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            yield response
    finally:
        _window["in_flight"] -= counted


def note(key: str) -> None:
    NOTES[key] = NOTES.get(key, 0) + 1


def take(role: str):
    """The next account of ``role``; shared (and noted) once every account has a user."""
    pool = CONFIG[role]
    n = next(_taken[role])
    if n >= len(pool):
        note(f"{role} account shared by two users")
    return pool[n % len(pool)]


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ERRORS = re.compile(
    r'<(?:div class="errors"[^>]*|ul class="errorlist[^"]*"[^>]*)>(.*?)</(?:div|ul)>', re.S
)


def form_errors(text: str | None) -> str:
    """The messages of a form answered with errors, as one line of plain text."""
    found = [re.sub(r"<[^>]+>", " ", m) for m in ERRORS.findall(text or "")]
    message = " ".join(html.unescape(" ".join(found)).split())
    return message[:160] or "no form error shown"


def check(
    response, *, status: int = 200, location: str | None = None, sign_in_page: bool = False
) -> bool:
    """Mark a response (made with catch_response) a success or an error; True if fine.

    ``location``: the path a redirect must lead to (a regular expression); ``sign_in_page``:
    the sign-in page is the page expected."""
    got = response.status_code
    target = urlsplit(response.headers.get("Location", "")).path if response.headers else ""
    if got in (301, 302, 303) and target.startswith("/accounts/login/"):
        response.failure(f"{got} to the sign-in page")
    elif got != status:
        if got == 0:
            detail = str(response.error)[:160]
        elif got == 400:
            detail = form_errors(response.text)
        else:
            detail = response.reason or ""
        response.failure(f"{got} (expected {status}): {detail}")
    elif location is not None and not re.fullmatch(location, target):
        response.failure(f"{got} to {target}, expected {location}")
    elif got == 200 and not sign_in_page and SIGN_IN_PAGE in (response.text or ""):
        response.failure("200 but the sign-in page")
    else:
        response.success()
        return True
    return False


class Person(HttpUser):
    """Someone with a browser: signs in through the form, keeps the session cookie."""

    abstract = True
    role = ""
    wait_time = between(1, 5)

    def on_start(self):
        self.account = take(self.role)
        self.username = self.account["username"]
        self.sign_in()
        _ready["count"] += 1

    def sign_in(self) -> None:
        with call(self.client, "GET", "/accounts/login/", name="/accounts/login/") as page:
            if not check(page, sign_in_page=True):
                return
            token = CSRF.search(page.text)
            if token is None:
                page.failure("no CSRF token on the sign-in page")
                return
        with call(
            self.client,
            "POST",
            "/accounts/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": self.username,
                "password": CONFIG["password"],
                "next": "",
            },
            headers={"Referer": self.host + "/accounts/login/"},
            name="/accounts/login/",
        ) as answer:
            if answer.status_code == 200:
                answer.failure(f"sign-in refused for {self.username}: {form_errors(answer.text)}")
            else:
                check(answer, status=302, location="/")

    def page(self, path: str, name: str | None = None, validate=None):
        """GET a page; the response if it is fine, else None (the error is counted).
        ``validate(response)`` may find more wrong with it: it returns the error's text."""
        with call(self.client, "GET", path, name=name or path) as response:
            if not check(response):
                return None
            problem = validate(response) if validate else None
            if problem:
                response.failure(problem)
                return None
            return response

    def post_form(self, path: str, data: dict, *, name: str, csrf: str, location: str):
        """POST a form as a browser does (CSRF token, Referer), expecting a redirect to
        ``location``; then follow it, as the browser would. The redirect's target or None."""
        with call(
            self.client,
            "POST",
            path,
            data={"csrfmiddlewaretoken": csrf, **data},
            headers={"Referer": self.host + path},
            name=name,
        ) as response:
            if not check(response, status=302, location=location):
                return None
            target = urlsplit(response.headers["Location"]).path
        return target

    @task(1)
    def portfolio(self):
        self.page("/")


COMMIT = re.compile(r'name="commit" value="([0-9a-f]+)"')
QUESTION = re.compile(r'name="q_(\d+)"')


def decision_form_problem(response) -> str | None:
    """A ticket page offers either the reason it takes no decision or the whole form."""
    text = response.text
    if 'data-testid="denial"' in text:
        return None
    if not (CSRF.search(text) and COMMIT.search(text) and QUESTION.search(text)):
        return "the ticket page has neither a denial nor a complete decision form"
    return None


class Reviewer(Person):
    weight = 5
    role = "reviewers"

    def on_start(self):
        self.tickets: list[int] = []
        super().on_start()
        self.department = self.account["department"]

    @task(3)
    def department_queue(self):
        response = self.page(f"/departments/{self.department}/", name="/departments/[slug]/")
        if response is not None:
            self.tickets = [int(pk) for pk in re.findall(r'data-ticket="(\d+)"', response.text)]

    @task(1)
    def inbox(self):
        self.page("/queue/")

    def _some_ticket(self) -> int | None:
        if not self.tickets:
            self.department_queue()
        if not self.tickets:
            note("reviewer found no open ticket")
            return None
        return rng.choice(self.tickets[:25])

    @task(5)
    def open_ticket(self):
        pk = self._some_ticket()
        if pk is not None:
            self.page(f"/tickets/{pk}/", name="/tickets/[id]/")

    @task(1)
    def sign_off(self):
        """Reload a ticket and decide on it: the checklist answered, approve or ask."""
        pk = self._some_ticket()
        if pk is None:
            return
        path = f"/tickets/{pk}/"
        response = self.page(path, name="/tickets/[id]/", validate=decision_form_problem)
        if response is None:
            return
        text = response.text
        if 'data-testid="denial"' in text:
            note("ticket takes no decision from this reviewer")
            self.tickets.remove(pk)
            return
        mine = re.search(
            r'decision-approve">Approve</span>\s*by <strong>' + re.escape(self.username) + "<",
            text,
        )
        if mine:
            note("ticket approved by this reviewer already")
            self.tickets.remove(pk)
            return
        csrf, commit = CSRF.search(text), COMMIT.search(text)
        questions = sorted(set(QUESTION.findall(text)), key=int)
        approve = rng.random() < 0.8
        data = {"commit": commit.group(1), "decision": "approve", "comment": ""}
        for n, question in enumerate(questions):
            data[f"q_{question}"] = "yes" if approve or n else "no"
            data[f"note_{question}"] = "" if approve or n else "Not yet: see my comment."
        if not approve:
            data["decision"] = "request_changes"
            data["comment"] = "Please document the public interface before we publish it."
        target = self.post_form(
            path, data, name=f"/tickets/[id]/ ({data['decision']})", csrf=csrf.group(1),
            location=re.escape(path),
        )  # fmt: skip
        if target:
            self.page(target, name="/tickets/[id]/")


class Engineer(Person):
    weight = 2
    role = "engineers"
    wait_time = between(2, 8)

    def on_start(self):
        self.submissions: list[int] = []
        super().on_start()

    @task(1)
    def submit(self):
        """The submit form for a new component, from the next repository of the pool."""
        if not _repos:
            note("engineer had no repository left to submit")
            return
        repo = _repos.pop()
        form = self.page("/submit/")
        if form is None:
            return
        csrf = CSRF.search(form.text)
        slug = repo["slug"]
        target = self.post_form(
            "/submit/",
            {
                "component": "",
                "name": slug.replace("-", " ").title(),
                "slug": slug,
                "description": "A library the load benchmark submits.",
                "license": "Apache-2.0",
                "open_paths": "src/**\nREADME.md\nLICENSE",
                "internal_paths": "internal/**",
                "repository_url": repo["url"],
                "branch": "main",
                "justification": "Other teams outside the company want to use it.",
            },
            name="/submit/",
            csrf=csrf.group(1) if csrf else "",
            location=r"/submissions/\d+/",
        )
        if target:
            self.submissions.append(int(target.split("/")[2]))
            self.page(target, name="/submissions/[id]/")

    @task(3)
    def my_submissions(self):
        response = self.page("/submissions/")
        if response is not None:
            found = re.findall(r'href="/submissions/(\d+)/"', response.text)
            self.submissions = sorted({int(pk) for pk in found})

    @task(2)
    def open_submission(self):
        if self.submissions:
            pk = rng.choice(self.submissions)
            self.page(f"/submissions/{pk}/", name="/submissions/[id]/")

    @task(1)
    def resubmit(self):
        """Answer the requested changes of one of their submissions, if any."""
        listing = self.page("/submissions/?state=changes_requested", name="/submissions/?state=")
        if listing is None:
            return
        found = sorted({int(pk) for pk in re.findall(r'href="/submissions/(\d+)/"', listing.text)})
        if not found:
            note("engineer had no requested changes to answer")
            return
        pk = rng.choice(found)
        page = self.page(f"/submissions/{pk}/", name="/submissions/[id]/")
        if page is None:
            return
        action = f"/submissions/{pk}/resubmit/"
        csrf = CSRF.search(page.text)
        if f'action="{action}"' not in page.text or csrf is None:
            note("submission offered no resubmit form")
            return
        target = self.post_form(
            action,
            {"response": "Documented the public interface, as asked."},
            name="/submissions/[id]/resubmit/",
            csrf=csrf.group(1),
            location=f"/submissions/{pk}/",
        )
        if target:
            self.page(target, name="/submissions/[id]/")


class ApiClient(HttpUser):
    """A CI job or a dashboard screen: a personal API token, no session."""

    weight = 3
    wait_time = between(2, 5)

    def on_start(self):
        self.client.headers["Authorization"] = f"Token {take('api_tokens')}"
        _ready["count"] += 1

    def get_json(self, path: str, name: str, key: str):
        with call(self.client, "GET", path, name=name) as r:
            if not check(r):
                return
            try:
                body = r.json()
            except ValueError:
                r.failure("not JSON")
                return
            if key not in body:
                r.failure(f"no {key!r} in the answer")

    @task(3)
    def dashboard(self):
        self.get_json("/api/dashboard/", "/api/dashboard/", "counters")

    @task(1)
    def dashboard_blocked(self):
        self.get_json("/api/dashboard/?blocked=1&limit=20", "/api/dashboard/?blocked=1", "results")

    @task(2)
    def releases(self):
        self.get_json("/api/releases/", "/api/releases/", "results")


# --------------------------------------------------------------------------- the run


def _percentile(ordered: list[float], fraction: float) -> float:
    """The nearest-rank percentile of an ordered list (locust's own rounds to buckets)."""
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0


def _row(method: str, name: str, records: list, seconds: float) -> dict:
    ordered = sorted(r[3] for r in records)
    return {
        "method": method,
        "name": name,
        "requests": len(records),
        "errors": sum(1 for r in records if r[4] is not None),
        "rps": len(records) / seconds if seconds else 0.0,
        "p50": round(_percentile(ordered, 0.50)),
        "p95": round(_percentile(ordered, 0.95)),
        "p99": round(_percentile(ordered, 0.99)),
        "max": round(ordered[-1]) if ordered else 0,
    }


def snapshot(stats, seconds: float) -> dict:
    """The ramp's figures from locust's statistics, in milliseconds."""

    def row(entry) -> dict:
        n = entry.num_requests
        return {
            "method": entry.method or "",
            "name": entry.name,
            "requests": n,
            "errors": entry.num_failures,
            "rps": n / seconds if seconds else 0.0,
            "p50": entry.get_response_time_percentile(0.50) if n else 0,
            "p95": entry.get_response_time_percentile(0.95) if n else 0,
            "p99": entry.get_response_time_percentile(0.99) if n else 0,
            "max": entry.max_response_time or 0,
        }

    return {
        "seconds": seconds,
        "total": row(stats.total),
        "endpoints": sorted((row(e) for e in stats.entries.values()), key=lambda r: -r["requests"]),
        "errors": sorted(
            (
                {"method": e.method, "name": e.name, "error": str(e.error), "count": e.occurrences}
                for e in stats.errors.values()
            ),
            key=lambda e: -e["count"],
        ),
    }


def window_snapshot(records: list, seconds: float) -> dict:
    """The steady window's figures: every request that started in it, exact percentiles."""
    by_endpoint: dict[tuple[str, str], list] = {}
    errors: dict[tuple[str, str, str], int] = {}
    for record in records:
        by_endpoint.setdefault((record[1], record[2]), []).append(record)
        if record[4] is not None:
            key = (record[1], record[2], record[4])
            errors[key] = errors.get(key, 0) + 1
    return {
        "seconds": seconds,
        "total": _row("", "Aggregated", records, seconds),
        "endpoints": sorted(
            (_row(method, name, rows, seconds) for (method, name), rows in by_endpoint.items()),
            key=lambda r: -r["requests"],
        ),
        "errors": sorted(
            (
                {"method": method, "name": name, "error": error, "count": count}
                for (method, name, error), count in errors.items()
            ),
            key=lambda e: -e["count"],
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--ready-timeout", type=float, default=180)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    setup_logging("WARNING")

    env = Environment(user_classes=[Reviewer, Engineer, ApiClient], host=args.host, events=events)
    runner = env.create_local_runner()
    began = time.monotonic()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    while _ready["count"] < args.users and time.monotonic() - began < args.ready_timeout:
        gevent.sleep(0.1)
    ramp_seconds = time.monotonic() - began
    ramp = snapshot(env.stats, ramp_seconds)
    ramp["ready"] = _ready["count"]
    ramp_exceptions = sum(row["count"] for row in runner.exceptions.values())
    env.stats.reset_all()
    cpu0 = time.process_time()
    print("@@steady-start", flush=True)
    window_began = time.monotonic()
    _window["began"] = time.time()
    gevent.sleep(args.seconds)
    seconds = time.monotonic() - window_began
    _window["ended"] = time.time()
    # The window's last requests are its own: wait for their answers (the users go on, so
    # the load stays the same meanwhile).
    grace = time.monotonic()
    while _window["in_flight"] > 0 and time.monotonic() - grace < args.ready_timeout:
        gevent.sleep(0.05)
    steady = window_snapshot(TIMELINE, seconds)
    steady["unanswered"] = _window["in_flight"]
    print("@@steady-end", flush=True)
    steady["generator_cpu"] = time.process_time() - cpu0
    exceptions = [
        {"count": row["count"], "msg": row["msg"], "traceback": row["traceback"]}
        for row in runner.exceptions.values()
    ]
    users = dict(runner.user_classes_count)
    runner.quit()
    with open(args.out, "w") as out:
        json.dump(
            {
                "users": users,
                "ramp": ramp,
                "steady": steady,
                "exceptions": exceptions,
                "ramp_exceptions": ramp_exceptions,
                "notes": NOTES,
                "repos_left": len(_repos),
                "timeline": TIMELINE,
            },
            out,
            indent=1,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
