"""Report tables against hand-computed figures, and the documents analysts receive."""
from decimal import Decimal

import sqlalchemy as sa
from openpyxl import load_workbook

from pipelines import db
from pipelines.report import refresh_report_tables, write_reports
from pipelines.terms import Term
from tests.helpers import rows

T = "2025-autumn"


def persons(conn, rows, term=T):
    """match.person_term rows of a term, put in place the way matching does: a fresh partition, then attached."""
    leaf = conn.execute(sa.text("select core.new_partition('match.person_term', '41', :t)"), {"t": term}).scalar()
    for key, county, status, *school_age in rows:
        conn.execute(sa.text(
            f"insert into {leaf} (province, term, person_key, id_number, name, region_code, in_hukou, school_age,"
            " status) values ('41', :t, :k, :k, '张三', :c, true, :sa, :s)"),
            {"t": term, "k": key, "c": county, "sa": school_age[0] if school_age else True, "s": status})
    conn.execute(sa.text("select core.attach_partition('match.person_term', '41', :t)"), {"t": term})


def case(conn, key, county, case_type, term=T):
    cid = conn.execute(sa.text(
        "insert into ledger.cases (province, person_key, opened_term, case_type, id_number, name, region_code)"
        " values ('41', :k, :t, :ct, :k, '李四', :c) returning case_id"),
        {"k": key, "t": term, "ct": case_type, "c": county}).scalar()
    conn.execute(sa.text("select ledger.append_event(:i, :t, 'suspected', 'sweep', null, '{}', null, :key)"),
                 {"i": cid, "t": term, "key": f"open:{cid}"})
    conn.execute(sa.text("insert into ledger.case_terms (case_id, term, province, case_type, region_code, is_poverty,"
                         " special_groups) values (:i, :t, '41', :ct, :c, :p, :g)"),
                 {"i": cid, "t": term, "ct": case_type, "c": county, "p": case_type == "dropout",
                  "g": ["留守儿童"] if case_type == "dropout" else []})
    return cid


def build(settings):
    eng = db.prepare(settings)
    with eng.begin() as c:
        persons(c, [(f"A{i}", "410102", "enrolled_reported") for i in range(7)]
                + [("A7", "410102", "exempt"), ("A8", "410102", "enrolled_not_reported"),
                   ("A9", "410102", "not_enrolled"), ("A10", "410102", "not_enrolled", False)]
                + [(f"B{i}", "410302", "enrolled_reported") for i in range(4)])
        case(c, "A8", "410102", "dropout")
        case(c, "A9", "410102", "out_of_school")
        case(c, "C0", "410303", "national_suspect")   # a county with no pupils at all
        persons(c, [("B0", "410302", "enrolled_reported")], term="2025-spring")  # an earlier term with no cases
    refresh_report_tables(eng, settings, Term.parse(T))
    refresh_report_tables(eng, settings, Term.parse("2025-spring"))
    return eng


def indicators(settings, term=T):
    return {(lvl, code): r for lvl, code, *r in rows(settings,
            "select region_level, region_code, school_age_population, registered_students, enrollment_rate,"
            " consolidation_rate, new_cases, open_cases, poverty_open_cases, special_group_open_cases"
            " from report.region_term_indicators where term = :t", t=term)}


def test_indicators_match_hand_computed_figures(settings):
    build(settings)
    got = indicators(settings)
    d = Decimal
    assert got[("county", "410102")] == [10, 8, d("0.77778"), d("0.87500"), 2, 2, 1, 1]   # 7/(10−1); 1 − 1/8
    assert got[("county", "410302")] == [4, 4, d("1.00000"), d("1.00000"), 0, 0, 0, 0]
    assert got[("county", "410303")] == [0, 0, None, None, 1, 1, 0, 0]                    # no division by zero
    assert got[("city", "410300")] == [4, 4, d("1.00000"), d("1.00000"), 1, 1, 0, 0]
    assert got[("province", "410000")] == [14, 12, d("0.84615"), d("0.91667"), 3, 3, 1, 1]  # 11/13; 1 − 1/12


