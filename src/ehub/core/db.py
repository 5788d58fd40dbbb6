"""Bulk writes below the ORM, for the hot paths where ``bulk_create`` costs too much.

``bulk_create`` builds and compiles every row's SQL in Python; for batches of thousands of
rows (customs clearance, ledger transfers, event deliveries) that was most of the time.
``insert_rows`` writes plain tuples instead: PostgreSQL through ``COPY … FROM STDIN``
(psycopg 3), other backends through one ``executemany``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections


def insert_rows(
    model_or_table, columns: Sequence[str], rows: Sequence[tuple], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Insert ``rows`` (values in ``columns`` order) in the caller's transaction.

    ``model_or_table`` is a model, whose ``columns`` are field names (or attnames such as
    ``debit_account_id``), or a table name, whose ``columns`` are column names. Nothing is
    filled in: no defaults, no ``pre_save``, no signals.

    Values go in database form: str, int, Decimal, UUID, None, JSON as its text
    (``json.dumps``). Datetimes may be aware ``datetime`` values (on SQLite they are stored as
    naive UTC text, as Django stores them) or already adapted with
    ``connection.ops.adapt_datetimefield_value``. Text may hold anything (tabs, newlines,
    backslashes, any Unicode): values are never interpolated into the SQL.

    Database errors are raised as Django's (``IntegrityError``…) on every backend, so a
    caller may catch them the same way.
    """
    if not rows:
        return
    connection = connections[using]
    qn = connection.ops.quote_name
    if isinstance(model_or_table, str):
        table, names = model_or_table, columns
    else:
        meta = model_or_table._meta
        table, names = meta.db_table, [meta.get_field(name).column for name in columns]
    table, names = qn(table), ", ".join(qn(name) for name in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY goes through the raw psycopg cursor: wrap its errors as Django's.
            raw = getattr(cursor, "cursor", cursor)
            with (
                connection.wrap_database_errors,
                raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        if connection.vendor == "sqlite":
            # Django's SQLite backend stores datetimes as naive UTC text; match it.
            adapt = connection.ops.adapt_datetimefield_value
            rows = [
                tuple(adapt(v) if isinstance(v, dt.datetime) else v for v in row) for row in rows
            ]
        marks = ", ".join(["%s"] * len(columns))
        # Only quoted table and column names are interpolated; values are parameters.
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
