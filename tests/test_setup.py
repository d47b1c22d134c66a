"""The developer tooling: Makefile, scripts/run.sh and .ci/run.

run.sh is driven with stand-in services (small shell scripts in place of the virtualenv's
python and celery) so that what is tested, starting and stopping process groups, takes a
second instead of a migrated database and a real worker. The Makefile and .ci/run are run
with stand-in tools on PATH. `make run` itself is checked by hand (see the README).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not (shutil.which("bash") and shutil.which("make") and shutil.which("setsid")),
    reason="needs bash, GNU make and setsid",
)


def write_script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# --------------------------------------------------------------------------- scripts/run.sh

# Each stand-in prints its pid (its process group, thanks to setsid) and starts a child, as
# the real ones do (the dev server's autoreloaded child, the worker's pool). The web
# stand-in leaves its child behind on SIGTERM, so run.sh has to sweep the group.
FAKE_PYTHON = """\
sleep 300 &
echo "started web pid=$$ args=$*"
trap 'exit 0' TERM
wait
"""
FAKE_CELERY = """\
role=$3
sleep 300 &
child=$!
echo "started $role pid=$$ args=$*"
if [[ $role == beat && -n ${FAKE_BEAT_EXITS:-} ]]; then sleep 0.5; exit 3; fi
if [[ $role == worker && -n ${FAKE_WORKER_STUBBORN:-} ]]; then
    trap '' TERM
else
    trap 'kill $child; exit 0' TERM
fi
while true; do wait; done
"""


@pytest.fixture
def fake_venv(tmp_path) -> Path:
    venv = tmp_path / "venv"
    write_script(venv / "bin" / "python", FAKE_PYTHON)
    write_script(venv / "bin" / "celery", FAKE_CELERY)
    return venv


def start_run_sh(tmp_path, fake_venv, **env) -> tuple[subprocess.Popen, dict[str, int], str]:
    environment = {
        **os.environ,
        "GATEHOUSE_VENV": str(fake_venv),
        "GATEHOUSE_VAR_DIR": str(tmp_path / "var"),
        "PORT": "8765",
        **env,
    }
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "run.sh")],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # our own signals only, like a terminal's Ctrl-C to make
        # A shell cannot trap a signal it was started with ignored; whoever ran the tests
        # may have ignored SIGINT (a background job), a terminal never does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    pids: dict[str, int] = {}
    lines = []
    deadline = time.monotonic() + 15
    while len(pids) < 3 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"started (\w+) pid=(\d+)", line)
        if match:
            pids[match.group(1)] = int(match.group(2))
    assert set(pids) == {"web", "worker", "beat"}, "".join(lines)
    return proc, pids, "".join(lines)


def running_groups(pgids) -> set[int]:
    """The groups among ``pgids`` that still have a process that is not a zombie."""
    out = subprocess.run(
        ["ps", "-e", "-o", "pgid=", "-o", "stat="], capture_output=True, text=True, check=True
    ).stdout
    alive = set()
    for line in out.splitlines():
        pgid, state = line.split()[:2]
        if not state.startswith("Z"):
            alive.add(int(pgid))
    return alive & set(pgids)


def finish(proc: subprocess.Popen) -> str:
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return out


def test_run_sh_starts_web_worker_and_beat_in_groups_of_their_own(tmp_path, fake_venv):
    proc, pids, banner = start_run_sh(tmp_path, fake_venv)
    try:
        assert "http://127.0.0.1:8765/" in banner and "gatehouse-demo" in banner
        for name, pid in pids.items():
            assert os.getpgid(pid) == pid, f"{name} is not its own process group leader"
        assert "runserver 127.0.0.1:8765" in banner
        worker_args = re.search(r"started worker pid=\d+ args=(.*)", banner).group(1)
        assert "--queues=default" in worker_args and "--concurrency=2" in worker_args
        beat_args = re.search(r"started beat pid=\d+ args=(.*)", banner).group(1)
        assert "django_celery_beat.schedulers:DatabaseScheduler" in beat_args
        assert f"--pidfile={tmp_path / 'var' / 'run' / 'celerybeat.pid'}" in beat_args
    finally:
        proc.send_signal(signal.SIGINT)
        finish(proc)


def test_run_sh_stops_every_process_on_ctrl_c(tmp_path, fake_venv):
    proc, pids, _ = start_run_sh(tmp_path, fake_venv)
    proc.send_signal(signal.SIGINT)
    out = finish(proc)
    assert proc.returncode == -signal.SIGINT  # dies of the signal, as a shell expects
    assert "Stopped." in out
    assert running_groups(pids.values()) == set()  # the web stand-in's orphan included


def test_run_sh_stops_every_process_on_sigterm(tmp_path, fake_venv):
    proc, pids, _ = start_run_sh(tmp_path, fake_venv)
    proc.terminate()
    finish(proc)
    assert proc.returncode == -signal.SIGTERM
    assert running_groups(pids.values()) == set()


def test_run_sh_stops_the_others_when_one_exits(tmp_path, fake_venv):
    proc, pids, _ = start_run_sh(tmp_path, fake_venv, FAKE_BEAT_EXITS="1")
    out = finish(proc)
    assert proc.returncode == 1
    assert "beat exited (status 3); stopping the others." in out
    assert running_groups(pids.values()) == set()


def test_run_sh_kills_a_service_that_ignores_sigterm(tmp_path, fake_venv):
    proc, pids, _ = start_run_sh(tmp_path, fake_venv, FAKE_WORKER_STUBBORN="1", STOP_TIMEOUT="1")
    proc.send_signal(signal.SIGINT)
    out = finish(proc)
    assert "Still running after 1s; killing." in out
    assert running_groups(pids.values()) == set()


# --------------------------------------------------------------------------- Makefile


@pytest.fixture
def make_project(tmp_path) -> Path:
    """The Makefile and requirements.txt in a folder of their own, with a recording pip."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Makefile", project / "Makefile")
    (project / "requirements.txt").write_text("Django==5.2\n")
    # A stand-in for `python3 -m venv .venv`: a virtualenv whose pip records its calls.
    write_script(
        tmp_path / "python3",
        """\
[[ $1 == -m && $2 == venv ]] || exit 9
mkdir -p "$3/bin"
printf '#!/usr/bin/env bash\\n' > "$3/bin/python"
printf '#!/usr/bin/env bash\\necho "pip $* PIP_DISABLE_PIP_VERSION_CHECK=%s" >> "%s"\\n' \
    '$PIP_DISABLE_PIP_VERSION_CHECK' "$(dirname "$0")/pip.log" > "$3/bin/pip"
chmod +x "$3/bin/python" "$3/bin/pip"
""",
    )
    return project


