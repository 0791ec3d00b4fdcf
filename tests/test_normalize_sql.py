"""The SQL normalizers every stage relies on: ID numbers, dates, genders, grades, names, masks."""
import pytest
import sqlalchemy as sa

from pipelines import db


def one(conn, sql, **params):
    return conn.execute(sa.text(sql), params).scalar()


@pytest.mark.parametrize("raw,expected", [
    ("11010519491231002X", "11010519491231002X"),
    ("11010519491231002x", "11010519491231002X"),
    (" １１０１０５１９４９１２３１００２Ｘ ", "11010519491231002X"),
    ("110105 1949 1231 002X", "11010519491231002X"),
    ("110105491231002", "11010519491231002X"),      # 15-digit legacy number → 18 with check character
    ("", None),
])
def test_id_numbers_are_normalized(conn, raw, expected):
    assert one(conn, "select kcbx.norm_id(:v)", v=raw) == expected


def test_check_digit_decides_validity(conn):
    assert one(conn, "select kcbx.id_valid('11010519491231002X')") is True
    assert one(conn, "select kcbx.id_valid('110105194912310021')") is False      # wrong check character
    assert one(conn, "select kcbx.id_valid('110105194902300026')") is False      # 30 February
    assert one(conn, "select kcbx.id_birth_date('11010519491231002X')").isoformat() == "1949-12-31"
    assert one(conn, "select kcbx.id_gender('11010519491231002X')") == "女"


@pytest.mark.parametrize("raw,expected", [
    ("2015-03-09", "2015-03-09"), ("2015/3/9", "2015-03-09"), ("20150309", "2015-03-09"),
    ("2015年3月9日", "2015-03-09"), ("42072", "2015-03-09"), ("2015-02-30", None), ("昨天", None),
])
def test_dates_in_every_office_format(conn, raw, expected):
    got = one(conn, "select kcbx.parse_date(:v)", v=raw)
    assert (got.isoformat() if got else None) == expected


@pytest.mark.parametrize("raw,expected", [("一年级", 1), ("九年级", 9), ("初一", 7), ("初三", 9), ("5", 5),
                                          ("七年级", 7), ("十年级", None)])
def test_grades(conn, raw, expected):
    assert one(conn, "select kcbx.norm_grade(:v)", v=raw) == expected


@pytest.mark.parametrize("birth,on,expected", [
    ("2019-08-31", "2025-08-31", 6), ("2019-09-01", "2025-08-31", 5),   # school age is counted on 31 August
    ("2016-02-29", "2025-02-28", 8), ("2016-02-29", "2025-03-01", 9),   # a 29 February birthday
    ("2010-12-31", "2025-01-01", 14), ("2010-01-01", "2024-12-31", 14)])
def test_age_in_full_years_on_the_cutoff_date(conn, birth, on, expected):
    assert one(conn, "select kcbx.age_on(cast(:b as date), cast(:o as date))", b=birth, o=on) == expected


def test_the_birth_date_bounds_of_an_age_range_agree_with_age_on(conn):
    # not_school_age compares birth dates with these bounds: every birth date of 2004–2022, on the usual cutoff and
    # on days around 29 February, for several age ranges
    mismatches = one(conn, """
        select count(*) from generate_series(date '2004-01-01', date '2022-12-31', interval '1 day') b(d)
        cross join unnest(array[date '2025-08-31', date '2024-02-29', date '2025-02-28', date '2025-03-01',
                                date '2024-02-28', date '2024-03-01']) o(on_date)
        cross join (values (6, 15), (5, 14), (7, 12), (6, 6)) a(lo, hi)
        where (kcbx.age_on(b.d::date, o.on_date) between a.lo and a.hi)
              <> (b.d::date between kcbx.earliest_birth_date(a.hi, o.on_date) and kcbx.latest_birth_date(a.lo, o.on_date))""")
    assert mismatches == 0
    assert one(conn, "select kcbx.earliest_birth_date(15, date '2025-08-31')").isoformat() == "2009-09-01"
    assert one(conn, "select kcbx.latest_birth_date(6, date '2025-08-31')").isoformat() == "2019-08-31"


