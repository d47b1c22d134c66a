#!/usr/bin/env bash
# Run Gatehouse in the foreground: the Django dev server, one Celery worker and celery beat.
#
# Ctrl-C (SIGINT), SIGTERM or SIGHUP stops all three: each gets SIGTERM, and whatever still
# runs after STOP_TIMEOUT seconds (default 15) gets SIGKILL; a second Ctrl-C kills at once.
# If one of the three exits by itself, the other two are stopped and the script fails.
# `make run` migrates and seeds the demo first; this script does neither.
#
# Environment: PORT (default 8000), DATABASE_URL and REDIS_URL (default SQLite and the
# file-system broker under var/), GATEHOUSE_VAR_DIR, CELERY_QUEUES (default "default,scans"),
# CELERY_CONCURRENCY (default 2), STOP_TIMEOUT, GATEHOUSE_VENV (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=${GATEHOUSE_VENV:-.venv}/bin
PORT=${PORT:-8000}
VAR=${GATEHOUSE_VAR_DIR:-var}
QUEUES=${CELERY_QUEUES:-default,scans}
CONCURRENCY=${CELERY_CONCURRENCY:-2}
STOP_TIMEOUT=${STOP_TIMEOUT:-15}

# Links in e-mails point at this server unless GATEHOUSE_BASE_URL says otherwise.
export GATEHOUSE_BASE_URL=${GATEHOUSE_BASE_URL:-http://127.0.0.1:$PORT}

mkdir -p "$VAR/run" "$VAR/celery/queue" "$VAR/celery/processed" "$VAR/celery/control"

mask() { sed -E 's#//[^/@]*@#//***@#' <<<"$1"; }

cat <<EOF
Gatehouse: http://127.0.0.1:$PORT/
  log in as admin, alice, bob, tina, cora, leo or sam; password: gatehouse-demo
  (admin is the open-source office; alice and bob submit; tina, cora, leo and sam
  review for technical, compliance, legal and security)
  database: $(if [[ -n ${DATABASE_URL:-} ]]; then mask "$DATABASE_URL"; else echo "SQLite in $VAR/"; fi)
  broker:   $(if [[ -n ${REDIS_URL:-} ]]; then mask "$REDIS_URL"; else echo "file system in $VAR/celery/"; fi)
  worker queues: $QUEUES; e-mail is printed by the worker
Press Ctrl-C to stop the web server, the worker and beat.

EOF

names=()
pids=()     # one per service; each is the leader of its own process group
printers=() # the processes that prefix each service's output with its name

# Prefix each line with the service's name. The printer ignores Ctrl-C so that it keeps
# printing while its service shuts down; it ends when the service closes its output.
prefix() {
    trap '' INT HUP
    exec awk -v name="$1" '{ printf "%-6s | %s\n", name, $0; fflush() }'
}

# Start "$@" in a session and process group of its own (setsid), so that nothing it starts
# (the worker's pool, the dev server's autoreloaded child) can outlive a stop, and so that
# the terminal's Ctrl-C reaches only this script, which then stops everything in order.
start() {
    local name=$1 fd
    shift
    exec {fd}> >(prefix "$name")
    printers+=("$!")
    setsid "$@" >&"$fd" 2>&1 &
    pids+=("$!")
    names+=("$name")
    exec {fd}>&-
}

# Signal each service's main process, which stops its own children (the worker's pool);
# with --groups, every process left in each service's group.
signal_all() {
    local pid prefix=""
    if [[ $1 == --groups ]]; then
        prefix=-
        shift
    fi
    for pid in "${pids[@]}"; do
        kill "-$1" -- "$prefix$pid" 2>/dev/null || true
    done
}

# A group whose main process has ended but whose other members have not gets SIGTERM.
sweep_orphans() {
    local pid
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            kill -TERM -- "-$pid" 2>/dev/null || true
        fi
    done
}

# Is any process of any service's group still running? Zombies don't count: orphans of a
# killed service wait for init to reap them, which can take a while in containers.
any_alive() {
    local running pid
    running=$(ps -e -o pgid= -o stat= | awk '$2 !~ /^Z/ { print $1 }')
    for pid in "${pids[@]}"; do
        grep -qx "$pid" <<<"$running" && return 0
    done
    return 1
}

# Stop every service, wait for them and their printers, then leave with $1: a signal name
# to die of (so the caller sees how we ended) or an exit status.
shutdown() {
    # Nothing may cut the clean-up short: not a failing command (set -e), and not a
    # reader of our output that went away (make run | tee, killed by the same Ctrl-C).
    set +e
    trap '' PIPE
    trap 'echo "Killing."; signal_all --groups KILL' INT TERM HUP
    echo "Stopping ${names[*]} (the worker finishes its running tasks first, which takes a"
    echo "few seconds; Ctrl-C again to kill everything now)..."
    signal_all TERM
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while any_alive && ((SECONDS < deadline)); do
        sleep 0.2
        sweep_orphans
    done
    if any_alive; then
        echo "Still running after ${STOP_TIMEOUT}s; killing."
        signal_all --groups KILL
    fi
    wait "${pids[@]}" "${printers[@]}" 2>/dev/null || true
    echo "Stopped."
    trap - INT TERM HUP
    if [[ $1 =~ ^[A-Z]+$ ]]; then
        kill "-$1" $$
    fi
    exit "$1"
}
trap 'shutdown INT' INT
trap 'shutdown TERM' TERM
trap 'shutdown HUP' HUP

start web "$BIN/python" manage.py runserver "127.0.0.1:$PORT"
# No gossip and no mingle: one worker needs neither, and on the file-system broker their
# broadcasts would leave message files behind for every worker that ever ran.
start worker "$BIN/celery" -A config worker --loglevel=INFO --concurrency="$CONCURRENCY" \
    --queues="$QUEUES" --hostname="gatehouse@%h" --without-gossip --without-mingle
start beat "$BIN/celery" -A config beat --loglevel=INFO \
    --scheduler=django_celery_beat.schedulers:DatabaseScheduler \
    --pidfile="$VAR/run/celerybeat.pid" --schedule="$VAR/run/celerybeat-schedule"

status=0
wait -n "${pids[@]}" || status=$?
for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
        echo "${names[$i]} exited (status $status); stopping the others." >&2
    fi
done
shutdown 1
