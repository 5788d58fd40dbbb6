"""/healthz: the process is up (no database); /readyz: it can serve (database + migrations)."""

from __future__ import annotations

import pytest
from django.db.migrations.executor import MigrationExecutor

from ehub.web import health


def test_healthz_is_ok_without_touching_the_database(client):
    # No django_db mark: pytest-django makes any database access raise here.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_login_and_rejects_writes(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_is_ready_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


class _FakeMigration:
    app_label = "accounts"
    name = "9999_not_applied"


@pytest.mark.django_db
def test_readyz_is_503_problem_when_migrations_are_pending(client, monkeypatch):
    monkeypatch.setattr(health, "_migrated", set())  # as in a process that has not checked yet
    monkeypatch.setattr(
        MigrationExecutor,
        "migration_plan",
        lambda self, targets, clean_start=False: [(_FakeMigration(), False)],
    )
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == "/api/v1/problems/not_ready"
    assert body["status"] == 503
    assert "migrations" in body["detail"]
    assert body["checks"] == {"database": "ok", "migrations": "pending"}
    assert body["errors"][0]["field"] == "checks.migrations"
    assert response["Retry-After"]


@pytest.mark.django_db
def test_readyz_is_503_problem_when_the_database_is_unreachable(client, monkeypatch):
    def unreachable(alias="default"):
        raise OSError("connection refused")

    monkeypatch.setattr(health, "check_database", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "failed"}
    assert "database" in body["detail"]
    assert "connection refused" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_cheap(client, django_assert_max_num_queries, monkeypatch):
    monkeypatch.setattr(health, "_migrated", set())
    # The first probe reads the migration state: SELECT 1, the recorder's table check + read.
    with django_assert_max_num_queries(4):
        assert client.get("/readyz").status_code == 200
    # Once complete, later probes only ask the database to answer.
    with django_assert_max_num_queries(1):
        assert client.get("/readyz").status_code == 200
