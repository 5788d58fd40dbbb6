"""Running one benchmark module once per database, each in a child process of its own.

A child gets its own Django settings (``EHUB_DATABASE_URL`` and a temporary ``EHUB_VAR_DIR``),
so benchmarks never share a configured Django. SQLite runs always, in a temporary file;
PostgreSQL runs when ``EHUB_BENCH_DATABASE_URL`` is set, in a database ``<name>_<bench>``
created for the run and dropped afterwards, also when the run fails.

The child is ``python -m bench.<bench> <label>``; it prints its result rows as JSON on its last
line of output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent


def each_database(bench: str) -> list[dict]:
    """The rows of ``bench.<bench>`` run on SQLite, then on PostgreSQL if configured."""
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix=f"ehub-bench-{bench}-") as tmp:
        rows += _child(bench, "sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", tmp)
        url = os.environ.get("EHUB_BENCH_DATABASE_URL", "")
        if url:
            rows += _postgres(bench, url, tmp)
    return rows


def _postgres(bench: str, url: str, tmp: str) -> list[dict]:
    import psycopg

    parts = urlparse(url)
    name = f"{parts.path.lstrip('/') or 'ehub'}_{bench}"
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return _child(bench, "postgresql", urlunparse(parts._replace(path=f"/{name}")), tmp)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _child(bench: str, label: str, url: str, tmp: str) -> list[dict]:
    env = {
        **os.environ,
        "EHUB_DEBUG": "1",
        "EHUB_DATABASE_URL": url,
        "EHUB_VAR_DIR": tmp,
        "EHUB_ALLOWED_HOSTS": "testserver",
        "EHUB_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "ehub.settings",
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and module, fixed arguments
        [sys.executable, "-m", f"bench.{bench}", label],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{bench} bench on {label} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
