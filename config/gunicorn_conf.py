"""gunicorn's settings for production (scripts/serve.sh runs
``gunicorn --config config/gunicorn_conf.py config.wsgi``), read from the environment."""

import os

_var = os.environ.get("GATEHOUSE_VAR_DIR") or os.path.join(os.path.dirname(__file__), "..", "var")

bind = [os.environ.get("BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# A worker silent this long is killed and replaced; requests themselves are short (git in a
# request stops after GATEHOUSE_GIT_WEB_TIMEOUT, scans run in Celery).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5  # behind a load balancer that keeps connections open
accesslog = "-"
# The combined format, then the worker's pid and the time taken in milliseconds.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" pid=%(p)s ms=%(M)s'
errorlog = "-"
# One control socket per deployment (the default, in $HOME, is shared by every gunicorn
# the user runs).
control_socket = os.path.join(_var, "run", "gunicorn.ctl")


def child_exit(server, worker):
    """A worker that exits leaves its request-latency files behind, still counted; only
    its live gauges must go (prometheus-client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
