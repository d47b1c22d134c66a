"""Gatehouse settings: one module, every deployment difference read from the environment.

With nothing set, Gatehouse runs on a SQLite file and Celery's file-system
transport under ``var/``; ``DATABASE_URL`` and ``REDIS_URL`` switch to
PostgreSQL and Redis.
"""

import base64
import binascii
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GATEHOUSE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "gatehouse-insecure-development-key"  # noqa: S105 - development only


def server_key(name: str) -> bytes:
    """A key from the environment that never lives in the database (the audit seal, the
    secret fingerprints). Required in production; development derives a fixed one."""
    value = os.environ.get(name, "")
    if not value:
        if not DEBUG:
            raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
        value = f"gatehouse-development-{name.lower()}"
    elif len(value) < 32:
        raise ImproperlyConfigured(f"{name} must be at least 32 characters long.")
    return value.encode()


def evidence_seed(name: str) -> bytes:
    """The 32-byte Ed25519 seed that signs release evidence, from base64 in the
    environment. Required in production; development derives a fixed (public!) one."""
    value = os.environ.get(name, "").strip()
    if not value:
        if not DEBUG:
            raise ImproperlyConfigured(
                f"{name} must be set when DEBUG is off "
                "(python manage.py evidence_key --generate makes one)."
            )
        return hashlib.sha256(f"gatehouse-development-{name.lower()}".encode()).digest()
    try:
        seed = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise ImproperlyConfigured(f"{name} must be the base64 of a 32-byte Ed25519 seed.")
    return seed


ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "guardian",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "csp",
    # Swagger UI's files, served from our own static folder (no CDN) for /api/docs/.
    "drf_spectacular_sidecar",
    "core",
    "governance",
    "scans",
    "reviews",
    "releases",
    # On top of the apps above; nothing below imports them (DESIGN.md).
    "notifications",
    "integrations",
    "community",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Times each request for /metrics (whitenoise, when on, comes before it: static files
    # are not timed).
    "core.metrics.RequestLatencyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.selectors.bell",
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{VAR_DIR / 'gatehouse.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    # The web server, the worker and beat share one file: wait for the lock instead of
    # failing, and take the write lock when a transaction starts so that two writers
    # never deadlock upgrading a read lock (SQLite's stand-in for row locks).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in for a locked-out account before any password is checked.
    "core.auth.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous users see nothing
GUARDIAN_MONKEY_PATCH_USER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Sign-in lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one account
# (from anywhere), or from one address (whatever the accounts: password spraying), sign-in
# is refused for the cool-off time.
AXES_FAILURE_LIMIT = int(os.environ.get("GATEHOUSE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("GATEHOUSE_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "core.auth.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if not DEBUG:
    # Production serves static files from the app process (run collectstatic first).
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES["staticfiles"]["BACKEND"] = "whitenoise.storage.CompressedManifestStaticFilesStorage"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Production is https only: redirect plain http, and tell browsers to remember that.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# ...except the load balancer's probe and Prometheus's scrape, which may use plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    # Behind a proxy that terminates TLS and sets X-Forwarded-Proto (and strips a forged one).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp): scripts and styles only from our own static files,
# nothing inline; htmx is served from django-htmx's static folder.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# Mail: printed on the console unless configured.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "gatehouse@localhost")
GATEHOUSE_BASE_URL = os.environ.get("GATEHOUSE_BASE_URL", "http://127.0.0.1:8000")

# Celery: Redis when REDIS_URL is set, otherwise the server-less file-system transport.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # An unacknowledged task is redelivered after this long: longer than the longest task
    # may run (a scan's hard time limit, plus margin), so a task still running is never
    # handed to a second worker; a dead worker's job is taken over sooner, by its lease.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(float(os.environ.get("GATEHOUSE_SCAN_TIME_LIMIT", "600"))) + 300
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# Cache: login throttles and API rate limits are counted here, so every web process must
# share it: Redis when configured, else files under var/.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "gatehouse"}}  # fmt: skip
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}  # fmt: skip
CELERY_TASK_IGNORE_RESULT = True  # state lives in the database, not in task results
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The queue names: scans run on a queue of their own; GATEHOUSE_QUEUE_PREFIX lets two
# installations (or test runs) share one Redis without taking each other's tasks.
_QUEUE_PREFIX = os.environ.get("GATEHOUSE_QUEUE_PREFIX", "")
CELERY_TASK_DEFAULT_QUEUE = f"{_QUEUE_PREFIX}default"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ROUTES = {"scans.*": {"queue": f"{_QUEUE_PREFIX}scans"}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # An expired waiver stops counting at once; this pass re-blocks the stored verdicts.
    "lapse-expired-waivers": {"task": "releases.lapse_expired_waivers", "schedule": 300.0},
}

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate makes a refused request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.api.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.IsAuthenticatedThrottled"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.AnonThrottle", "core.api.UserThrottle"],
    # Client addresses come from REMOTE_ADDR unless this many proxies are in front (a
    # client-sent X-Forwarded-For must not choose its own throttle bucket).
    "NUM_PROXIES": int(os.environ.get("GATEHOUSE_NUM_PROXIES", "0")),
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("GATEHOUSE_API_ANON_RATE", "30/min"),
        "user": os.environ.get("GATEHOUSE_API_USER_RATE", "1200/min"),
        # Wrong API tokens from one address; over the limit, that address is refused.
        "token_failures": os.environ.get("GATEHOUSE_API_TOKEN_FAILURE_RATE", "10/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.api.LimitOffsetPagination",
    "DEFAULT_PARSER_CLASSES": [
        "core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
    "PAGE_SIZE": 50,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Gatehouse API",
    "DESCRIPTION": (
        "Open-source governance: components and their roles, submissions, review tickets, "
        "sign-offs, scans, releases and their gates, waivers, the portfolio."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ScanStatusEnum": "scans.enums.ScanStatus",
        "SignOffStatusEnum": "reviews.enums.SignOffStatus",
        "TriageStateEnum": "scans.enums.TriageState",
        "ReleaseStateEnum": "releases.enums.ReleaseState",
        "GateStatusEnum": "releases.enums.GateStatus",
        "CommunityRoleEnum": "governance.enums.CommunityRole",
        "DepartmentChipEnum": "releases.serializers.CHIP_STATES",
        "SyncStatusEnum": "releases.enums.SyncStatus",
    },
}

# Git: the URL prefixes a repository URL may start with (comma-separated). A host that
# resolves to an internal address (loopback, private, link-local, metadata) is reached
# only when an entry names that host itself, e.g. https://git.corp.example/. With DEBUG on
# the demo's own folder stays allowed, so `make run` works beside a production list.
GATEHOUSE_DEMO_REPOS_DIR = VAR_DIR / "demo-repos"
_DEMO_ALLOW = f"file://{os.path.abspath(GATEHOUSE_DEMO_REPOS_DIR)}/"
GATEHOUSE_GIT_ALLOW = [
    p.strip()
    for p in os.environ.get("GATEHOUSE_GIT_ALLOW", f"https://,{_DEMO_ALLOW}").split(",")
    if p.strip()
]
if DEBUG and _DEMO_ALLOW not in GATEHOUSE_GIT_ALLOW:
    GATEHOUSE_GIT_ALLOW.append(_DEMO_ALLOW)
# Seconds git may take in the background, and inside a web request (kept short: a person
# is waiting, and a silent address must not hold a web worker).
GATEHOUSE_GIT_TIMEOUT = float(os.environ.get("GATEHOUSE_GIT_TIMEOUT", "30"))
GATEHOUSE_GIT_WEB_TIMEOUT = float(os.environ.get("GATEHOUSE_GIT_WEB_TIMEOUT", "5"))
# Credentials for fetching and pushing, each scoped to a URL prefix: a JSON file of
# [{"prefix": "https://host/path/", "header" | "header_env": ..., "for": ["fetch", "push"]}]
# (see README). Only the path is a setting; the headers are read when git needs them.
GATEHOUSE_GIT_CREDENTIALS_FILE = os.environ.get("GATEHOUSE_GIT_CREDENTIALS_FILE", "")
if os.environ.get("GATEHOUSE_PUSH_HTTP_HEADER"):
    raise ImproperlyConfigured(
        "GATEHOUSE_PUSH_HTTP_HEADER was sent to every https host; it is gone. Put the header "
        "in GATEHOUSE_GIT_CREDENTIALS_FILE, scoped to the prefix it belongs to."
    )

# Scanning: bare mirrors live here; limits end a scan "incomplete", never clean.
GATEHOUSE_MIRRORS_DIR = VAR_DIR / "mirrors"
GATEHOUSE_SCAN_TIME_LIMIT = float(os.environ.get("GATEHOUSE_SCAN_TIME_LIMIT", "600"))
GATEHOUSE_SCAN_MAX_BLOB_BYTES = int(os.environ.get("GATEHOUSE_SCAN_MAX_BLOB_BYTES", "2000000"))
# A scan's results reach the blob cache this often while it runs: what an attempt killed
# outright loses at most.
GATEHOUSE_SCAN_CACHE_FLUSH_SECONDS = float(
    os.environ.get("GATEHOUSE_SCAN_CACHE_FLUSH_SECONDS", "2")
)
GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES = int(
    os.environ.get("GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES", str(2 * 1024**3))
)
# Long jobs hold a lease in the database, renewed by a heartbeat every third of it; a job
# whose lease expired is taken over (a beat pass requeues it every minute) and failed,
# with the reason, after GATEHOUSE_JOB_MAX_ATTEMPTS attempts.
GATEHOUSE_LEASE_SECONDS = float(os.environ.get("GATEHOUSE_LEASE_SECONDS", "60"))
GATEHOUSE_JOB_MAX_ATTEMPTS = int(os.environ.get("GATEHOUSE_JOB_MAX_ATTEMPTS", "3"))
# A scan still queued this long after it was sent has lost its message: it is sent again.
GATEHOUSE_RESEND_QUEUED_SECONDS = float(
    os.environ.get("GATEHOUSE_RESEND_QUEUED_SECONDS", str(GATEHOUSE_SCAN_TIME_LIMIT + 300))
)
CELERY_BEAT_SCHEDULE["requeue-stalled-scans"] = {
    "task": "scans.requeue_stalled",
    "schedule": float(os.environ.get("GATEHOUSE_REQUEUE_INTERVAL", "60")),
}
# Scan each submission automatically when it is made or its branch moves.
GATEHOUSE_SCAN_ON_SUBMIT = env_bool("GATEHOUSE_SCAN_ON_SUBMIT", True)

# Open Core sync: one bare workspace per component (internal and external refs side by
# side), synced every GATEHOUSE_SYNC_INTERVAL seconds by beat. Community commits waiting
# longer than GATEHOUSE_BACKPORT_MAX_DAYS block the versions gate. Pushing over https
# uses the credential GATEHOUSE_GIT_CREDENTIALS_FILE scopes to the URL, never a URL with
# credentials in it; file:// needs none.
GATEHOUSE_SYNC_DIR = VAR_DIR / "sync"
GATEHOUSE_SYNC_INTERVAL = float(os.environ.get("GATEHOUSE_SYNC_INTERVAL", "900"))
GATEHOUSE_BACKPORT_MAX_DAYS = int(os.environ.get("GATEHOUSE_BACKPORT_MAX_DAYS", "14"))
GATEHOUSE_COMMIT_NAME = os.environ.get("GATEHOUSE_COMMIT_NAME", "Gatehouse")
GATEHOUSE_COMMIT_EMAIL = os.environ.get("GATEHOUSE_COMMIT_EMAIL", "gatehouse@localhost")
# Watching the external repository: each sync scans at most this many community commits
# it has not seen (the rest wait for the next sync), each blob within the scanner's limits.
GATEHOUSE_WATCH_MAX_COMMITS = int(os.environ.get("GATEHOUSE_WATCH_MAX_COMMITS", "200"))
CELERY_BEAT_SCHEDULE["requeue-stalled-git-jobs"] = {
    "task": "releases.requeue_stalled_git_jobs",
    "schedule": float(os.environ.get("GATEHOUSE_REQUEUE_INTERVAL", "60")),
}
# Finished scheduled sync jobs are deleted after this long (the sync history is kept in
# SyncState; jobs a person asked for are kept).
GATEHOUSE_GIT_JOB_KEEP_SECONDS = float(os.environ.get("GATEHOUSE_GIT_JOB_KEEP_SECONDS", "86400"))
CELERY_BEAT_SCHEDULE["sync-components"] = {
    "task": "releases.sync_all_components",
    "schedule": GATEHOUSE_SYNC_INTERVAL,
}

# The audit log: every event is sealed with an HMAC under GATEHOUSE_AUDIT_KEY (kept out
# of the database; older keys stay in GATEHOUSE_AUDIT_OLD_KEYS, comma-separated, so seals
# made before a rotation still verify), and a beat task appends the sealed chain head to
# an append-only file outside the database every minute.
GATEHOUSE_AUDIT_KEY = server_key("GATEHOUSE_AUDIT_KEY")
GATEHOUSE_AUDIT_OLD_KEYS = [
    k.strip().encode()
    for k in os.environ.get("GATEHOUSE_AUDIT_OLD_KEYS", "").split(",")
    if k.strip()
]
GATEHOUSE_AUDIT_ANCHOR_FILE = Path(
    os.environ.get("GATEHOUSE_AUDIT_ANCHOR_FILE", VAR_DIR / "audit" / "anchors.jsonl")
)
CELERY_BEAT_SCHEDULE["anchor-audit-chain"] = {
    "task": "core.anchor_audit_chain",
    "schedule": float(os.environ.get("GATEHOUSE_AUDIT_ANCHOR_INTERVAL", "60")),
}
# Secret findings are fingerprinted with an HMAC under this key, so a fingerprint in the
# database cannot be tested against guessed passwords. Never change it once set: triage
# and waivers follow findings by fingerprint.
GATEHOUSE_FINGERPRINT_KEY = server_key("GATEHOUSE_FINGERPRINT_KEY")

# Release evidence (releases.evidence): each bundle's manifest is signed with this Ed25519
# key, the base64 of its 32-byte private seed (`python manage.py evidence_key --generate`
# makes one). Anyone verifies with the public key (the about page, `evidence_key`);
# public keys of earlier signing keys stay trusted in GATEHOUSE_EVIDENCE_OLD_PUBLIC_KEYS
# (base64, comma-separated), so bundles signed before a rotation still verify.
GATEHOUSE_EVIDENCE_KEY = evidence_seed("GATEHOUSE_EVIDENCE_KEY")
GATEHOUSE_EVIDENCE_OLD_PUBLIC_KEYS = [
    k.strip()
    for k in os.environ.get("GATEHOUSE_EVIDENCE_OLD_PUBLIC_KEYS", "").split(",")
    if k.strip()
]

# API tokens: how long a new one lasts unless its owner says otherwise, and at most.
GATEHOUSE_API_TOKEN_DAYS = int(os.environ.get("GATEHOUSE_API_TOKEN_DAYS", "90"))
GATEHOUSE_API_TOKEN_MAX_DAYS = int(os.environ.get("GATEHOUSE_API_TOKEN_MAX_DAYS", "365"))

# Health (/healthz): each worker and beat write a heartbeat row this often; a worker is
# counted live for GATEHOUSE_HEALTH_WORKER_SECONDS after its last one, beat for
# GATEHOUSE_HEALTH_BEAT_SECONDS.
GATEHOUSE_HEARTBEAT_SECONDS = float(os.environ.get("GATEHOUSE_HEARTBEAT_SECONDS", "30"))
GATEHOUSE_HEALTH_WORKER_SECONDS = float(os.environ.get("GATEHOUSE_HEALTH_WORKER_SECONDS", "120"))
GATEHOUSE_HEALTH_BEAT_SECONDS = float(os.environ.get("GATEHOUSE_HEALTH_BEAT_SECONDS", "180"))
# Metrics (/metrics, Prometheus): served only to `Authorization: Bearer <this token>`;
# without it, /metrics is a 404.
GATEHOUSE_METRICS_TOKEN = os.environ.get("GATEHOUSE_METRICS_TOKEN", "")
if GATEHOUSE_METRICS_TOKEN and len(GATEHOUSE_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured("GATEHOUSE_METRICS_TOKEN must be at least 32 characters long.")
# The job tables /metrics counts (core.metrics.JobTable): a model label and its kind, or
# kind_field for a model whose rows carry their own kind.
GATEHOUSE_METRICS_JOBS = [
    {"model": "scans.ScanRun", "kind": "scan"},
    {"model": "releases.GitJob", "kind_field": "kind", "finished": ["succeeded", "failed"]},
]

# Notifications (notifications/): an outbox reads the audit chain past a cursor and fans
# each event out once, in order. Every commit that wrote an event wakes it (this task);
# beat drains it every GATEHOUSE_OUTBOX_INTERVAL seconds besides, in case a wake was lost.
GATEHOUSE_OUTBOX_WAKE = env_bool("GATEHOUSE_OUTBOX_WAKE", True)
GATEHOUSE_OUTBOX_TASK = "notifications.tasks.drain_outbox"
CELERY_BEAT_SCHEDULE["drain-outbox"] = {
    "task": "notifications.drain_outbox",
    "schedule": float(os.environ.get("GATEHOUSE_OUTBOX_INTERVAL", "15")),
}
CELERY_BEAT_SCHEDULE["escalate-overdue-tickets"] = {
    "task": "notifications.escalate_overdue_tickets",
    "schedule": 900.0,
}
CELERY_BEAT_SCHEDULE["daily-notification-digest"] = {
    "task": "notifications.send_daily_digests",
    "schedule": crontab(hour=int(os.environ.get("GATEHOUSE_DAILY_DIGEST_HOUR", "7")), minute=0),
}
# Webhook secrets (incoming and outgoing) are never stored: each is an HMAC under this
# key of a random nonce the database keeps; rotating a secret makes a new nonce.
GATEHOUSE_WEBHOOK_KEY = server_key("GATEHOUSE_WEBHOOK_KEY")
# Outgoing webhooks: https only, through the same egress guard as git (an internal address
# needs an entry naming that host); GATEHOUSE_WEBHOOK_CA_FILE adds a CA to trust. A
# subscription is disabled after GATEHOUSE_WEBHOOK_MAX_FAILURES failed attempts in a row;
# the n-th retry waits GATEHOUSE_WEBHOOK_RETRY_SECONDS * 2**n (at most an hour).
GATEHOUSE_WEBHOOK_ALLOW = [
    p.strip() for p in os.environ.get("GATEHOUSE_WEBHOOK_ALLOW", "https://").split(",") if p.strip()
]
GATEHOUSE_WEBHOOK_CA_FILE = os.environ.get("GATEHOUSE_WEBHOOK_CA_FILE", "")
GATEHOUSE_WEBHOOK_TIMEOUT = float(os.environ.get("GATEHOUSE_WEBHOOK_TIMEOUT", "5"))
GATEHOUSE_WEBHOOK_MAX_FAILURES = int(os.environ.get("GATEHOUSE_WEBHOOK_MAX_FAILURES", "8"))
GATEHOUSE_WEBHOOK_RETRY_SECONDS = float(os.environ.get("GATEHOUSE_WEBHOOK_RETRY_SECONDS", "30"))
CELERY_BEAT_SCHEDULE["deliver-due-webhooks"] = {
    "task": "notifications.deliver_due_webhooks",
    "schedule": 30.0,
}
# Promotion votes: each closes when its window (hours, data per component) has ended.
CELERY_BEAT_SCHEDULE["close-due-votes"] = {"task": "community.close_due_votes", "schedule": 300.0}
# The weekly community digests: every Monday morning, last week's, then e-mailed.
CELERY_BEAT_SCHEDULE["weekly-community-digests"] = {
    "task": "community.build_weekly_digests",
    "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
}
# Incoming push webhooks: a body larger than GATEHOUSE_HOOK_MAX_BYTES is refused (413)
# unread; a push whose processing was lost is sent again after ten minutes.
GATEHOUSE_HOOK_MAX_BYTES = int(os.environ.get("GATEHOUSE_HOOK_MAX_BYTES", str(2 * 1024 * 1024)))
CELERY_BEAT_SCHEDULE["requeue-stalled-hook-deliveries"] = {
    "task": "integrations.requeue_stalled_deliveries",
    "schedule": 300.0,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
