"""kcbx_native, the C versions of the normalizers' fast-path tests: installed where the server can load them, the
same results as the SQL definitions, and loading goes on with the SQL definitions where they cannot be loaded."""
import os
import random
import shutil

import pytest
import sqlalchemy as sa

from pipelines import db, native
from pipelines.normalize_names import install_t2s_function

from .test_normalize_sql import _values

# Every normalizer staging types values with, and the functions kcbx_native replaces.
NORMALIZERS = ["kcbx.norm_id(v)", "kcbx.raw_id_valid(v)", "kcbx.id_valid(kcbx.norm_id(v))", "kcbx.parse_date(v)",
               "kcbx.iso_date(v)", "kcbx.norm_region(v)", "kcbx.norm_compact(v)", "kcbx.norm_name(v)",
               "kcbx.norm_code(v)", "kcbx.name_key(v)", "kcbx.norm_grade(v)", "kcbx.id_is_canonical(v)",
               "case when kcbx.id_is_canonical(v) then kcbx.canonical_id_valid(v) end", "kcbx.id_birth_date(v)",
               "kcbx.is_digits(v)",
               "kcbx.is_upper_alnum(v)", "kcbx.has_no_space(v)", "kcbx.is_simplified_hanzi(v)",
               "kcbx.age_on(kcbx.parse_date(v), date '2025-08-31')", "kcbx.age_on(date '2016-02-29', kcbx.parse_date(v))"]

# Values at the edges of each fast path: calendar edges, check characters, white space of every kind, names with
# traditional characters, CJK outside the basic block, text that is almost a clean value.
EDGES = ["2000-02-29", "1900-02-29", "2100-02-28", "2101-01-01", "1899-12-31", "2015-13-01", "2015-00-10",
         "2015-04-31", "2015-4-3", "2015-04-3 ", "２０１５-04-03", "410102201502290016", "11010519491231002X",
         "11010519491231002x", "110105194912310021", "410102210001010010", "41010219000229001X", "4101022015010100",
         "410102", "410102001001", "41010200100", "４１０１０２", "G41010220150101001", "g410102", "张三", "張三",
         "张 三", "张\u3000三", "张\u00a0三", "张\u2003三", "张\t三", "\u3000", "", " ", "欧阳·娜娜", "𠀀三", "丂", "龥",
         "鿿", "ꀀ", "ABC", "在读", "在 读", "初一", "１"]
# ID numbers with every check character after 17 digits of a real birth date, so that every remainder of the check
# sum is met with its right character and with wrong ones.
IDS = [f"41010220150101{i:03d}{c}" for i in range(60) for c in "0123456789X"]


def _results(conn, values):
    return conn.execute(sa.text(f"select v, {', '.join(NORMALIZERS)} from unnest(cast(:vs as text[])) v"),
                        {"vs": values}).all()


def _buildable() -> bool:
    """The library is built for the embedded server, with a C compiler."""
    return not os.environ.get("KCBX_DATABASE_URL") and bool(shutil.which("gcc") or shutil.which("cc"))


@pytest.mark.skipif(not _buildable(), reason="the library is built for the embedded server, with a C compiler")
def test_migration_installs_the_c_normalizers_on_the_embedded_server(conn):
    assert native.installed(conn)
    # and staging's typing uses them: an ID number, its validity and a date, as COPY writes them
    assert conn.execute(sa.text("select kcbx.norm_id(' 11010519491231002x'), kcbx.raw_id_valid('11010519491231002X'),"
                                " kcbx.parse_date('2015-03-09')::text")).one() == ("11010519491231002X", True,
                                                                                      "2015-03-09")


@pytest.mark.skipif(not _buildable(), reason="the library is built for the embedded server, with a C compiler")
def test_c_and_sql_normalizers_give_the_same_results(conn):
    from hypothesis import HealthCheck, given, settings as hsettings

    def both(values):
        try:
            assert native.installed(conn)
            with_c = _results(conn, values)
            db.exec_script(conn, db.sql_text("functions/normalize.sql"))   # the SQL definitions, in this transaction
            install_t2s_function(conn)
            assert not native.installed(conn)
            return with_c, _results(conn, values)
        finally:
            conn.rollback()

    with_c, with_sql = both(EDGES + IDS)
    assert [r for r, s in zip(with_c, with_sql) if r != s] == []

    @hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_values())
    def check(values):
        with_c, with_sql = both(values)
        assert [r for r, s in zip(with_c, with_sql) if r != s] == []

    check()


