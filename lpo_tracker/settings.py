"""LPO Tracker settings, read from the environment (see the README's table).

Unset DATABASE_URL and REDIS_URL give the embedded default: SQLite and Celery's filesystem
broker under ./var, so the app runs on a laptop with nothing else installed. Set them for
PostgreSQL and Redis. LPO_ENV=production switches on the hardening that
`manage.py check --deploy` asks for, and refuses to start without a real secret key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from lpo_tracker.envconfig import (
    env_bool,
    env_choice,
    env_clamav_address,
    env_database,
    env_int,
    env_keyed_secrets,
    env_list,
    env_networks,
    env_redis_url,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# Relative to the checkout, never to the current directory: `make run` and a `manage.py`
# command run from anywhere find the same embedded database.
VAR_DIR = BASE_DIR / Path(env_str("LPO_VAR_DIR", "var")).expanduser()

LPO_ENV = env_choice("LPO_ENV", "development", ("development", "production"))
PRODUCTION = LPO_ENV == "production"
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)

_DEV_SECRET = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghijklmnop"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of 50+ characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names the app is served on.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# A refused form gets a page in the site's layout that says what to do (reload, send again).
CSRF_FAILURE_VIEW = "supervision.error_pages.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "axes",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "django_htmx",
    "django_filters",
    "lpo_tracker.core",
    "lpo_tracker.audit",
    "lpo_tracker.signin",
    "vendors",
    "matters",
    "supervision",
]

MIDDLEWARE = [
    # /healthz and /readyz, before host checks and the HTTPS redirect (a health probe speaks
    # plain HTTP to the container's own address).
    "lpo_tracker.core.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files carry the policy too: every response has it.
    "csp.middleware.CSPMiddleware",
    "lpo_tracker.core.headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Refuses oversized and streamed bodies before anything reads them, and (process_view,
    # before CsrfViewMiddleware's) large bodies to views that take no upload.
    "lpo_tracker.core.request_limits.RequestBodyLimitMiddleware",
    "lpo_tracker.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Sign-in block (lpo_tracker/signin): idle and absolute session limits, allauth's
    # login stages, MFA enrolment before anything else, no-store on every page.
    "lpo_tracker.signin.middleware.SessionTimeoutMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "lpo_tracker.signin.middleware.MFAEnrolmentMiddleware",
    "lpo_tracker.signin.no_store.NoStoreMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by its backend into the page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "lpo_tracker.urls"
WSGI_APPLICATION = "lpo_tracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [
            BASE_DIR / "lpo_tracker" / "templates",
            # supervision's subpackages keep their own templates next to their views.
            BASE_DIR / "supervision" / "portal" / "templates",
            BASE_DIR / "supervision" / "reports" / "templates",
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supervision.context_processors.navigation",
                "supervision.context_processors.unread",
            ],
        },
    },
]

DATABASES = {
    "default": env_database(
        "DATABASE_URL",
        {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "lpo_tracker.sqlite3")},
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Wait for a writer instead of failing at once: web, worker and beat share one file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Short OLTP queries: JIT compilation cost 218 ms of a 1.6 s matter list at 100k tasks
    # and never pays back here (docs/performance.md, fix 4).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rendered review queues, per user and page version (supervision/page_cache.py). In-process
# memory: nothing to run or lose, and a stale entry is impossible by construction (the key
# holds the database's version), so each worker keeping its own copy costs memory only.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 1000},
    }
}
# How long a rendered review queue may be reused if nothing changes (0 = never cached).
REVIEW_QUEUE_CACHE_SECONDS = env_int("REVIEW_QUEUE_CACHE_SECONDS", 60, minimum=0)

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out user or address is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_404 = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "supervision:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
# The firm's own zone: the default for new matters and for the business-day calendar.
FIRM_TIME_ZONE = env_timezone("FIRM_TIME_ZONE", "America/New_York")
FIRM_HOLIDAY_COUNTRY = env_str("FIRM_HOLIDAY_COUNTRY", "US")
# The region of that country (holidays' subdivision code, e.g. NY, ENG): intake's default.
# Empty: intake asks, where the country's holidays differ by region.
FIRM_HOLIDAY_SUBDIVISION = env_str("FIRM_HOLIDAY_SUBDIVISION", "")
FIRM_NAME = env_str("FIRM_NAME", "Hale & Whitmore LLP")
# Where a matter names a jurisdiction, the signing attorney's active bar admission must be in
# it (docs/rules.md, section 1, says why).
SIGNOFF_REQUIRES_JURISDICTION = env_bool("SIGNOFF_REQUIRES_JURISDICTION", True)

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "lpo_tracker" / "static"]
STORAGES = {
    "default": {
        # Work product is confidential: stored outside any URL, served only by permission-
        # checked views. There is deliberately no MEDIA_URL route. Writes only scanned files.
        "BACKEND": "lpo_tracker.storage.ScannedFileSystemStorage",
        "OPTIONS": {"location": str(Path(env_str("PRIVATE_MEDIA_ROOT", str(VAR_DIR / "private"))))},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# The fonts the supervision file's PDF report embeds (Debian's fonts-dejavu-core); the report
# loads no other file and nothing from the network (supervision/supervision_file/report.py).
SUPERVISION_FILE_FONT_DIR = env_str("SUPERVISION_FILE_FONT_DIR",
                                    "/usr/share/fonts/truetype/dejavu")
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_MB", 200, minimum=1) * 1024 * 1024
# The whole request body of an upload: the file plus multipart framing and the form's other
# fields. nginx's client_max_body_size (deploy/nginx.conf) is the same figure.
MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Celery -----------------------------------------------------------------------------
REDIS_URL = env_redis_url("REDIS_URL")
# Prepended to every Redis key Celery uses (queues and results), so that several
# deployments, or several test runs, can share one Redis database without meeting.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # A task taken by a worker that died is handed to another after this. 600 s: longer
        # than the longest hard time limit (300 s), so a running task is never handed out
        # twice, and no countdown or ETA in the project exceeds it (the longest retry delay is
        # 300 s). The beat's 5-minute sweep recovers sooner anyway: it redoes the work from
        # the database, not from the message.
        "visibility_timeout": 600,
    }
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS: dict[str, object] = {}
    if REDIS_KEY_PREFIX:
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = REDIS_KEY_PREFIX
        CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["global_keyprefix"] = REDIS_KEY_PREFIX
else:
    _BROKER_DIR = VAR_DIR / "celery"
    CELERY_BROKER_URL = "filesystem://"
    # kombu's filesystem transport, but writing each message atomically (temp file + rename):
    # the stock one let the worker read a half-written file and die (lpo_tracker.filesystem_broker).
    CELERY_BROKER_TRANSPORT = "lpo_tracker.filesystem_broker:Transport"
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'celery-results'}"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # The filesystem broker does not create its folders; every process (web, worker, beat,
    # a management command) may be the first to need them.
    for _folder in ("out", "out/.incoming", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tasks are idempotent and acknowledged late: on a lost broker connection, hand running
# ones back for redelivery rather than finish them unacknowledged.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- Audit trail -------------------------------------------------------------------------
# The chain key seals every audit event (HMAC); it lives in the environment, never in the
# database, so a database writer cannot forge or re-hash events (docs/audit.md). Each event
# stores the id of the key that sealed it; retired keys stay listed to verify older events.
AUDIT_HMAC_KEY_ID = env_str("AUDIT_HMAC_KEY_ID", "k1" if PRODUCTION else "dev")
_AUDIT_KEY = env_str("AUDIT_HMAC_KEY", "")
if not _AUDIT_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "AUDIT_HMAC_KEY must be set to a random value of 32+ characters (the audit chain "
            "key; keep it outside the database and its backups)."
        )
    # Development only: derived from SECRET_KEY, so it is stable for one checkout.
    _AUDIT_KEY = hmac.new(SECRET_KEY.encode(), b"lpo-audit-chain-dev", hashlib.sha256).hexdigest()
elif len(_AUDIT_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_HMAC_KEY must be 32+ characters.")
AUDIT_HMAC_KEYS: dict[str, str] = {
    **env_keyed_secrets("AUDIT_HMAC_RETIRED_KEYS", min_length=32),
    AUDIT_HMAC_KEY_ID: _AUDIT_KEY,
}
# Anchors of the chain's head (count and hash), written outside the database by the
# periodic `audit.anchor_head` task: always to the log; to these addresses; and to this file
# (by default under the var dir in the embedded SQLite set-up).
AUDIT_ANCHOR_EMAILS = env_list("AUDIT_ANCHOR_EMAILS", [])
AUDIT_ANCHOR_FILE = env_str(
    "AUDIT_ANCHOR_FILE",
    str(VAR_DIR / "audit-anchors.jsonl")
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    else "",
)
# /readyz: a heartbeat (worker, beat) or the oldest unsent e-mail older than this is reported
# as failing. Beat sends the worker's heartbeat every 30 s; the reminder sweep runs every 5 min.
READYZ_HEARTBEAT_MAX_AGE_SECONDS = env_int("READYZ_HEARTBEAT_MAX_AGE_SECONDS", 120, minimum=1)
READYZ_UNSENT_EMAIL_MAX_AGE_SECONDS = env_int(
    "READYZ_UNSENT_EMAIL_MAX_AGE_SECONDS", 900, minimum=1
)

# --- E-mail ------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "LPO Tracker <lpo-tracker@localhost>")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# Where the reminder outbox reports e-mails that gave up (once the mail server answers again).
OPS_ALERT_EMAIL = env_str("OPS_ALERT_EMAIL", "")

# --- Security ----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
X_FRAME_OPTIONS = "DENY"  # the review page's PDF frame opts in with xframe_options_sameorigin
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Sign-in, MFA and sessions (lpo_tracker/signin; docs/security.md) ---------------------
# One cache for every web process: rate limits and used TOTP codes must be seen by all of
# them. Redis when REDIS_URL is set; else a folder under var/ (runstack's processes share it).
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "lpo"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache")}}

# Lockout (django-axes): N failures within the window lock the username, and separately the
# address, for the same period. Attempts live in the database (shared by every process,
# listed in the admin, where deleting them unlocks, audited).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_USE_ATTEMPT_EXPIRATION = True  # failures older than the window stop counting
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_CALLABLE = "lpo_tracker.signin.lockout.username_of"
AXES_LOCKOUT_CALLABLE = "lpo_tracker.signin.lockout.lockout_response"
# A success must not wipe failures: with per-address counting it would clear other users'.
AXES_RESET_ON_SUCCESS = False
AXES_ENABLE_ADMIN = False  # lpo_tracker.signin.admin registers the audited unlock instead
SIGNIN_HELP_CONTACT = env_str("SIGNIN_HELP_CONTACT", "the firm's IT help desk")

# Accounts and MFA (django-allauth): usernames, no self sign-up, no e-mail verification
# (accounts are made by the firm). Django's own views keep password change and reset.
ACCOUNT_ADAPTER = "lpo_tracker.signin.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "lpo_tracker.signin.forms.SignInForm"}
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = True  # the session lasts SESSION_COOKIE_AGE, idle limit aside
ACCOUNT_REAUTHENTICATION_TIMEOUT = env_int("SIGNOFF_CONFIRMATION_SECONDS", 300, minimum=30)
# allauth's own "login_failed" limit guards the second-factor codes (5 wrong per user in
# 5 minutes, 10 a minute per address); wrong passwords are axes's (AccountAdapter).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = FIRM_NAME
MFA_TOTP_PERIOD = 30
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION  # http://127.0.0.1 in development
# Who must use a second factor: any of attorneys, vendors, admins (comma-separated).
MFA_REQUIRED_FOR = frozenset(env_list("MFA_REQUIRED_FOR", ["attorneys", "vendors", "admins"]))
_unknown_roles = MFA_REQUIRED_FOR - {"attorneys", "vendors", "admins", "none"}
if _unknown_roles:
    raise ImproperlyConfigured(
        f"MFA_REQUIRED_FOR: unknown {', '.join(sorted(_unknown_roles))}; "
        "use attorneys, vendors, admins or none."
    )
# A sign-off needs a second factor (password where the user has none) this recent.
SIGNOFF_CONFIRMATION_SECONDS = ACCOUNT_REAUTHENTICATION_TIMEOUT
# Sessions end after this much inactivity, and SESSION_COOKIE_AGE after sign-in at the latest.
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
# --- Headers, request limits, uploads and deployment (docs/security.md) ----------------
# Content-Security-Policy (django-csp): nothing inline, nothing from another origin. htmx's
# own indicator <style> is switched off in base.html (htmx-config meta) and lives in app.css.
# The inline document viewer replaces this with `sandbox` (supervision.views).
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],  # the review page frames the document, same origin
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],  # as X_FRAME_OPTIONS; the viewer allows its own origin
        "upgrade-insecure-requests": PRODUCTION,
    },
}
# Browser features no page uses are switched off; security keys (WebAuthn) stay available
# to the app's own pages for the second factor.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [], "autoplay": [], "camera": [], "display-capture": [],
    "geolocation": [], "gyroscope": [], "magnetometer": [], "microphone": [], "midi": [],
    "payment": [], "usb": [], "serial": [], "hid": [], "bluetooth": [],
    "browsing-topics": [], "screen-wake-lock": [], "xr-spatial-tracking": [],
    "publickey-credentials-create": ["self"], "publickey-credentials-get": ["self"],
}
# Addresses (IPs or CIDR networks) of the reverse proxies whose X-Forwarded-For is believed;
# from anyone else the header is ignored and the peer address is the client (django-ipware).
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES", [])
# django-axes counts failed sign-ins per address: the same address the audit trail records,
# or behind the proxy every client would share (and lock out) the proxy's.
AXES_CLIENT_IP_CALLABLE = "lpo_tracker.core.client_ip.client_ip"
# ClamAV: every upload is scanned before it is stored. "unix:///path", "/path" or
# "tcp://host:port"; "off" to run without scanning. Unset: on when Debian's clamd socket is
# present (the embedded default runs without it). Configured but unreachable refuses uploads.
CLAMAV_ADDRESS = env_clamav_address("CLAMAV_ADDRESS", default_socket="/var/run/clamav/clamd.ctl")
CLAMAV_TIMEOUT_SECONDS = env_int("CLAMAV_TIMEOUT_SECONDS", 120, minimum=1)

# One handler on the root logger; Django's own loggers propagate to it instead of printing a
# second copy through Django's default console handler. Every line has the request id; a
# refused request (4xx) is one line, without the traceback (lpo_tracker.logs).
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "lpo_tracker.logs.RequestIdFilter"},
        "refused_request": {"()": "lpo_tracker.logs.RefusedRequestFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {"()": "lpo_tracker.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "refused_request"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
