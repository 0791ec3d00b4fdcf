"""Fixtures: a real PostgreSQL for every test.

With KCBX_DATABASE_URL set, tests create their databases on that server (the role needs CREATEDB); otherwise on
the embedded server kept under .kcbx/test-pg. One migrated template database is made per session (per worker
under `pytest -n`) and every test that asks for `settings` gets a fresh copy of it, so tests never see each other's
rows. Starting the server and migrating a template take a lock file, so parallel workers do not both restart the
server to tune it or both create the cluster's roles.
"""
from __future__ import annotations

import fcntl
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines import db
from pipelines.config import Settings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = f"kcbx_tmpl_{os.getpid()}"


@contextmanager
def _one_worker_at_a_time():
    lock = ROOT / ".kcbx" / "test-pg.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _admin_url() -> str:
    url = os.environ.get("KCBX_DATABASE_URL")
    if url:
        return url
    with _one_worker_at_a_time():
        return db.embedded_url(ROOT / ".kcbx" / "test-pg", database="postgres")


def _with_db(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    head = base.rsplit("/", 1)[0]
    return f"{head}/{name}" + (f"?{query}" if query else "")


def _admin_exec(admin_url: str, sql: str) -> None:
    eng = sa.create_engine(db._driver(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.exec_driver_sql(sql)
    finally:
        eng.dispose()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return _admin_url()


@pytest.fixture(scope="session")
def template_url(pg_admin_url):
    _admin_exec(pg_admin_url, f'drop database if exists "{TEMPLATE}"')
    _admin_exec(pg_admin_url, db.CREATE_DATABASE.format(name=TEMPLATE))
    url = _with_db(pg_admin_url, TEMPLATE)
    eng = db.engine(url)
    with _one_worker_at_a_time():
        db.migrate(eng)
    eng.dispose()
    db._engine.cache_clear()
    yield url
    _admin_exec(pg_admin_url, f'drop database if exists "{TEMPLATE}" with (force)')


def _databases(admin_url: str, prefix: str):
    """Yield a factory of fresh migrated databases (copies of the template, or of the database at `copy_of`, which
    no session may be using), dropping them afterwards."""
    made = []

    def make(copy_of: str | None = None) -> str:
        name = f"{prefix}{uuid.uuid4().hex[:12]}"
        template = sa.engine.make_url(copy_of).database if copy_of else TEMPLATE
        _admin_exec(admin_url, f'create database "{name}" template "{template}"')
        made.append(name)
        return _with_db(admin_url, name)

    yield make
    db._engine.cache_clear()
    for name in made:
        _admin_exec(admin_url, f'drop database if exists "{name}" with (force)')


@pytest.fixture
def new_database(pg_admin_url, template_url):
    """Factory: a fresh, migrated database URL (dropped after the test)."""
    yield from _databases(pg_admin_url, "kcbx_t_")


@pytest.fixture
def settings(new_database, tmp_path) -> Settings:
    """Settings for one test: its own database and data folder, province 41."""
    return Settings(data_dir=tmp_path / "data", database_url=new_database(), province="41")


@pytest.fixture
def conn(settings):
    eng = db.engine(settings)
    with eng.connect() as c:
        yield c


@pytest.fixture(scope="session")
def session_database(pg_admin_url, template_url):
    """Factory for databases shared by the tests of a module (dropped at the end of the session)."""
    yield from _databases(pg_admin_url, "kcbx_s_")


THREE_TERMS = "2025-autumn,2026-spring,2026-autumn"


@pytest.fixture(scope="session")
def swept_county(session_database, tmp_path_factory):
    """A generated county (2,500 children, hard cases) swept over three terms: (settings, source folder)."""
    from pipelines.generate import generate
    from pipelines.sweep import sweep
    from pipelines.terms import parse_terms

    root = tmp_path_factory.mktemp("county")
    settings = Settings(data_dir=root / "data", database_url=session_database(), province="41")
    generate(root / "sources", parse_terms(THREE_TERMS), children=2500, seed=11, province="41", county="410102")
    for term in THREE_TERMS.split(","):
        sweep(settings, term, str(root / "sources" / term))
    return settings, root / "sources"