@pytest.mark.skipif(not _buildable(), reason="the library is built for the embedded server, with a C compiler")
def test_c_and_sql_ages_agree_on_every_birth_date(conn):
    """A child's age in full years (school age, the grade a child of that age is in), on every day of 27 years of
    birth dates, counted on the usual cutoff, on days around 29 February and before the birth."""
    ages = """select array_agg(kcbx.age_on(b.d::date, o.on_date) order by b.d, o.on_date)
              from generate_series(date '2000-01-01', date '2026-12-31', interval '1 day') b(d)
              cross join unnest(array[date '2025-08-31', date '2024-02-29', date '2025-02-28', date '2025-03-01',
                                      date '2023-02-28', date '2012-06-15', date '2000-01-01']) o(on_date)"""
    language = ("select l.lanname from pg_proc p join pg_language l on l.oid = p.prolang"
                " where p.oid = 'kcbx.age_on(date, date)'::regprocedure")
    try:
        assert conn.execute(sa.text(language)).scalar() == "c"
        with_c = conn.execute(sa.text(ages)).scalar()
        db.exec_script(conn, db.sql_text("functions/normalize.sql"))   # the SQL definition, in this transaction
        assert not native.installed(conn)
        assert with_c == conn.execute(sa.text(ages)).scalar()
    finally:
        conn.rollback()
    assert min(with_c) < 0 and max(with_c) == 25


def test_a_server_that_cannot_load_the_library_keeps_the_sql_normalizers(conn):
    db.exec_script(conn, db.sql_text("functions/normalize.sql"))
    assert native.install(conn, library="$libdir/kcbx_native_not_there") is False
    # the migration's transaction goes on, with the SQL definitions
    assert not native.installed(conn)
    assert conn.execute(sa.text("select kcbx.norm_id('11010519491231002x'), kcbx.parse_date('2015/3/9')::text")
                        ).one() == ("11010519491231002X", "2015-03-09")
    conn.rollback()


def test_migrating_again_rewrites_nothing_and_kcbx_native_off_takes_effect_at_the_next_migration(new_database,
                                                                                                monkeypatch):
    # Every command migrates first. Re-creating functions and grants while another province's sweep swaps its
    # partitions fails that sweep ("tuple concurrently updated"), so an up-to-date database is left alone.
    eng = db.engine(new_database())
    proc = "select xmin::text from pg_proc where oid = 'kcbx.age_on(date, date)'::regprocedure"
    with eng.connect() as c:
        before, native_before = c.execute(sa.text(proc)).scalar(), native.installed(c)
    db.migrate(eng)
    with eng.connect() as c:
        assert c.execute(sa.text(proc)).scalar() == before
    monkeypatch.setenv("KCBX_NATIVE", "off")
    db.migrate(eng)
    with eng.connect() as c:
        assert c.execute(sa.text(proc)).scalar() != before
        assert not native.installed(c)
        assert native_before == _buildable()


def test_repeated_hashes_are_the_values_found_more_than_once_in_c_and_in_sql(conn):
    """kcbx.repeated_hashes finds the keys a file or a term holds twice (validation's duplicate rules, matching's
    repeated ID numbers and pupils): every value found more than once, once each, nulls never; the C and the SQL
    final step agree."""
    # the last case: values over the whole range (every byte of them varies, as in 64-bit hashes), a third of them
    # repeated: several in each group of leading bits, whose finds the C version must put in order
    rng = random.Random(9)
    spread = [rng.getrandbits(64) - 2 ** 63 for _ in range(20_000)]
    cases = [[], [None, None], [5], [3, 1, 2, 3, None, 1, 1, -(2 ** 63), -(2 ** 63), 2 ** 63 - 1],
             list(range(1000)) + list(range(0, 1000, 7)) + [999] * 5,
             spread + spread[::3] + [-1, 1, -1, 0, 0, 256, 256, 2 ** 62, 2 ** 62, -(2 ** 62), -(2 ** 62)]]

    def found(values):
        return conn.execute(sa.text("select kcbx.repeated_hashes(h) from unnest(cast(:vs as bigint[])) h"),
                            {"vs": values}).scalar()

    expected = [sorted({v for v in vs if v is not None and vs.count(v) > 1}) for vs in cases]
    assert [found(vs) for vs in cases] == expected
    language = ("select l.lanname from pg_proc p join pg_language l on l.oid = p.prolang"
                " where p.oid = 'kcbx.repeated_in(bigint[])'::regprocedure")
    if _buildable():
        assert conn.execute(sa.text(language)).scalar() == "c"
        db.exec_script(conn, db.sql_text("functions/repeated_keys.sql"))   # the SQL definition, in this transaction
        try:
            assert conn.execute(sa.text(language)).scalar() == "sql"
            assert [found(vs) for vs in cases] == expected
        finally:
            conn.rollback()
