#!/usr/bin/env bash
# Run Gatehouse's web server as production does: gunicorn, DEBUG off.
#
# Refuses to start (exit 2, naming what is missing) unless SECRET_KEY, ALLOWED_HOSTS,
# GATEHOUSE_AUDIT_KEY, GATEHOUSE_FINGERPRINT_KEY, GATEHOUSE_EVIDENCE_KEY and
# GATEHOUSE_WEBHOOK_KEY are set. Forces DEBUG=0, collects the static files, migrates, then becomes gunicorn
# (config/gunicorn_conf.py): WEB_CONCURRENCY workers (default 4) on 0.0.0.0:$PORT (default 8000) or $BIND, access log on stdout.
# Celery is not started here: production runs its workers and one beat as services of
# their own (README, "Production").
#
# Environment: the settings' (DATABASE_URL, REDIS_URL, GATEHOUSE_VAR_DIR, ...), PORT or
# BIND, WEB_CONCURRENCY, GUNICORN_TIMEOUT (30), GUNICORN_GRACEFUL_TIMEOUT (30),
# GATEHOUSE_VENV (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for name in SECRET_KEY ALLOWED_HOSTS GATEHOUSE_AUDIT_KEY GATEHOUSE_FINGERPRINT_KEY \
    GATEHOUSE_EVIDENCE_KEY GATEHOUSE_WEBHOOK_KEY; do
    if [[ -z ${!name:-} ]]; then
        missing+=("$name")
    fi
done
if ((${#missing[@]})); then
    list=$(printf '%s, ' "${missing[@]}")
    echo "serve: refusing to start: ${list%, } must be set in the environment" \
        "(production reads its keys and hosts from there; see README, Production)." >&2
    exit 2
fi

export DEBUG=0
BIN=${GATEHOUSE_VENV:-.venv}/bin
VAR=${GATEHOUSE_VAR_DIR:-var}
mkdir -p "$VAR/run"

# Request latency is counted per gunicorn worker in files here and added up at a scrape;
# a fresh folder each start, so that no earlier run's workers are counted.
PROMETHEUS_MULTIPROC_DIR="$(cd "$VAR/run" && pwd)/prometheus"
export PROMETHEUS_MULTIPROC_DIR
rm -rf "$PROMETHEUS_MULTIPROC_DIR"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$BIN/python" manage.py collectstatic --noinput --verbosity 0
"$BIN/python" manage.py migrate --noinput
exec "$BIN/gunicorn" --config config/gunicorn_conf.py config.wsgi