def test_a_term_with_no_cases_reports_zeros(settings):
    build(settings)
    assert indicators(settings, "2025-spring")[("county", "410302")] == [1, 1, Decimal("1.00000"),
                                                                         Decimal("1.00000"), 0, 0, 0, 0]


def test_median_days_to_closure_per_county_city_and_province(settings):
    eng = db.prepare(settings)
    with eng.begin() as c:
        persons(c, [("A0", "410102", "enrolled_reported")])
        for key, county, opened in [("D1", "410102", "2024-autumn"), ("D2", "410102", "2025-spring"),
                                    ("D3", "410302", "2025-spring"), ("D4", "410302", "2025-spring")]:
            cid = case(c, key, county, "dropout", term=opened)
            c.execute(sa.text("select ledger.append_event(:i, :t, 'closed', 'sweep', null, '{}', null, :key)"),
                      {"i": cid, "t": T, "key": f"close:{cid}"})
    refresh_report_tables(eng, settings, Term.parse(T))
    got = {(lvl, code): m for lvl, code, m in rows(
        settings, "select region_level, region_code, median_days_to_closure from report.region_term_indicators"
                  " where term = :t", t=T)}
    # closed at the start of 2025-autumn (1 September 2025): 365 days after 2024-autumn, 184 after 2025-spring
    assert got == {("county", "410102"): Decimal("274.5"), ("city", "410100"): Decimal("274.5"),
                   ("county", "410302"): Decimal("184"), ("city", "410300"): Decimal("184"),
                   ("province", "410000"): Decimal("184")}


