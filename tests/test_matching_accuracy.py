"""Precision and recall of the cases the comparisons open, against the generator's truth, on a 20,000-child county
over two terms with every hard case present at least 20 times; and a roster row of a child with no registry row
(人在籍不在), on a small county of its own."""
import csv
from collections import Counter

import pytest

from pipelines.config import Settings
from pipelines.generate import generate
from pipelines.sweep import sweep
from pipelines.terms import parse_terms
from tests.helpers import rows, truth

TERMS = "2025-autumn,2026-spring"
HARD_CASES = ["missing_id_roster", "roster_by_student_no", "roster_by_name", "bad_check_digit", "missing_id_registry",
              "traditional_name", "fullwidth_id", "spaced_name", "duplicate_registry", "transfer", "ambiguous_name"]
OUTCOMES = ["dropout", "out_of_school", "enrolled_elsewhere", "exempt", "home_teaching", "deceased", "on_leave",
            "completed", "non_continuation", "national_suspect_only"]


@pytest.fixture(scope="module")
def county_20k(session_database, tmp_path_factory):
    root = tmp_path_factory.mktemp("county20k")
    settings = Settings(data_dir=root / "data", database_url=session_database(), province="41")
    summary = generate(root / "sources", parse_terms(TERMS), children=20000, seed=2025)
    for term in TERMS.split(","):
        sweep(settings, term, str(root / "sources" / term))
    return settings, root / "sources", summary


def test_every_hard_case_and_outcome_is_present_at_least_20_times(county_20k):
    _, _, summary = county_20k
    assert all(summary.hard_cases.get(h, 0) >= 20 for h in HARD_CASES), summary.hard_cases
    assert all(summary.outcomes.get(o, 0) >= 20 for o in OUTCOMES), summary.outcomes


def test_precision_and_recall_of_opened_cases_are_at_least_99_5_percent(county_20k):
    settings, sources, _ = county_20k
    tp = fp = fn = 0
    misses = Counter()
    for term in TERMS.split(","):
        t = truth(sources, term)
        found = dict(rows(settings, "select person_key, case_type from match.findings where term = :t", t=term))
        for pid, r in t.items():
            expected, got = r["expected_case_type"] or None, found.pop(pid, None)
            if expected and got == expected:
                tp += 1
            else:
                fn += bool(expected)
                fp += bool(got)
                if expected or got:
                    misses[(term, r["outcome"], r["hard_case"], got)] += 1
        fp += len(found)  # findings for nobody in the truth
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\nmatching accuracy over {TERMS}: tp={tp} fp={fp} fn={fn} precision={precision:.4%} recall={recall:.4%}")
    assert precision >= 0.995 and recall >= 0.995, misses.most_common(10)


def test_ambiguous_names_go_to_review_and_open_no_case(county_20k):
    settings, sources, _ = county_20k
    ambiguous = {pid for pid, r in truth(sources, "2025-autumn").items() if "ambiguous_name" in r["hard_case"]
                 and r["outcome"] == "enrolled"}
    review = rows(settings, "select count(*) from match.review_queue where term = '2025-autumn'"
                            " and reason = 'ambiguous_name_in_school'")[0][0]
    cases = {k for (k,) in rows(settings, "select person_key from match.findings where term = '2025-autumn'")}
    statuses = dict(rows(settings, "select person_key, status from match.person_term where term = '2025-autumn'"))
    assert review >= 20
    assert not (ambiguous & cases)
    assert all(statuses[p] in ("needs_review", "enrolled_reported") for p in ambiguous)


