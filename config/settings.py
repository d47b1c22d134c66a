"""Gatehouse settings: one module, every deployment difference read from the environment.

With nothing set, Gatehouse runs on a SQLite file and Celery's file-system
transport under ``var/``; ``DATABASE_URL`` and ``REDIS_URL`` switch to
PostgreSQL and Redis.
"""

import os
from pathlib import Path

import dj_database_url
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
    "rest_framework.authtoken",
    "drf_spectacular",
    "guardian",
    "django_htmx",
    "django_celery_beat",
    "core",
    "governance",
    "scans",
    "reviews",
    "releases",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row; anonymous users see nothing
GUARDIAN_MONKEY_PATCH_USER = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
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
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True  # state lives in the database, not in task results
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ROUTES = {"scans.*": {"queue": "scans"}}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Hourly pass; each overdue ticket is reminded at most once a day.
    "remind-overdue-tickets": {"task": "reviews.remind_overdue_tickets", "schedule": 3600.0},
    # An expired waiver stops counting at once; this pass re-blocks the stored verdicts.
    "lapse-expired-waivers": {"task": "releases.lapse_expired_waivers", "schedule": 300.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
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

# Git: the URL prefixes a repository URL may start with (comma-separated).
GATEHOUSE_DEMO_REPOS_DIR = VAR_DIR / "demo-repos"
GATEHOUSE_GIT_ALLOW = [
    p.strip()
    for p in os.environ.get(
        "GATEHOUSE_GIT_ALLOW", f"https://,file://{GATEHOUSE_DEMO_REPOS_DIR}/"
    ).split(",")
    if p.strip()
]
GATEHOUSE_GIT_TIMEOUT = float(os.environ.get("GATEHOUSE_GIT_TIMEOUT", "30"))

# Scanning: bare mirrors live here; limits end a scan "incomplete", never clean.
GATEHOUSE_MIRRORS_DIR = VAR_DIR / "mirrors"
GATEHOUSE_SCAN_TIME_LIMIT = float(os.environ.get("GATEHOUSE_SCAN_TIME_LIMIT", "600"))
GATEHOUSE_SCAN_MAX_BLOB_BYTES = int(os.environ.get("GATEHOUSE_SCAN_MAX_BLOB_BYTES", "2000000"))
GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES = int(
    os.environ.get("GATEHOUSE_SCAN_MAX_REPOSITORY_BYTES", str(2 * 1024**3))
)
# Scan each submission automatically when it is made or its branch moves.
GATEHOUSE_SCAN_ON_SUBMIT = env_bool("GATEHOUSE_SCAN_ON_SUBMIT", True)

# Open Core sync: one bare workspace per component (internal and external refs side by
# side), synced every GATEHOUSE_SYNC_INTERVAL seconds by beat. Community commits waiting
# longer than GATEHOUSE_BACKPORT_MAX_DAYS block the versions gate. Pushing over https
# sends GATEHOUSE_PUSH_HTTP_HEADER (e.g. "Authorization: Basic ..."), never a URL with
# credentials in it; file:// needs none.
GATEHOUSE_SYNC_DIR = VAR_DIR / "sync"
GATEHOUSE_SYNC_INTERVAL = float(os.environ.get("GATEHOUSE_SYNC_INTERVAL", "900"))
GATEHOUSE_BACKPORT_MAX_DAYS = int(os.environ.get("GATEHOUSE_BACKPORT_MAX_DAYS", "14"))
GATEHOUSE_PUSH_HTTP_HEADER = os.environ.get("GATEHOUSE_PUSH_HTTP_HEADER", "")
GATEHOUSE_COMMIT_NAME = os.environ.get("GATEHOUSE_COMMIT_NAME", "Gatehouse")
GATEHOUSE_COMMIT_EMAIL = os.environ.get("GATEHOUSE_COMMIT_EMAIL", "gatehouse@localhost")
CELERY_BEAT_SCHEDULE["sync-components"] = {
    "task": "releases.sync_all_components",
    "schedule": GATEHOUSE_SYNC_INTERVAL,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
