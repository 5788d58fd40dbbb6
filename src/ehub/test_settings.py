"""Settings for the test suite: eHub's settings, with the database from EHUB_TEST_DATABASE_URL.

Without it the suite runs on SQLite (pytest-django creates an in-memory test database).
"""

import os

os.environ.setdefault("EHUB_DEBUG", "1")
os.environ.setdefault("EHUB_SECRET_KEY", "ehub-test-secret-key-not-for-production-0123456789abcdef")

from ehub.settings import *  # noqa: F403
from ehub.settings import database_from_url

DEBUG = False
_url = os.environ.get("EHUB_TEST_DATABASE_URL") or "sqlite:///:memory:"
DATABASES = {"default": database_from_url(_url)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["OPTIONS"].pop("init_command", None)
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA foreign_keys=ON;"
else:
    DATABASES["default"]["CONN_MAX_AGE"] = 0

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
# Argon2 stays the hasher (tests assert it); cheaper parameters keep the suite quick.
PASSWORD_HASHERS = ["ehub.accounts.hashers.TestArgon2PasswordHasher"]
SECURE_SSL_REDIRECT = False

# Parallel test workers (pytest-xdist) share one Redis: keep their cache keys apart.
CACHES["default"]["KEY_PREFIX"] = "ehub-test-" + os.environ.get("PYTEST_XDIST_WORKER", "main")  # noqa: F405