def run_make(project: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS", "GATEHOUSE_"))
    }
    return subprocess.run(
        ["make", "--no-print-directory", f"PYTHON={project.parent / 'python3'}", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def pip_calls(project: Path) -> list[str]:
    log = project.parent / "pip.log"
    return log.read_text().splitlines() if log.exists() else []


def test_make_installs_requirements_only_when_they_change(make_project):
    first = run_make(make_project, "venv")
    assert first.returncode == 0, first.stderr
    assert pip_calls(make_project) == [
        "pip install -r requirements.txt PIP_DISABLE_PIP_VERSION_CHECK=1"
    ]
    assert (make_project / ".venv" / ".installed").exists()

    assert run_make(make_project, "venv").returncode == 0
    assert len(pip_calls(make_project)) == 1  # unchanged requirements: nothing to do

    stamp = (make_project / ".venv" / ".installed").stat().st_mtime
    os.utime(make_project / "requirements.txt", (stamp + 10, stamp + 10))
    assert run_make(make_project, "venv").returncode == 0
    assert len(pip_calls(make_project)) == 2


def test_make_test_runs_ruff_then_pytest_with_pytest_args(make_project):
    run_make(make_project, "venv")
    dry = run_make(make_project, "-n", "test", "PYTEST_ARGS=-x -k signoff")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/python -m pytest -x -k signoff",
    ]


def test_make_setup_migrates_and_seeds_and_run_starts_run_sh(make_project):
    run_make(make_project, "venv")
    dry = run_make(make_project, "-n", "run")
    assert dry.returncode == 0, dry.stderr
    commands = dry.stdout.replace("\\\n", " ").splitlines()  # join continued lines
    assert commands[0].startswith("mkdir -p var/celery/queue")
    assert commands[1:] == [
        ".venv/bin/python manage.py migrate --noinput",
        ".venv/bin/python manage.py seed_demo",
        "scripts/run.sh",
    ]


def test_makefile_targets_are_phony():
    text = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", text, re.MULTILINE).group(1).split()
    assert {"run", "test", "setup", "lint", "format", "clean"} <= set(phony)


# --------------------------------------------------------------------------- .ci/run


@pytest.fixture
def ci_tools(tmp_path) -> Path:
    """Stand-ins for make and the service tools, each recording how it was called."""
    bin_dir = tmp_path / "bin"
    record = 'echo "$(basename "$0") $*" >> "$(dirname "$0")/calls.log"\n'
    write_script(
        bin_dir / "make", record + 'echo "DATABASE_URL=$DATABASE_URL REDIS_URL=$REDIS_URL"\n'
    )
    for tool in ("apt-get", "redis-server", "pg_ctlcluster"):
        write_script(bin_dir / tool, record)
    # Redis and PostgreSQL answer only once their stand-in server was "started".
    write_script(bin_dir / "redis-cli", '[[ -e "$(dirname "$0")/redis-up" ]]\n')
    write_script(bin_dir / "pg_isready", "exit 0\n")
    return bin_dir


def run_ci(bin_dir: Path, **env) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        **env,
    }
    return subprocess.run(
        ["bash", str(ROOT / ".ci" / "run")],
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_ci_runs_make_test_against_postgres_and_redis(ci_tools):
    (ci_tools / "redis-up").touch()
    result = run_ci(ci_tools)
    assert result.returncode == 0, result.stderr
    assert (
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/test "
        "REDIS_URL=redis://127.0.0.1:6379/15" in result.stdout
    )
    calls = (ci_tools / "calls.log").read_text().splitlines()
    assert calls[-1] == "make test"
    assert not any(c.startswith(("redis-server", "pg_ctlcluster")) for c in calls)
    assert any(c.startswith("apt-get install") for c in calls) != Path("/usr/bin/chromium").exists()


def test_ci_starts_redis_when_it_does_not_answer(ci_tools):
    write_script(
        ci_tools / "redis-server",
        'echo "redis-server $*" >> "$(dirname "$0")/calls.log"; touch "$(dirname "$0")/redis-up"\n',
    )
    result = run_ci(ci_tools, DATABASE_URL="postgres://x@127.0.0.1/other")
    assert result.returncode == 0, result.stderr
    calls = (ci_tools / "calls.log").read_text().splitlines()
    assert (
        "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save  --appendonly no" in calls
    )
    assert "DATABASE_URL=postgres://x@127.0.0.1/other" in result.stdout


def test_scripts_are_executable_bash():
    for script in (ROOT / "scripts" / "run.sh", ROOT / ".ci" / "run"):
        assert os.access(script, os.X_OK), f"{script} is not executable"
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
