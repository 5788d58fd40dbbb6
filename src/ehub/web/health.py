"""Probes for load balancers and orchestrators: ``/healthz`` (alive) and ``/readyz`` (ready).

* ``/healthz`` answers 200 whenever the process can serve a request. It touches nothing
  else, so a slow database never gets a healthy process restarted.
* ``/readyz`` answers 200 only when the database answers a trivial query and every migration
  is applied; otherwise 503 problem+json naming the failing check. A process that is up but
  not ready is taken out of rotation, not killed.

Both are plain views: no login, no session, no CSRF, no template. Neither is cached.
"""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from ehub.core.problem import problem_response

logger = logging.getLogger("ehub.health")


@csrf_exempt
@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def check_database(alias: str = DEFAULT_DB_ALIAS) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


# Aliases whose migrations were seen complete. The code of a running process cannot gain
# migrations, and applied ones are not unapplied under it, so once complete a probe need not
# load the whole migration graph again (that costs tens of milliseconds per probe).
_migrated: set[str] = set()


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Migrations not yet applied, as ``app.name`` labels (empty when up to date)."""
    if alias in _migrated:
        return []
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    if not pending:
        _migrated.add(alias)
    return pending


@csrf_exempt
@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    checks: dict[str, str] = {}
    try:
        check_database()
        checks["database"] = "ok"
    except Exception:
        logger.exception("readyz: database check failed")
        checks["database"] = "failed"
        return _not_ready(request, "database", _("The database is not reachable."), checks)
    try:
        pending = pending_migrations()
    except Exception:
        logger.exception("readyz: migration check failed")
        checks["migrations"] = "failed"
        return _not_ready(request, "migrations", _("Could not read the migration state."), checks)
    if pending:
        checks["migrations"] = "pending"
        return _not_ready(
            request,
            "migrations",
            _("%(count)d migration(s) not applied; run 'ehub migrate'.") % {"count": len(pending)},
            checks,
        )
    checks["migrations"] = "ok"
    return JsonResponse({"status": "ready", "checks": checks})


def _not_ready(
    request: HttpRequest, check: str, detail: str, checks: dict[str, str]
) -> HttpResponse:
    response = problem_response(
        request,
        503,
        code="not_ready",
        detail=_("Readiness check '%(check)s' failed: %(detail)s")
        % {"check": check, "detail": detail},
        errors=[{"field": f"checks.{check}", "message": detail, "code": checks[check]}],
        extensions={"checks": checks},
    )
    response["Retry-After"] = "5"
    return response
