"""WSGI entry point used by `ehub serve` (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehub.settings")
application = get_wsgi_application()
