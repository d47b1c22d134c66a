"""Attack 6, probing internal addresses through Gatehouse: repository URLs such as
https://127.0.0.1:5432, https://[::1]:22 or https://169.254.169.254, submitted through the
API and the pages. They are refused before anything connects; and where the office did
allow-list such a host, a closed, a silent and a non-git port all read the same."""

from __future__ import annotations

import socket
import threading

import pytest

from governance.models import Component, Repository
from reviews.forms import ScopeForm
from reviews.models import Submission
from tests.conftest import submit

PROBES = [
    "https://127.0.0.1:5432/x.git",
    "https://[::1]:22/x.git",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.1/x.git",
    "https://localhost:6379/x.git",
]


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that notices whether anyone connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


@pytest.mark.parametrize("url", PROBES)
def test_internal_addresses_are_refused_through_the_api(world, api, url):
    client = api(world.alice)
    client.post(
        "/api/components/", {"name": "Mine", "slug": "mine", "license": "MIT", "open_paths": ["**"]}
    )
    response = client.post("/api/submissions/", {
        "component": "mine", "repository_url": url, "branch": "main", "justification": "j",
    })  # fmt: skip
    assert response.status_code == 400
    assert "internal network address" in response.json()["repository_url"][0]
    assert not Submission.objects.exists() and not Repository.objects.exists()


def test_nothing_connects_to_a_probed_port(world, api, listener):
    port = listener.getsockname()[1]
    client = api(world.alice)
    client.post(
        "/api/components/", {"name": "Mine", "slug": "mine", "license": "MIT", "open_paths": ["**"]}
    )
    for url in [f"https://127.0.0.1:{port}/x.git", f"https://localhost:{port}/x.git"]:
        response = client.post("/api/submissions/", {
            "component": "mine", "repository_url": url, "branch": "main", "justification": "j",
        })  # fmt: skip
        assert response.status_code == 400
    assert connections(listener) == 0


def test_the_submit_page_and_the_scope_page_refuse_them_too(world, client, make_repo):
    client.force_login(world.alice)
    response = client.post("/submit/", {
        "name": "Probe", "slug": "probe", "license": "MIT",
        "repository_url": "https://169.254.169.254/latest", "branch": "main",
        "justification": "j",
    })  # fmt: skip
    assert response.status_code == 400
    assert "internal network address" in response.content.decode()
    assert not Component.objects.filter(slug="probe").exists()

    component = submit(world, make_repo(), slug="mine").component
    body = {**ScopeForm.initial_for(component), "external_url": "https://[::1]:22/x.git"}
    response = client.post(f"/components/{component.slug}/scope/", body)
    assert response.status_code == 400
    assert "internal network address" in response.content.decode()
    component.refresh_from_db()
    assert component.external_repository is None


@pytest.fixture
def three_ports():
    """A closed port, a silent one (accepts, never answers) and one that is not TLS."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)

    plain = socket.socket()
    plain.bind(("127.0.0.1", 0))
    plain.listen(8)
    stop = threading.Event()

    def answer_plainly():
        plain.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = plain.accept()
            except OSError:
                continue
            conn.sendall(b"+OK not a git server\r\n")
            conn.close()

    thread = threading.Thread(target=answer_plainly, daemon=True)
    thread.start()
    yield closed_port, silent.getsockname()[1], plain.getsockname()[1]
    stop.set()
    thread.join()
    silent.close()
    plain.close()


def test_closed_silent_and_foreign_ports_read_the_same(world, api, settings, three_ports, caplog):
    """Even where the office allow-listed the host, the answer tells nothing about the
    port: one sentence for all, the detail in the server log; and a silent port holds
    the request only for the short web time-out."""
    settings.GATEHOUSE_GIT_WEB_TIMEOUT = 1
    settings.GATEHOUSE_GIT_ALLOW = [
        *settings.GATEHOUSE_GIT_ALLOW,
        *(f"https://127.0.0.1:{p}/" for p in three_ports),
    ]
    client = api(world.alice)
    client.post(
        "/api/components/", {"name": "Mine", "slug": "mine", "license": "MIT", "open_paths": ["**"]}
    )
    answers = []
    for port in three_ports:
        url = f"https://127.0.0.1:{port}/x.git"
        response = client.post("/api/submissions/", {
            "component": "mine", "repository_url": url, "branch": "main", "justification": "j",
        })  # fmt: skip
        assert response.status_code == 400
        answers.append(response.json()["repository_url"][0].replace(str(port), "PORT"))
    assert len(set(answers)) == 1, answers
    assert answers[0] == "Could not reach the repository at https://127.0.0.1:PORT/x.git."
    assert "could not reach" in caplog.text  # the detail is for the operator
    assert not Submission.objects.exists()