def test_the_sql_age_on_is_inlined_into_the_queries_that_call_it(conn):
    # a call of an SQL function per row costs six times the inlined expression over a province's ten million
    # children. Where kcbx_native is installed age_on is C (tests/test_native.py); the SQL definition, re-created
    # in this transaction, is what a server without the library runs.
    try:
        db.exec_script(conn, db.sql_text("functions/normalize.sql"))
        plan = conn.execute(sa.text("explain verbose select kcbx.age_on(d, date '2025-08-31')"
                                    " from (select current_date as d offset 0) s")).scalars().all()
    finally:
        conn.rollback()
    assert not any("kcbx.age_on" in line for line in plan) and any("age(" in line for line in plan)


def test_gender_region_names_and_masks(conn):
    assert one(conn, "select kcbx.norm_gender('2')") == "女"
    assert one(conn, "select kcbx.norm_gender('M')") == "男"
    assert one(conn, "select kcbx.norm_region('410102001001')") == "410102"
    assert one(conn, "select kcbx.name_key(' 張　偉 ')") == one(conn, "select kcbx.name_key('张伟')")
    assert one(conn, "select kcbx.mask_id('410123201503091234')") == "410123********1234"
    assert one(conn, "select kcbx.mask_name('张伟')") == "张*"


# Each normalizer's fast path (for the forms clean extracts have) must give what its general form gives.
FAST_AND_GENERAL = [
    ("kcbx.norm_id(v)", "kcbx.norm_id_general(v)"),
    ("kcbx.id_valid(v)", "coalesce(v ~ '^[0-9]{17}[0-9X]$' and kcbx.id_birth_date(v) is not null"
                         " and kcbx.id_check_char(substr(v, 1, 17)) = substr(v, 18, 1), false)"),
    ("kcbx.raw_id_valid(v)", "kcbx.id_valid_of_general(kcbx.norm_id_general(v))"),
    ("kcbx.id_check_char(substr(v, 1, 17))", "case when substr(v, 1, 17) ~ '^[0-9]{17}$' then substr('10X98765432', ("
     "select sum(substr(v, i, 1)::int * (2 ^ (18 - i))::int % 11) from generate_series(1, 17) i)::int % 11 + 1, 1) end"),
    ("kcbx.parse_date(v)", "kcbx.parse_date_general(v)"),
    ("kcbx.norm_grade(v)", "kcbx.norm_grade_general(v)"),
    ("kcbx.norm_region(v)", "kcbx.norm_region_general(v)"),
    ("kcbx.norm_name(v)", "kcbx.norm_name_general(v)"),
    ("kcbx.name_key(v)", "kcbx.name_key_general(v)"),
    ("kcbx.norm_code(v)", "kcbx.norm_code_general(v)"),
    ("kcbx.norm_compact(v)", "kcbx.norm_compact_general(v)"),
    ("kcbx.norm_school_id(v)", "kcbx.norm_school_id_general(v)"),
    ("kcbx.norm_int(v)", "kcbx.norm_int_general(v)"),
    ("kcbx.norm_text(v)", "kcbx.norm_text_general(v)"),
    ("kcbx.halfwidth(v)", "translate(v, '０１２３４５６７８９Ｘｘ－　', '0123456789Xx- ')"),
]
_ALPHABET = "0123456789Xx -/.年月日一二三初张張伟偉　１２Ｘ\t·男女"


def _values():
    from hypothesis import strategies as st
    digits = st.text("0123456789", min_size=1, max_size=18)
    shaped = st.builds(lambda d, tail: (d * 18)[:17] + tail, digits, st.sampled_from(list("0123456789Xx")))
    dates = st.builds(lambda y, m, d, sep: f"{y}{sep}{m:02d}{sep}{d:02d}", st.integers(1890, 2110),
                      st.integers(0, 13), st.integers(0, 32), st.sampled_from(["-", "/", ""]))
    return st.lists(st.one_of(st.text(_ALPHABET, max_size=20), digits, shaped, dates), min_size=20, max_size=80)


def test_fast_paths_give_what_the_general_forms_give(conn):
    from hypothesis import given, settings as hsettings, HealthCheck
    @hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(_values())
    def check(values):
        differing = conn.execute(sa.text(
            "select array_agg(v) from unnest(cast(:vs as text[])) v where "
            + " or ".join(f"({fast}) is distinct from ({general})" for fast, general in FAST_AND_GENERAL)),
            {"vs": values}).scalar()
        assert differing is None, differing

    check()
