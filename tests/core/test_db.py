"""core.db.insert_rows: plain rows in, the same values read back through the ORM, on SQLite and
(with EHUB_TEST_DATABASE_URL) PostgreSQL's COPY path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ehub.core.db import insert_rows
from ehub.core.models import AuditEntry, FxRate

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 9, 9, 1, 2, 3, 456789, tzinfo=UTC)
AWKWARD = "tab\there\nnew line\r\\N back\\slash 'quote' \"dq\" 榴莲 Durian ✓ \U0001f600"
COLUMNS = ("actor_id", "actor_label", "action", "before", "after", "at", "via")
BLANKS = ("object_type", "object_id", "request_id")  # NOT NULL, no database default


def _read(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def test_values_round_trip_through_the_orm():
    payload = {"name": AWKWARD, "qty": 3, "nested": [1, None, "\\"]}
    rows = [
        (7, AWKWARD, "a.full", json.dumps(payload, ensure_ascii=False), "[]", T0, "api"),
        # NULLs everywhere the model allows them; an aware non-UTC timestamp
        (None, "", "a.nulls", None, None, T0.astimezone(timezone(timedelta(hours=8))), ""),
        # a timestamp already adapted by the backend, as customs and the task queue pass them
        (1, "x", "a.adapted", "{}", "{}", connection.ops.adapt_datetimefield_value(T0), ""),
    ]
    insert_rows(AuditEntry, COLUMNS + BLANKS, [(*row, "", "", "") for row in rows])

    full = _read("a.full")
    assert (full.actor_id, full.actor_label, full.via) == (7, AWKWARD, "api")
    assert full.before == payload
    assert full.after == []
    assert full.at == T0
    nulls = _read("a.nulls")
    assert (nulls.actor_id, nulls.before, nulls.after, nulls.actor_label) == (None, None, None, "")
    assert nulls.at == T0
    assert _read("a.adapted").at == T0
    assert AuditEntry.objects.count() == 3


def test_a_table_name_takes_column_names():
    insert_rows(
        FxRate._meta.db_table,
        ("base", "quote", "rate", "source", "as_of", "created_at"),
        [("MYR", "CNY", Decimal("1.523456789012"), "ecb", T0, T0)],
    )
    rate = FxRate.objects.get()
    assert (rate.base, rate.quote, rate.as_of) == ("MYR", "CNY", T0)
    assert rate.rate == Decimal("1.523456789012")


def test_a_model_takes_field_names_or_attnames():
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    kind = ContentType.objects.get_for_model(FxRate)
    columns = ("name", "codename")
    insert_rows(Permission, (*columns, "content_type"), [("By name", "by_name", kind.pk)])
    insert_rows(Permission, (*columns, "content_type_id"), [("By attname", "by_att", kind.pk)])
    assert set(Permission.objects.filter(content_type=kind).values_list("codename", flat=True)) >= {
        "by_name",
        "by_att",
    }


def test_no_rows_is_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        insert_rows(AuditEntry, COLUMNS, [])


def test_a_duplicate_raises_djangos_integrity_error_and_writes_nothing():
    """The ledger's retry on a concurrent duplicate id relies on this, on both backends."""
    row = ("MYR", "SGD", Decimal("0.3"), "ecb", T0, T0)
    columns = ("base", "quote", "rate", "source", "as_of", "created_at")
    insert_rows(FxRate, columns, [row])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(FxRate, columns, [("MYR", "USD", Decimal("0.2"), "ecb", T0, T0), row])
    assert list(FxRate.objects.values_list("quote", flat=True)) == ["SGD"]
