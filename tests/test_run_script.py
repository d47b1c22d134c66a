"""`make run` on a fresh machine, minus the pip install: a fresh var/ folder, migrate,
seed_demo, then scripts/run.sh with the real dev server, the real Celery worker on the
file-system broker and real beat. Ctrl-C must stop all three and leave nothing behind."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes_with(marker: str) -> list[int]:
    """Live processes whose environment carries ``marker`` (our private var folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                stat = (entry / "stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _ctrl_c_deliverable() -> None:
    """A terminal delivers Ctrl-C; a test run started in the background (as CI may be)
    inherits SIGINT ignored, and bash cannot trap a signal ignored at its start."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def setup_commands() -> list[list[str]]:
    """The manage.py commands of the Makefile's setup recipe, read from it so the test runs
    what `make setup` runs, whatever seeds are added."""
    recipe = (ROOT / "Makefile").read_text().split("\nsetup:", 1)[1].split("\n\n", 1)[0]
    return [
        line.split("manage.py", 1)[1].split()
        for line in recipe.splitlines()
        if "$(BIN)/python manage.py" in line
    ]


def make_setup(env: dict) -> None:
    """What `make setup` runs after the install: migrate and the demo seeds."""
    commands = setup_commands()
    assert commands[0] == ["migrate", "--noinput"] and ["seed_demo"] in commands
    for command in commands:
        done = subprocess.run(
            [str(BIN / "python"), "manage.py", *command],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]


def _push_is_rescanned(env: dict, port: str, log_path: Path) -> None:
    """A forge's signed push to the demo's submission in review: the worker re-pins it
    and scans the new commit, within seconds."""
    var = Path(env["GATEHOUSE_VAR_DIR"])
    repo = var / "demo-repos" / "config-client"
    made = subprocess.run(
        [str(BIN / "python"), "manage.py", "webhook_secret", f"file://{repo}",
         "--provider", "github"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    hook = json.loads(made.stdout)
    identity = ["-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    (repo / "PUSHED.md").write_text("pushed\n")
    subprocess.run(["git", "-C", str(repo), "add", "PUSHED.md"], check=True)
    subprocess.run(["git", "-C", str(repo), *identity, "commit", "-qm", "pushed"], check=True)
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    body = json.dumps({"ref": "refs/heads/main", "after": head}).encode()
    signature = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{urlsplit(hook['url']).path}", data=body, method="POST",
        headers={"Content-Type": "application/json", "X-GitHub-Event": "push",
                 "X-GitHub-Delivery": "run-script-1", "X-Hub-Signature-256": f"sha256={signature}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 202
    database = sqlite3.connect(var / "gatehouse.sqlite3")
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status != "done":
            row = database.execute(
                "SELECT status FROM scans_scanrun WHERE [commit] = ?", (head,)
            ).fetchone()
            status = row[0] if row else None
            time.sleep(0.3)
    finally:
        database.close()
    assert status == "done", log_path.read_text()[-3000:]


def _env(tmp_path) -> dict:
    var = tmp_path / "var"
    env = {
        key: value
        for key, value in os.environ.items()
        # The defaults are under test: SQLite and the file-system broker under var/.
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "EMAIL_BACKEND",
                       "GATEHOUSE_GIT_ALLOW"}
    }  # fmt: skip
    return env | {
        "GATEHOUSE_VAR_DIR": str(var), "PORT": str(free_port()), "STOP_TIMEOUT": "20",
        # Beat's first anchor of the audit chain comes after one interval: make it short.
        "GATEHOUSE_AUDIT_ANCHOR_INTERVAL": "3",
    }  # fmt: skip


@pytest.fixture
def fresh_env(tmp_path):
    env = _env(tmp_path)
    make_setup(env)
    return env


def test_the_demo_loads_beside_a_production_allow_list(tmp_path):
    """GATEHOUSE_GIT_ALLOW naming only the company's forge: the demo's own folder stays
    usable for the demo (with DEBUG on), so `make run` still works."""
    env = _env(tmp_path) | {"GATEHOUSE_GIT_ALLOW": "https://git.corp.example/"}
    make_setup(env)


def test_run_serves_the_app_delivers_queued_mail_and_stops_cleanly_on_ctrl_c(fresh_env, tmp_path):
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as log:
        run = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=ROOT, env=fresh_env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_ctrl_c_deliverable,
        )  # fmt: skip
    port = fresh_env["PORT"]
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/") as reply:
                    status = reply.status
            except OSError:
                time.sleep(0.3)
        assert status == 200, log_path.read_text()[-3000:]

        # seed_demo queued the reviewers' e-mails; the worker delivers them to its console.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "review needed" not in log_path.read_text():
            time.sleep(0.3)
        output = log_path.read_text()
        assert "review needed" in output, output[-3000:]
        assert "beat" in output and "Starting development server" in output
        assert processes_with(fresh_env["GATEHOUSE_VAR_DIR"])
        # Beat anchors the audit chain outside the database as soon as it starts.
        anchors = Path(fresh_env["GATEHOUSE_VAR_DIR"]) / "audit" / "anchors.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not anchors.exists():
            time.sleep(0.3)
        assert anchors.exists(), log_path.read_text()[-3000:]
        _push_is_rescanned(fresh_env, port, log_path)
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            # The services run in process groups of their own: leave none behind.
            for pid in processes_with(fresh_env["GATEHOUSE_VAR_DIR"]):
                os.kill(pid, signal.SIGKILL)
            raise

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and processes_with(fresh_env["GATEHOUSE_VAR_DIR"]):
        time.sleep(0.2)
    assert processes_with(fresh_env["GATEHOUSE_VAR_DIR"]) == [], log_path.read_text()[-3000:]
    assert "Stopped." in log_path.read_text()