def test_evidence_points_at_the_published_file_and_line_it_came_from(county_20k):
    # an auditor follows a finding, a case a sweep closed or a review item back to one line of one file
    settings, _, _ = county_20k
    published = "(select file_hash from audit.file_manifest m where m.term = x.term and m.source = {src}" \
                " and m.status = 'published')"
    for table, src, hash_col in [
            ("match.findings", "x.evidence->>'source'", "x.evidence->>'file_hash'"),
            ("report.case_events", "x.evidence->>'source'", "x.evidence->>'file_hash'"),
            ("match.review_queue", "x.source", "x.file_hash")]:
        checked = dict(rows(settings, f"select {src}, count(*) filter (where {hash_col} is distinct from"
                                      f" {published.format(src=src)}) from {table} x"
                                      f" where coalesce({src}, '') in ('registry', 'roster') group by 1"))
        assert checked and not any(checked.values()), (table, checked)
        if table == "report.case_events":  # dropouts opened from the registry, returns closed by a roster
            assert set(checked) == {"registry", "roster"}
    # and the line is that file's line for that person: a finding's registry row, a reported pupil's roster row
    for table, source, line, which in [
            ("match.findings", "registry", "(x.evidence->>'line')::int", "x.evidence->>'source' = 'registry'"),
            ("match.person_term", "roster", "x.evidence_line", "x.status = 'enrolled_reported'")]:
        checked, mismatched = rows(settings, f"select count(*), count(*) filter (where r.id_number is distinct from"
                                             f" x.id_number and r.id_valid) from {table} x join core.{source} r"
                                             f" on r.term = x.term and r.line = {line} where {which}")[0]
        assert checked > 0 and mismatched == 0, (source, checked, mismatched)


def test_a_pupil_on_several_registry_rows_is_one_person_counted_once_at_the_school_enrolling_him(county_20k):
    # transferred (转出 at the old school, 在读 at the new one) or registered twice: one person, whose status and
    # school come from the 在读 row, counted once in that school's registry count
    settings, sources, _ = county_20k
    with open(sources / "2025-autumn" / "registry.csv", encoding="utf-8", newline="") as f:
        registry = list(csv.DictReader(f))
    enrolled_at, pupils = {}, {}
    for r in registry:
        if r["学籍状态"] == "在读" and r["学校标识码"].startswith("41"):
            enrolled_at[r["身份证号"]] = r["学校标识码"]
            pupils.setdefault(r["学校标识码"], set()).add(r["全国学籍号"] or r["身份证号"])
    several = [pid for pid, r in truth(sources, "2025-autumn").items() if r["outcome"] == "enrolled"
               and {"transfer", "duplicate_registry"} & set(r["hard_case"].split(";"))]
    assert len(several) >= 40
    person = {k: (school, status, method) for k, school, status, method in rows(
        settings, "select person_key, school_id, status, match_method from match.person_term"
                  " where term = '2025-autumn' and person_key = any(:p)", p=several)}
    assert person == {pid: (enrolled_at[pid], "enrolled_reported", "id") for pid in several}
    counts = dict(rows(settings, "select school_id, registry_count from report.school_reconciliation"
                                 " where term = '2025-autumn'"))
    assert counts == {school: len(p) for school, p in pupils.items()}


def test_registry_rows_without_an_id_number_find_their_child_by_the_student_number(county_20k):
    # the 全国学籍号 is G + the ID number; name, birth date and gender would find most of them too, more weakly
    settings, sources, _ = county_20k
    missing = {pid for pid, r in truth(sources, "2025-autumn").items()
               if "missing_id_registry" in r["hard_case"].split(";")}
    # (a child without a registry row, out of school, is matched by nothing but the hukou: match_method 'hukou')
    method_of = {p: m for p, m in rows(settings, "select person_key, match_method from match.person_term"
                                                 " where term = '2025-autumn'") if p in missing}
    methods = Counter(method_of.values())
    assert set(methods) == {"student_no", "hukou"} and methods["student_no"] >= 20, methods
    # each such pupil is one person, in the hukou, described by his hukou row (name, region) and his registry row
    # (school): the registry row found the child by a weaker key, after the ID numbers were joined
    with open(sources / "2025-autumn" / "hukou.csv", encoding="utf-8", newline="") as f:
        hukou = {r["身份证号"]: (r["姓名"], r["户籍地区划代码"][:6]) for r in csv.DictReader(f)}
    found = rows(settings, "select person_key, in_hukou, name, region_code, school_id is not null,"
                           " evidence_line is not null from match.person_term"
                           " where term = '2025-autumn' and match_method = 'student_no'")
    assert {p for p, *_ in found} >= {p for p, m in method_of.items() if m == "student_no"}
    assert all((in_hukou, name, region, school, line) == (True, *hukou[p], True, True)
               for p, in_hukou, name, region, school, line in found), found[:3]


