"""kcbx_native: the C versions of the normalizers' fast-path tests, of the step that picks the repeated values of
ten million key hashes (kcbx.repeated_in) and of a child's age in full years (kcbx.age_on, which validation and
matching compute for every child of a province), installed over their SQL definitions.

Loading types every value of every row as COPY writes it (pipelines/load/staging.py), and the tests that tell a
clean value from one needing the general normalizer (an 18-character ID number, its birth date and check
character, a YYYY-MM-DD date, a name without spaces…) are most of that cost in SQL: casts and regular expressions
cost a microsecond or more per value. kcbx_native.c does the same tests in a few nanoseconds.

At migration the library is compiled, when this machine has a C compiler and the headers of the embedded
PostgreSQL (pgserver), into that server's library folder; then the functions are re-created as C functions of
`$libdir/kcbx_native`. A server that cannot load it (another server without the library, a role that may not
create C functions, `KCBX_NATIVE=off`) keeps the SQL definitions, which give the same results
(tests/test_native.py), only slower. docs/deployment.md tells how to build it into a production server.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("kcbx_native.c")
LIBRARY = "$libdir/kcbx_native"

# The SQL signature each C function replaces (same argument names, so that CREATE OR REPLACE keeps the function
# and everything that depends on it: staging's generated columns, the inlined normalizers) and its C symbol.
FUNCTIONS = {
    "kcbx.id_is_canonical(s text) returns boolean": "kcbx_id_is_canonical",
    "kcbx.canonical_id_valid(id text) returns boolean": "kcbx_canonical_id_valid",
    "kcbx.id_birth_date(id text) returns date": "kcbx_id_birth_date",
    "kcbx.iso_date(s text) returns date": "kcbx_iso_date",
    "kcbx.is_digits(s text) returns boolean": "kcbx_is_digits",
    "kcbx.is_upper_alnum(s text) returns boolean": "kcbx_is_upper_alnum",
    "kcbx.has_no_space(s text) returns boolean": "kcbx_has_no_space",
    "kcbx.hanzi_in_set(s text, bits bytea) returns boolean": "kcbx_hanzi_in_set",
    "kcbx.repeated_in(hashes bigint[]) returns bigint[]": "kcbx_repeated_in",
    "kcbx.age_on(birth date, on_date date) returns int": "kcbx_age_on",
}


def build() -> Path | None:
    """Compile kcbx_native.c into the embedded PostgreSQL's library folder if it is not there or is out of date;
    the library's path, or None where it cannot be built here."""
    spec = importlib.util.find_spec("pgserver")  # found, not imported (its import warns without XDG_RUNTIME_DIR)
    if spec is None or not spec.submodule_search_locations:
        return None
    pg_config = Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / "pg_config"
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not pg_config.exists() or not cc:
        log.info("kcbx_native not built: no C compiler or no pg_config of the embedded PostgreSQL")
        return None
    include, libdir = subprocess.run([pg_config, "--includedir-server", "--pkglibdir"], check=True,
                                     capture_output=True, text=True).stdout.splitlines()
    target = Path(libdir) / "kcbx_native.so"
    digest = hashlib.sha256(SOURCE.read_bytes() + include.encode()).hexdigest()
    stamp = target.with_suffix(".sha256")
    if target.exists() and stamp.exists() and stamp.read_text() == digest:
        return target
    if not os.access(libdir, os.W_OK):
        log.info("kcbx_native not built: %s is not writable", libdir)
        return None
    with tempfile.TemporaryDirectory(dir=libdir) as tmp:
        built = Path(tmp) / target.name
        # the same command as Dockerfile.db's
        done = subprocess.run([cc, "-O2", "-fPIC", "-shared", "-Wall", "-Werror", f"-I{include}", "-o", built, SOURCE],
                              capture_output=True, text=True)
        if done.returncode:
            log.warning("kcbx_native could not be compiled; normalizers run as SQL: %s",
                        (done.stderr.strip().splitlines() or ["?"])[0])
            return None
        built.chmod(0o755)
        os.replace(built, target)  # a new file: servers that loaded the old one keep it until they restart
    stamp.write_text(digest)
    return target


def install(conn: Connection, library: str = LIBRARY) -> bool:
    """Re-create the fast-path tests as C functions of `library` if the server can load it (in a savepoint of the
    migration's transaction, which goes on with the SQL definitions if it cannot). Whether they were installed."""
    if os.environ.get("KCBX_NATIVE", "").lower() in ("off", "0", "no", "false"):
        return False
    if library == LIBRARY:
        build()
    from ..db import sql_literal
    from ..normalize_names import simplified_hanzi_bits
    try:
        with conn.begin_nested():
            for signature, symbol in FUNCTIONS.items():
                conn.exec_driver_sql(
                    f"create or replace function {signature} language c immutable strict parallel safe"
                    f" as {sql_literal(library)}, {sql_literal(symbol)}")
            conn.exec_driver_sql(
                "create or replace function kcbx.is_simplified_hanzi(s text) returns boolean language sql immutable"
                f" parallel safe as $fn$ select kcbx.hanzi_in_set(s, '\\x{simplified_hanzi_bits().hex()}'::bytea) $fn$")
    except sa.exc.DBAPIError as e:
        log.info("kcbx_native not installed, normalizers run as SQL: %s", str(e.orig).splitlines()[0])
        return False
    return True


def installed(conn: Connection) -> bool:
    """Whether this database's normalizers use kcbx_native."""
    return bool(conn.exec_driver_sql(
        "select l.lanname = 'c' from pg_proc p join pg_language l on l.oid = p.prolang"
        " where p.oid = 'kcbx.iso_date(text)'::regprocedure").scalar())
