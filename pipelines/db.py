"""Database access: the embedded PostgreSQL, engines, migrations and running the .sql files under sql/."""
from __future__ import annotations

import hashlib
import logging
import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import SQL_DIR
from .config import Settings
from .errors import KcbxError

log = logging.getLogger(__name__)

EMBEDDED_DB = "kcbx"
MIGRATION_LOCK = 7_301_001  # advisory lock key held while migrating


def _pgserver():
    """The pgserver module, imported only here: production deployments use KCBX_DATABASE_URL and never need it."""
    with warnings.catch_warnings():  # it warns on import where XDG_RUNTIME_DIR is unset (cron, containers)
        warnings.simplefilter("ignore")
        import pgserver
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    return pgserver


def embedded_url(data_dir: Path, database: str = EMBEDDED_DB) -> str:
    """Start (or reuse) the PostgreSQL kept under `data_dir/pg` and return a URL to `database` in it.

    The server keeps running after this process exits so the next command reuses it; `kcbx db stop` stops it.
    """
    pgserver = _pgserver()
    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as e:  # pgserver raises plain exceptions with long logs
        raise KcbxError(f"could not start the embedded PostgreSQL in {pgdata}: {str(e).splitlines()[0]}") from None
    admin = server.get_uri()  # postgresql://postgres:@/postgres?host=/socket/dir
    _tune_embedded(admin, server)
    ensure_database(admin, database)
    return admin.replace("/postgres?", f"/{database}?", 1)


# The embedded server serves one machine's sweeps and no replica: bulk loads into tables made in the same
# transaction skip the WAL (wal_level minimal), checkpoints are rare during a load, and the working set of a
# province's term stays in memory. Production servers are configured by their operators (docker-compose.yml).
EMBEDDED_SETTINGS = {"wal_level": "minimal", "max_wal_senders": "0", "max_wal_size": "8GB",
                     "checkpoint_timeout": "30min", "shared_buffers": "1GB"}