def test_each_person_says_whether_any_registry_row_is_a_primary_graduation_or_junior_high(county_20k):
    # what makes a non-continuation finding (毕业 in grade 6, and no 在读 or 休学 row in grade 7 or above), kept on
    # the person's row of the term; the pupils of clean ID numbers and grades, each compared with his registry rows
    settings, sources, _ = county_20k
    with open(sources / "2025-autumn" / "registry.csv", encoding="utf-8", newline="") as f:
        registry = list(csv.DictReader(f))
    expected, unclean = {}, set()
    for r in registry:
        pid, grade, status = r["身份证号"], r["年级"], r["学籍状态"]
        if not (len(pid) == 18 and pid[:17].isdigit() and grade.isdigit()):
            unclean.add(pid)
            continue
        graduate, junior = expected.get(pid, (False, False))
        expected[pid] = (graduate or (status == "毕业" and grade == "6"),
                         junior or (status in ("在读", "休学") and int(grade) >= 7))
    expected = {pid: flags for pid, flags in expected.items() if pid not in unclean}
    person = {k: (g, j) for k, g, j in rows(
        settings, "select person_key, primary_graduate, in_junior_high from match.person_term"
                  " where term = '2025-autumn' and person_key = any(:p)", p=list(expected))}
    assert len(person) > 0.99 * len(expected)
    assert person == {pid: expected[pid] for pid in person}
    assert sum(g for g, _ in person.values()) >= 20 and sum(j for _, j in person.values()) >= 20


def test_each_finding_carries_the_poverty_household_and_special_groups_listing_its_id_number(county_20k):
    # comparison 3 and the special-group check, against the two lists as the files give them
    settings, sources, _ = county_20k
    term = "2026-spring"
    with open(sources / term / "poverty.csv", encoding="utf-8", newline="") as f:
        poverty = {}
        for r in csv.DictReader(f):
            poverty[r["身份证号"]] = min(poverty.get(r["身份证号"], r["户类型"]), r["户类型"])
    with open(sources / term / "special_groups.csv", encoding="utf-8", newline="") as f:
        groups = {}
        for r in csv.DictReader(f):
            groups.setdefault(r["身份证号"], set()).add(r["类别"])
    found = rows(settings, "select coalesce(id_number, person_key), is_poverty, household_type, special_groups"
                           " from match.findings where term = :t and case_type <> 'national_suspect'", t=term)
    assert sum(p for _, p, _, _ in found) >= 20 and sum(bool(g) for *_, g in found) >= 20
    assert [(k, p, t, sorted(g)) for k, p, t, g in found] == [
        (k, k in poverty, poverty.get(k), sorted(groups.get(k, ()))) for k, *_ in found]


def test_a_roster_row_naming_a_hukou_child_with_no_registry_row_is_listed_as_attending_unregistered(
        session_database, tmp_path):
    # 人在籍不在: a child the hukou knows, attending a school that reports him, with no registry row anywhere. His ID
    # number is a person's key (the hukou child's), but no registry pupil's: the row is a registry fault listed at
    # its school, not the report of a registered pupil
    sources = tmp_path / "sources"
    generate(sources, parse_terms("2025-autumn"), children=2000, seed=7)
    settings = Settings(data_dir=tmp_path / "data", database_url=session_database(), province="41")
    child = next(r for r in truth(sources, "2025-autumn").values()
                 if r["outcome"] == "out_of_school" and not r["hard_case"])
    roster = sources / "2025-autumn" / "roster.csv"
    with open(roster, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        lines = list(reader)
    school = lines[0]["学校标识码"]
    with open(roster, "a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, reader.fieldnames).writerow({"学校标识码": school, "全国学籍号": "",
                                                       "身份证号": child["person_id"], "姓名": child["name"],
                                                       "报到状态": "已报到"})
    sweep(settings, "2025-autumn", str(sources / "2025-autumn"))

    listed = rows(settings, "select school_id, line, id_number from match.unregistered_attendees"
                            " where term = '2025-autumn'")
    assert listed == [(school, len(lines) + 2, child["person_id"])], listed
    status = rows(settings, "select status, reported_school_id from match.person_term where term = '2025-autumn'"
                            " and person_key = :p", p=child["person_id"])
    assert status == [("not_enrolled", None)], status
    unexplained, unregistered = rows(settings, "select unexplained_difference, unregistered_listed from"
                                               " report.school_reconciliation where term = '2025-autumn'"
                                               " and school_id = :s", s=school)[0]
    assert (unexplained, unregistered) == (0, 1)
