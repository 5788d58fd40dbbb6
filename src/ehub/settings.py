"""Django settings for eHub, read from the environment (see README "Configuration").

Every knob is an ``EHUB_*`` variable so one build runs the demo on SQLite and production on
PostgreSQL without editing files.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path.cwd().resolve()  # var/ lives where eHub is started (EHUB_VAR_DIR moves it)
VAR_DIR = Path(os.environ.get("EHUB_VAR_DIR", BASE_DIR / "var")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def env_map(name: str, default: str = "") -> dict[str, str]:
    """``key=value`` pairs, comma-separated (``zh-hans=CNY,en=MYR``)."""
    pairs = (part.partition("=") for part in env_list(name, default))
    return {key.strip(): value.strip() for key, _sep, value in pairs if key.strip()}


DEBUG = env_bool("EHUB_DEBUG", False)

SECRET_KEY = os.environ.get("EHUB_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "EHUB_SECRET_KEY must be set when EHUB_DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "ehub-insecure-development-key-do-not-use-in-production-0123456789"  # noqa: S105

# Key for personal data encrypted at rest. Defaults to one derived from SECRET_KEY; set it
# separately in production so rotating SECRET_KEY does not make stored ID numbers unreadable.
FIELD_ENCRYPTION_KEY = os.environ.get("EHUB_FIELD_ENCRYPTION_KEY", "")

ALLOWED_HOSTS = env_list("EHUB_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("EHUB_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    # eHub contexts, lowest first (DESIGN.md "Dependency direction").
    "ehub.core",
    "ehub.accounts",
    "ehub.catalog",
    "ehub.ledger",
    "ehub.academy",
    "ehub.campaigns",
    "ehub.payments",
    "ehub.customs",
    "ehub.fulfillment",
    "ehub.orders",
    "ehub.insights",
    "ehub.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "ehub.accounts.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ehub.core.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "ehub.accounts.middleware.ContextMiddleware",
    "ehub.core.middleware.DomainErrorPagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ehub.urls"
WSGI_APPLICATION = "ehub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ehub.web.context_processors.portal",
            ],
        },
    }
]


def database_from_url(url: str) -> dict:
    config = dj_database_url.parse(
        url, conn_max_age=int(os.environ.get("EHUB_DB_CONN_MAX_AGE", "60"))
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the writer (web + worker share one file); IMMEDIATE
        # transactions take the write lock up front instead of failing mid-transaction.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    else:
        config["CONN_HEALTH_CHECKS"] = True
    return config


DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'ehub.sqlite3'}"
DATABASES = {
    "default": database_from_url(os.environ.get("EHUB_DATABASE_URL", DEFAULT_DATABASE_URL))
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("EHUB_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A task still running this long after it started is taken to be orphaned by a dead worker
# and queued again (core.tasks.requeue_orphaned_tasks). eHub's tasks take seconds.
EHUB_TASK_LEASE_SECONDS = int(os.environ.get("EHUB_TASK_LEASE_SECONDS", "300"))

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:home"

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ms", _("Bahasa Melayu")),
    ("zh-hans", _("简体中文")),
]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Kuala_Lumpur"
LANGUAGE_COOKIE_NAME = "ehub_language"
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("EHUB_STATIC_ROOT", VAR_DIR / "static"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("EHUB_MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = os.environ.get(
    "EHUB_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EHUB_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EHUB_EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EHUB_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EHUB_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EHUB_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("EHUB_DEFAULT_FROM_EMAIL", "eHub <noreply@ehub.localhost>")

# Security. With EHUB_DEBUG off, `ehub check --deploy` reports nothing.
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from the page (hx-headers), not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("EHUB_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("EHUB_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# `ehub serve`
EHUB_WEB_WORKERS = int(os.environ.get("EHUB_WEB_WORKERS", "2"))
EHUB_WEB_THREADS = int(os.environ.get("EHUB_WEB_THREADS", "8"))
EHUB_WEB_ACCESS_LOG = os.environ.get("EHUB_WEB_ACCESS_LOG", "1") != "0"
EHUB_BIND = os.environ.get("EHUB_BIND", "127.0.0.1:8000")

# Storefront: the currencies a buyer may choose, and the one shown first for each language
# (any other language: MYR).
EHUB_STOREFRONT_CURRENCIES = tuple(
    code.upper() for code in env_list("EHUB_STOREFRONT_CURRENCIES", "CNY,MYR,SGD,USD")
)
EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE = {
    language.lower(): code.upper()
    for language, code in env_map(
        "EHUB_STOREFRONT_CURRENCY_BY_LANGUAGE", "zh-hans=CNY,en=MYR,ms=MYR"
    ).items()
}

# Customs
# Customs webhook endpoints may resolve to private, loopback, link-local or reserved addresses
# only when this is on (a developer's own receiver); off in production (SSRF).
EHUB_CUSTOMS_WEBHOOKS_ALLOW_PRIVATE = env_bool("EHUB_CUSTOMS_WEBHOOKS_ALLOW_PRIVATE", DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("EHUB_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Payments
# The sandbox wallet's webhook secret (HMAC-SHA256). Required outside debug if the sandbox is
# used; the demo/test default below exists only with EHUB_DEBUG on.
EHUB_PAYMENTS_SANDBOX_SECRET = os.environ.get("EHUB_PAYMENTS_SANDBOX_SECRET", "") or (
    "whsec_sandbox_demo_only_0123456789abcdef" if DEBUG else ""
)
# Where the sandbox wallet POSTs its callbacks (e.g. http://127.0.0.1:8000); empty: it hands
# the same signed bytes to the webhook handler in-process.
EHUB_PAYMENTS_WEBHOOK_BASE_URL = os.environ.get("EHUB_PAYMENTS_WEBHOOK_BASE_URL", "")
EHUB_PAYMENTS_WEBHOOK_TOLERANCE_SECONDS = int(
    os.environ.get("EHUB_PAYMENTS_WEBHOOK_TOLERANCE_SECONDS", "300")
)
EHUB_PAYMENTS_COMMISSION_RATE = os.environ.get("EHUB_PAYMENTS_COMMISSION_RATE", "0.05")
EHUB_PAYOUT_MINIMUM = os.environ.get("EHUB_PAYOUT_MINIMUM", "50.00")  # MYR
EHUB_PAYOUT_INTERVAL_HOURS = int(os.environ.get("EHUB_PAYOUT_INTERVAL_HOURS", "24"))

# Orders
# Minutes a checkout quote keeps its FX rate; minutes an unpaid order holds stock and quota.
EHUB_QUOTE_MINUTES = int(os.environ.get("EHUB_QUOTE_MINUTES", "15"))
EHUB_ORDER_PAYMENT_MINUTES = int(os.environ.get("EHUB_ORDER_PAYMENT_MINUTES", "30"))
# Days after delivery before an order completes without the buyer confirming receipt.
EHUB_AUTO_CONFIRM_DAYS = int(os.environ.get("EHUB_AUTO_CONFIRM_DAYS", "10"))
# Days after customs release during which a return refunds the tax and restores the quota.
EHUB_RETURN_DAYS = int(os.environ.get("EHUB_RETURN_DAYS", "30"))
# Customs codes eHub declares with: the platform (ebp) and the payment company (pay).
EHUB_ORDERS_EBP_CODE = os.environ.get("EHUB_ORDERS_EBP_CODE", "3301961234")
EHUB_ORDERS_EBP_NAME = os.environ.get("EHUB_ORDERS_EBP_NAME", "eHub Platform")
EHUB_ORDERS_PAY_CODE = os.environ.get("EHUB_ORDERS_PAY_CODE", "31222699S7")
EHUB_ORDERS_PAY_NAME = os.environ.get("EHUB_ORDERS_PAY_NAME", "eHub Sandbox Wallet")
# Freight when the fulfillment engine cannot quote (sen, MYR): first kg, each further kg.
EHUB_ORDERS_FLAT_FREIGHT_FIRST_KG = int(os.environ.get("EHUB_ORDERS_FLAT_FREIGHT_FIRST_KG", "1500"))
EHUB_ORDERS_FLAT_FREIGHT_NEXT_KG = int(os.environ.get("EHUB_ORDERS_FLAT_FREIGHT_NEXT_KG", "800"))

# Fulfillment
# The hub's local time zone (dashboard "today", inbound due dates).
EHUB_HUB_TIMEZONE = os.environ.get("EHUB_HUB_TIMEZONE", "Asia/Kuala_Lumpur")
# The hub's phone printed as the sender's on bookings and labels.
EHUB_HUB_PHONE = os.environ.get("EHUB_HUB_PHONE", "+60 3-8787 0000")
# IATA airline prefix of master air waybills on manifests (232 = Malaysia Airlines).
EHUB_MAWB_AIRLINE_PREFIX = os.environ.get("EHUB_MAWB_AIRLINE_PREFIX", "232")

# Academy
# Base URL printed in certificates' QR codes when no request gives one (e.g. https://ehub.example).
EHUB_PUBLIC_URL = os.environ.get("EHUB_PUBLIC_URL", "")