def _tune_embedded(admin_url: str, server) -> None:
    eng = sa.create_engine(_driver(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            if c.exec_driver_sql("show wal_level").scalar() == EMBEDDED_SETTINGS["wal_level"]:
                return  # set on the first start, kept in postgresql.auto.conf
            for name, value in EMBEDDED_SETTINGS.items():
                c.exec_driver_sql(f"alter system set {name} = '{value}'")
    finally:
        eng.dispose()
    from pgserver._commands import pg_ctl
    log.info("restarting the embedded PostgreSQL with its settings for bulk loads")
    pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user)


# Text is compared byte-wise (collation C): ID numbers, codes and name keys are identifiers, and the indexes and
# sorts of a province-wide sweep are several times faster than under a linguistic collation.
CREATE_DATABASE = "create database \"{name}\" template template0 encoding 'UTF8' lc_collate 'C' lc_ctype 'C.UTF-8'"


def ensure_database(admin_url: str, database: str) -> None:
    eng = sa.create_engine(_driver(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            if not c.execute(sa.text("select 1 from pg_database where datname = :d"), {"d": database}).first():
                c.exec_driver_sql(CREATE_DATABASE.format(name=database))
    finally:
        eng.dispose()


def stop_embedded(data_dir: Path) -> bool:
    pgdata = (data_dir / "pg").resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    server = _pgserver().get_server(pgdata, cleanup_mode=None)
    from pgserver._commands import pg_ctl
    pg_ctl(["-w", "stop"], pgdata=pgdata, user=server.system_user)
    return True


def _driver(url: str) -> str:
    return "postgresql+psycopg2://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


def database_url(settings: Settings) -> str:
    return settings.database_url or embedded_url(settings.data_dir)


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    # temp_buffers: the ledger and report steps build temporary tables of every case of a province, and loading one
    # of a file's fields; with the default 8 MB every page of them would go through the kernel (the buffers are
    # taken only as a session needs them; matching's work tables are unlogged tables, in shared buffers)
    return sa.create_engine(_driver(url), pool_pre_ping=True, future=True,
                            connect_args={"application_name": "kcbx",
                                          "options": "-c timezone=Asia/Shanghai -c temp_buffers=1GB"})


def engine(settings_or_url: Settings | str) -> Engine:
    url = settings_or_url if isinstance(settings_or_url, str) else database_url(settings_or_url)
    return _engine(url)


def sql_text(relpath: str) -> str:
    path = SQL_DIR / relpath
    if not path.is_file():
        raise KcbxError(f"missing SQL file {path}")
    return path.read_text(encoding="utf-8")


def run_sql(conn: Connection, relpath: str, params: Mapping | None = None) -> sa.CursorResult:
    """Run one file of sql/ (may hold several statements) with `:name` parameters bound by the driver."""
    log.debug("sql %s", relpath)
    return conn.execute(sa.text(sql_text(relpath)), dict(params or {}))


def migrate(eng: Engine) -> list[str]:
    """Apply new files of sql/migrations in order, then re-create sql/functions and sql/views.

    Migrations are applied once each (recorded with their checksum); an edited, already-applied migration is an
    error. Functions and views are repeatable: re-created on every call, so they always match the code.
    """
    applied_now = []
    with eng.begin() as conn:
        conn.execute(sa.text("select pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        conn.execute(sa.text("create schema if not exists kcbx"))
        conn.execute(sa.text(
            "create table if not exists kcbx.schema_migrations (version text primary key, checksum text not null,"
            " applied_at timestamptz not null default now())"))
        done = dict(conn.execute(sa.text("select version, checksum from kcbx.schema_migrations")).all())
        for path in sorted((SQL_DIR / "migrations").glob("*.sql")):
            body = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(body.encode()).hexdigest()
            if path.stem in done:
                if done[path.stem] != digest:
                    raise KcbxError(f"migration {path.name} changed after it was applied; add a new migration instead")
                continue
            exec_script(conn, body)
            conn.execute(sa.text("insert into kcbx.schema_migrations (version, checksum) values (:v, :c)"),
                         {"v": path.stem, "c": digest})
            applied_now.append(path.stem)
        # Re-created only when their code changed: re-creating them rewrites catalog rows (functions, views, the
        # grants on every table) that a sweep running at the same time may be changing as it swaps partitions,
        # which PostgreSQL refuses ("tuple concurrently updated").
        digest = _repeatable_digest()
        if applied_now or done.get(REPEATABLE) != digest:
            from .normalize_names import install_t2s_function
            install_t2s_function(conn)
            for path in sorted((SQL_DIR / "functions").glob("*.sql")):
                exec_script(conn, path.read_text(encoding="utf-8"))
            from . import native
            native.install(conn)
            from .load.staging import ensure_staging_tables
            ensure_staging_tables(conn)
            for path in sorted((SQL_DIR / "views").glob("*.sql")):
                exec_script(conn, path.read_text(encoding="utf-8"))
            conn.execute(sa.text(
                "insert into kcbx.schema_migrations (version, checksum) values (:v, :c) on conflict (version)"
                " do update set checksum = excluded.checksum, applied_at = now()"), {"v": REPEATABLE, "c": digest})
    return applied_now


REPEATABLE = "~functions-and-views"  # the row of kcbx.schema_migrations holding the digest of what migrate re-creates


def _repeatable_digest() -> str:
    """A digest of everything migrate re-creates after the migrations: sql/functions, sql/views, the code that
    writes kcbx.t2s and the staging tables, kcbx_native (its source, whether it is built, whether it is wanted)."""
    from . import native
    from .normalize_names import t2s_pairs
    package = Path(__file__).parent
    parts = [p.read_bytes() for d in ("functions", "views") for p in sorted((SQL_DIR / d).glob("*.sql"))]
    parts += [(package / f).read_bytes() for f in ("normalize_names.py", "sources.py", "load/staging.py",
                                                   "native/__init__.py", "native/kcbx_native.c")]
    parts += [repr(t2s_pairs()).encode(), str(native.build()).encode(),
              os.environ.get("KCBX_NATIVE", "").lower().encode()]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def sql_literal(value: str) -> str:
    """A string as an SQL literal, for DDL that takes no parameters (our own values only, never input headers)."""
    return "'" + value.replace("'", "''") + "'"


def exec_script(conn: Connection, sql: str) -> None:
    """Run SQL text with no parameters (so `%` needs no escaping) on the connection's open transaction."""
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.execute(sql)


def prepare(settings: Settings) -> Engine:
    """The engine for these settings, with the schema brought up to date."""
    eng = engine(settings)
    migrate(eng)
    return eng


def ensure_province_partition(eng: Engine, table: str, province: str) -> None:
    """Make the province's partition of a core table, match.person_term or match.findings, in a transaction of its
    own: making it locks the table's root, which other provinces' sweeps hold shared for the length of their
    transactions (sql/migrations/0110_partitions_by_province_first.sql)."""
    with eng.begin() as conn:
        conn.execute(sa.text("select core.province_partition(:t, :p)"), {"t": table, "p": province})


def raw_copy(conn: Connection, copy_sql: str, stream) -> int:
    """COPY ... FROM STDIN through the psycopg2 connection under a SQLAlchemy connection; returns the rows copied."""
    dbapi = conn.connection.dbapi_connection
    with dbapi.cursor() as cur:
        cur.copy_expert(copy_sql, stream, size=1 << 20)
        return cur.rowcount