def test_breakdowns_count_each_case_by_what_the_ledger_knew_as_of_the_term(settings):
    """Each case counts once under each dimension, by its latest case term, event and follow-up reason of the term
    or before: nothing recorded in a later term, no case opened after it."""
    eng = db.prepare(settings)

    def open_case(c, key, county, case_type, term):
        cid = c.execute(sa.text(
            "insert into ledger.cases (province, person_key, opened_term, case_type, id_number, name, region_code)"
            " values ('41', :k, :t, :ct, :k, '李四', :c) returning case_id"),
            {"k": key, "t": term, "ct": case_type, "c": county}).scalar()
        event(c, cid, term, "suspected")
        return cid

    def event(c, cid, term, to):
        c.execute(sa.text("select ledger.append_event(:i, :t, :to, 'sweep', null, '{}', null, :key)"),
                  {"i": cid, "t": term, "to": to, "key": f"{to}:{cid}:{term}"})

    def seen(c, cid, term, county, school, grade, household, groups):
        c.execute(sa.text("insert into ledger.case_terms (case_id, term, province, region_code, school_id, grade,"
                          " household_type, special_groups) values (:i, :t, '41', :c, :s, :g, :h, :sg)"),
                  {"i": cid, "t": term, "c": county, "s": school, "g": grade, "h": household, "sg": groups})

    def followup(c, cid, term, line, on, reason):
        c.execute(sa.text("insert into ledger.case_followups (case_id, term, file_hash, line, kind, recorded_on,"
                          " reason) values (:i, :t, 'f', :l, '核查', :on, :r)"),
                  {"i": cid, "t": term, "l": line, "on": on, "r": reason})

    with eng.begin() as c:
        x1 = open_case(c, "X1", "410102", "dropout", "2025-spring")           # open since the spring
        seen(c, x1, "2025-spring", "410102", "S1", 7, "脱贫户", ["留守儿童"])
        seen(c, x1, T, "410102", "S2", 8, "脱贫户", ["留守儿童", "残疾儿童"])
        seen(c, x1, "2026-spring", "410102", "S3", 8, "一般户", [])
        followup(c, x1, "2025-spring", 1, "2025-04-01", "厌学")
        followup(c, x1, T, 2, "2025-10-01", "外出务工")
        followup(c, x1, "2026-spring", 3, "2026-04-01", "其他")
        event(c, x1, "2026-spring", "closed")                                   # later: still open as of T
        x2 = open_case(c, "X2", "410102", "out_of_school", T)                   # opened and closed in T
        seen(c, x2, T, "410102", None, None, None, [])
        event(c, x2, T, "closed")
        open_case(c, "X5", "410102", "dropout", T)                              # no case term: the case's county
        x4 = open_case(c, "X4", "410302", "dropout", "2025-spring")             # closed before T
        seen(c, x4, "2025-spring", "410302", "S4", 5, None, None)
        event(c, x4, "2025-spring", "closed")
        open_case(c, "X3", "410102", "dropout", "2026-spring")                  # opened after T
    refresh_report_tables(eng, settings, Term.parse(T))
    got = {(county, dim, value): (o, n, cl) for county, dim, value, o, n, cl in rows(
        settings, "select region_code, dimension, value, open_cases, new_cases, closed_cases"
                  " from report.case_breakdowns where term = :t", t=T)}
    # (open, new, closed in T) per county, dimension and value
    assert got == {
        ("410102", "case_type", "dropout"): (2, 1, 0), ("410102", "case_type", "out_of_school"): (0, 1, 1),
        ("410102", "reason", "外出务工"): (1, 0, 0), ("410102", "reason", "未分类"): (1, 2, 1),
        ("410102", "household_type", "脱贫户"): (1, 0, 0), ("410102", "household_type", "非脱贫户"): (1, 2, 1),
        ("410102", "grade", "8"): (1, 0, 0), ("410102", "grade", "无"): (1, 2, 1),
        ("410102", "school", "S2"): (1, 0, 0), ("410102", "school", "无"): (1, 2, 1),
        ("410102", "special_group", "留守儿童"): (1, 0, 0), ("410102", "special_group", "残疾儿童"): (1, 0, 0),
        ("410302", "case_type", "dropout"): (0, 0, 0), ("410302", "reason", "未分类"): (0, 0, 0),
        ("410302", "household_type", "非脱贫户"): (0, 0, 0), ("410302", "grade", "5"): (0, 0, 0),
        ("410302", "school", "S4"): (0, 0, 0)}


def test_documents_are_written_masked_with_their_sheets(settings, tmp_path):
    eng = build(settings)
    paths = write_reports(eng, settings, Term.parse(T), tmp_path, pdf=False)
    html = next(p for p in paths if p.suffix == ".html").read_text(encoding="utf-8")
    assert "77.78%" in html and "<svg" in html and "巩固率" in html and "近似" in html
    assert "A8" not in html and "李四" not in html and "李*" in html
    monthly = load_workbook(next(p for p in paths if p.name.startswith("月报")))
    assert monthly.sheetnames == ["汇总", "分原因", "新增名单", "逾期未分类"]
    assert [c.value for c in monthly["汇总"][1]][:6] == ["学期", "层级", "区划代码", "适龄人口", "在籍学生", "入学率"]
    screening = load_workbook(next(p for p in paths if p.name.startswith("疑似辍学预警名单")))
    assert screening.sheetnames == ["疑似辍学预警名单", "人籍不一致学校"]
    assert screening["疑似辍学预警名单"].max_row == 4  # header + three open cases


def test_formulas_in_cells_are_written_as_text(tmp_path):
    from openpyxl import Workbook
    from pipelines.report.workbooks import _sheet
    wb = Workbook()
    _sheet(wb, "t", ["姓名"], [['=HYPERLINK("http://x","y")'], ["+1"], ["张三"]])
    wb.save(tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx")["t"]
    assert [ws.cell(row=r, column=1).data_type for r in (2, 3, 4)] == ["s", "s", "s"]
    assert ws.cell(row=2, column=1).value == '=HYPERLINK("http://x","y")'
