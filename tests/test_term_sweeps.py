"""Three term sweeps of a generated county: cases found, the ledger's dynamic closure, idempotence, the contract."""
import csv
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from pipelines import db
from pipelines.config import Settings
from pipelines.errors import KcbxError, LedgerError
from pipelines.generate import generate
from pipelines.generate.ids import mistype
from pipelines.ledger import replay
from pipelines.sweep import match, reconcile_schools, sweep
from pipelines.terms import parse_terms
from tests.helpers import reported_per_school, rows, scalar, truth

TERMS = ["2025-autumn", "2026-spring", "2026-autumn"]


@pytest.mark.parametrize("term", TERMS)
def test_every_true_case_child_has_an_open_case_of_the_right_type(swept_county, term):
    settings, sources = swept_county
    expected = {pid: r["expected_case_type"] for pid, r in truth(sources, term).items()
                if r["expected_case_type"] and "ambiguous_name" not in r["hard_case"]}
    found = dict(rows(settings, "select person_key, case_type from match.findings where term = :t", t=term))
    missed = {pid: (exp, found.get(pid)) for pid, exp in expected.items() if found.get(pid) != exp}
    assert not missed, f"{len(missed)} case children missed or mistyped, e.g. {list(missed.items())[:5]}"
    if term == TERMS[0]:  # the first sweep opens a case for exactly these children
        opened = dict(rows(settings, "select person_key, case_type from ledger.cases where opened_term = :t", t=term))
        assert {k: v for k, v in opened.items() if k in expected} == expected


@pytest.mark.parametrize("term", TERMS)
def test_children_in_school_get_no_case(swept_county, term):
    settings, sources = swept_county
    no_case = {pid for pid, r in truth(sources, term).items() if not r["expected_case_type"]}
    found = {k for (k,) in rows(settings, "select person_key from match.findings where term = :t", t=term)}
    wrongly = no_case & found
    assert not wrongly, f"{len(wrongly)} children without a true case got one"


def test_child_back_in_roster_closes_case_with_roster_evidence(swept_county):
    settings, sources = swept_county
    back = [pid for pid, r in truth(sources, "2026-spring").items() if r["expected_closure"] == "back_in_school"]
    assert len(back) >= 10
    closed = rows(settings,
                  "select c.person_key, e.closure_reason, e.evidence->>'source', e.evidence->>'line' from ledger.cases c"
                  " join ledger.case_events e using (case_id) where e.to_status = 'closed' and e.term = '2026-spring'")
    by_person = {p: (reason, src, line) for p, reason, src, line in closed}
    for pid in back:
        assert by_person[pid][:2] == ("back_in_school", "roster"), pid
        assert int(by_person[pid][2]) >= 2  # a real line of the roster file
    statuses = rows(settings, "select e.to_status from ledger.cases c join ledger.case_events e using (case_id)"
                              " where c.person_key = :p order by e.seq", p=back[0])
    assert [s for (s,) in statuses][-2:] == ["returned", "closed"]


@pytest.mark.parametrize("reason", ["death", "exemption", "aged_out"])
def test_cases_close_with_the_evidence_the_term_gives(swept_county, reason):
    settings, sources = swept_county
    expected = {pid for t in TERMS[1:] for pid, r in truth(sources, t).items() if r["expected_closure"] == reason}
    assert expected, f"the generator made no {reason} closures"
    closed = {p for (p,) in rows(settings, "select c.person_key from ledger.cases c join ledger.case_events e"
                                           " using (case_id) where e.to_status = 'closed' and e.closure_reason = :r",
                                 r=reason)}
    assert expected <= closed


def test_persuasion_attempts_are_recorded_with_reason_and_responsible(swept_county):
    settings, _ = swept_county
    n, with_reason, with_person = rows(settings, "select count(*), count(reason), count(responsible) from"
                                                 " ledger.case_followups where kind = '劝返'")[0]
    assert n > 10 and with_reason == n and with_person == n
    persuading = scalar(settings, "select count(*) from report.case_ledger where status = 'persuading' and reason is not null")
    assert persuading > 0
    implied = scalar(settings, "select count(*) from ledger.case_events where evidence->>'implied_by' = '劝返'")
    assert implied == 0  # every persuaded case was verified (核查) first in the generated records


def test_exclusion_followup_excludes_the_case_and_a_later_finding_opens_a_new_one(swept_county):
    settings, _ = swept_county
    excluded = rows(settings, "select c.person_key, e.closure_reason from ledger.cases c join ledger.case_events e"
                              " using (case_id) where e.to_status = 'excluded'")
    assert excluded and all(reason == "重复数据" for _, reason in excluded)
    person = excluded[0][0]
    cases = rows(settings, "select opened_term, relapse_of from ledger.cases where person_key = :p order by case_id",
                 p=person)
    assert [t for t, _ in cases] == ["2025-autumn", "2026-autumn"] and cases[1][1] is None


def test_relapse_opens_a_new_case_linked_to_the_closed_one(swept_county):
    settings, _ = swept_county
    links = rows(settings, "select c.case_id, c.relapse_of, o.person_key = c.person_key, s.status"
                           " from ledger.cases c join ledger.cases o on o.case_id = c.relapse_of"
                           " join ledger.case_state s on s.case_id = o.case_id")
    assert links, "no relapse in three terms"
    assert all(same and status == "closed" for _, _, same, status in links)
    # what the sweep saw of the child from then on is recorded on the new case, not on the closed one
    seen = rows(settings, "select c.case_id, t.case_id from ledger.cases c join ledger.case_terms t"
                          " on t.term = c.opened_term and t.case_id in (c.case_id, c.relapse_of)"
                          " where c.relapse_of is not null")
    assert sorted(seen) == sorted((case_id, case_id) for case_id, _, _, _ in links)


def test_unclassified_cases_are_listed_as_overdue(swept_county):
    settings, _ = swept_county
    overdue = rows(settings, "select case_id, opened_term, days_open from ledger.overdue_cases(date '2026-11-24', 30)")
    suspected = scalar(settings, "select count(*) from ledger.case_state where status = 'suspected'")
    assert len(overdue) == suspected > 0  # every term started more than 30 days before 24 November 2026
    assert not rows(settings, "select * from ledger.overdue_cases(date '2026-09-20', 30) where opened_term = '2026-autumn'")
    assert all(days > 30 for _, _, days in overdue)


def test_three_unified_lists_the_persons_behind_every_poverty_difference(swept_county):
    settings, _ = swept_county
    diffs = rows(settings, "select difference, id_number_masked from report.three_unified_differences"
                           " where term = '2026-spring'")
    kinds = {d for d, _ in diffs}
    assert {"poverty_says_dropout_no_case", "case_but_poverty_says_in_school"} <= kinds
    assert all("*" in masked for _, masked in diffs)
    per_county = rows(settings, "select ledger_open_poverty_dropouts, poverty_dropouts, poverty_difference"
                                " from report.three_unified where term = '2026-spring'")
    assert per_county and all(a - b == d for a, b, d in per_county)


def test_rerunning_every_term_changes_nothing(swept_county):
    settings, sources = swept_county
    count = "select (select count(*) from ledger.case_events), (select count(*) from ledger.cases)," \
            " (select count(*) from ledger.case_followups), (select count(*) from core.registry)"
    before = rows(settings, count)
    ledger_before = rows(settings, "select * from report.case_ledger order by case_id")
    with pytest.raises(LedgerError, match="older than 2026-autumn"):
        sweep(settings, "2026-spring", str(sources / "2026-spring"))
    summary = sweep(settings, "2026-autumn", str(sources / "2026-autumn"))
    assert rows(settings, count) == before
    # what the re-run says of the ledger: the cases still open
    still_open = scalar(settings, "select count(*) from report.case_ledger where status not in ('closed', 'excluded')")
    assert summary["ledger"]["open_cases"] == still_open > 50
    assert rows(settings, "select * from report.case_ledger order by case_id") == ledger_before
    # and of matching: the term's findings by type and its persons by status
    said = {k: v for k, v in summary["match"].items() if k.startswith(("finding_", "status_"))}
    assert said == dict(rows(settings, "select 'finding_' || case_type, count(*) from match.findings"
                                       " where term = '2026-autumn' group by 1 union all select 'status_' || status,"
                                       " count(*) from match.person_term where term = '2026-autumn' group by 1"))
    assert said["status_enrolled_reported"] > 1000 and said["finding_dropout"] > 10


def test_replaying_events_gives_the_ledger(swept_county):
    settings, _ = swept_county
    from pipelines import db
    replayed = replay(db.engine(settings), "41")
    view = rows(settings, "select case_id, status, closure_reason, closed_term from report.case_ledger order by case_id")
    assert replayed == view and len(view) > 100


def test_swept_database_satisfies_the_data_contract(swept_county):
    settings, _ = swept_county
    checker = Path(__file__).resolve().parents[2] / "shared" / "tools" / "check_contract.py"
    if not checker.exists():
        pytest.skip("the shared contract checker is not beside this checkout")
    done = subprocess.run([sys.executable, str(checker), settings.database_url], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    assert "contract holds" in done.stdout


def test_analyst_tables_never_show_full_identities(swept_county):
    settings, _ = swept_county
    ids = rows(settings, "select id_number_masked, name_masked from report.case_ledger")
    assert ids and all(len(i) == 18 and i[6:14] == "********" for i, _ in ids)
    assert all(n.endswith("*") for _, n in ids)


def test_school_reconciliation_explains_every_difference_person_by_person(swept_county):
    settings, _ = swept_county
    schools = rows(settings, "select school_id, registry_count, reported_count, dropouts_listed, review_listed,"
                             " unexplained_difference from report.school_reconciliation where term = '2026-spring'")
    assert len(schools) == 11
    assert sum(r[3] for r in schools) == rows(settings, "select count(*) from match.findings where term = '2026-spring'"
                                                        " and case_type = 'dropout' and school_id is not null")[0][0]
    assert all(r[5] == 0 for r in schools), [r for r in schools if r[5]]
    assert any(r[1] != r[2] for r in schools)  # the raw counts do differ


def test_each_schools_last_term_count_is_its_rows_reported_in_the_previous_terms_roster(swept_county):
    settings, sources = swept_county
    for previous, term in zip(TERMS, TERMS[1:]):
        reported = reported_per_school(sources / previous / "roster.csv")
        got = dict(rows(settings, "select school_id, last_term_count from report.school_reconciliation"
                                  " where term = :t", t=term))
        assert got and got == {s: reported.get(s) for s in got}, term


def test_each_case_records_what_its_child_was_in_every_term_it_was_found(swept_county):
    settings, _ = swept_county
    recorded = rows(settings, "select ct.term, c.person_key, ct.person_status, coalesce(pt.status, 'not_seen')"
                              " from ledger.case_terms ct join ledger.cases c using (case_id)"
                              " left join match.person_term pt on pt.province = ct.province and pt.term = ct.term"
                              " and pt.person_key = c.person_key")
    assert [r for r in recorded if r[2] != r[3]] == []
    assert {r[2] for r in recorded} >= {"enrolled_not_reported", "not_enrolled"}


def test_reconciling_schools_needs_the_work_tables_of_a_matching_and_says_so(swept_county):
    # the sweeps reconciled their schools and dropped the work tables: a reconciliation now (a task retried after the
    # server restarted and emptied them) stops instead of counting nothing, and the counts are kept
    settings, _ = swept_county
    before = rows(settings, "select * from report.school_reconciliation order by term, school_id")
    with pytest.raises(KcbxError, match="^no matching results of province 41 to reconcile .* sweep the term again$"):
        reconcile_schools(settings, "2026-spring", None)
    # the work tables there but emptied, as a restart leaves unlogged tables
    with db.engine(settings).begin() as c:
        c.execute(sa.text("create schema match_work_41; create unlogged table match_work_41.t_files (term text)"))
    try:
        with pytest.raises(KcbxError, match="^no matching results of province 41 to reconcile"):
            reconcile_schools(settings, "2026-spring", None)
    finally:
        with db.engine(settings).begin() as c:
            c.execute(sa.text("drop schema match_work_41 cascade"))
    assert rows(settings, "select * from report.school_reconciliation order by term, school_id") == before


def test_matchings_work_tables_are_never_vacuumed_before_the_reconciliation_drops_them(swept_county):
    # autovacuum would otherwise read each table of ten million rows after matching commits, beside the ledger and
    # the reconciliation, until the reconciliation's drop cancels it
    settings, _ = swept_county
    before = rows(settings, "select * from match.person_term order by term, person_key")
    match(settings, "2026-autumn", None)
    try:
        tables = rows(settings, "select c.relname, coalesce(c.reloptions, '{}') from pg_class c"
                                " where c.relnamespace = to_regnamespace('match_work_41') and c.relkind = 'r'")
        assert len(tables) > 20
        assert [name for name, options in tables if "autovacuum_enabled=false" not in options] == []
    finally:
        reconcile_schools(settings, "2026-autumn", None)
    assert rows(settings, "select * from match.person_term order by term, person_key") == before


def _sweep_after_editing(session_database, root, edit, hard_cases):
    """Generate one term of a small county, let `edit(files)` change the rows of its hukou, registry and roster
    files (lists of dicts keyed by the Chinese headers, by source), sweep it; returns the settings and the
    generator's truth for the term."""
    generate(root / "sources", parse_terms("2025-autumn"), children=800, seed=5, hard_cases=hard_cases)
    folder = root / "sources" / "2025-autumn"
    files, headers = {}, {}
    for source in ("hukou", "registry", "roster"):
        with open(folder / f"{source}.csv", encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            files[source] = list(reader)
            headers[source] = reader.fieldnames
    edit(files)
    for source, rows_ in files.items():
        with open(folder / f"{source}.csv", "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, headers[source])
            writer.writeheader()
            writer.writerows(rows_)
    settings = Settings(data_dir=root / "data", database_url=session_database(), province="41")
    sweep(settings, "2025-autumn", str(folder))
    return settings, truth(root / "sources", "2025-autumn")


def _listed_at_own_school(files) -> list[dict]:
    """The roster rows of pupils registered 在读 at the school whose roster lists them."""
    school_of = {r["身份证号"]: r["学校标识码"] for r in files["registry"] if r["学籍状态"] == "在读"}
    return [r for r in files["roster"] if school_of.get(r["身份证号"]) == r["学校标识码"]]


def test_a_pupil_reported_at_another_school_and_one_listed_twice_show_in_the_school_counts(
        session_database, tmp_path_factory):
    # one pupil's own school reports him twice; another pupil is reported by a school he is not registered at
    schools = {}

    def edit(files):
        roster = files["roster"]
        listed = _listed_at_own_school(files)
        twice, moved = listed[0], next(r for r in listed[1:] if r["学校标识码"] == listed[0]["学校标识码"])
        schools["here"] = twice["学校标识码"]
        schools["there"] = moved["学校标识码"] = next(r["学校标识码"] for r in roster
                                                     if r["学校标识码"] != schools["here"])
        roster.append(dict(twice))

    settings, _ = _sweep_after_editing(session_database, tmp_path_factory.mktemp("moved"), edit, False)
    counts = {s: (elsewhere_here, elsewhere_there, diff) for s, elsewhere_here, elsewhere_there, diff in rows(
        settings, "select school_id, reported_elsewhere, registered_elsewhere, unexplained_difference"
                  " from report.school_reconciliation where term = '2025-autumn'")}
    assert counts[schools["here"]] == (1, 0, -1)  # the moved pupil reported elsewhere; the twice-listed one too many
    assert counts[schools["there"]] == (0, 1, 0)
    assert all(diff == 0 for s, (_, _, diff) in counts.items() if s != schools["here"])


def test_a_pupil_listed_by_two_schools_is_reported_by_his_first_roster_line(session_database, tmp_path_factory):
    # a later roster line lists the pupil again, at another school: his status, school and evidence are his first
    # line's, and the school of the later line counts him as registered elsewhere
    edited = {}

    def edit(files):
        roster = files["roster"]
        pupil = _listed_at_own_school(files)[0]
        other = next(r["学校标识码"] for r in roster if r["学校标识码"] != pupil["学校标识码"])
        roster.append({**pupil, "学校标识码": other})
        edited.update(pupil=pupil["身份证号"], school=pupil["学校标识码"], other=other,
                      first=roster.index(pupil) + 2)  # its line in the file (the header is line 1)

    settings, _ = _sweep_after_editing(session_database, tmp_path_factory.mktemp("two_schools"), edit, False)
    assert rows(settings, "select status, reported_school_id, evidence_line from match.person_term"
                          " where term = '2025-autumn' and person_key = :k", k=edited["pupil"]) == [
        ("enrolled_reported", edited["school"], edited["first"])]
    assert rows(settings, "select registered_elsewhere, unexplained_difference from report.school_reconciliation"
                          " where term = '2025-autumn' and school_id = :s", s=edited["other"]) == [(1, 0)]


def test_a_roster_row_marked_not_reported_counts_for_nothing_and_its_pupil_is_a_dropout(
        session_database, tmp_path_factory):
    # a pupil listed at his own school, marked 未报到
    edited = {}

    def edit(files):
        roster = files["roster"]
        absent = _listed_at_own_school(files)[0]
        absent["报到状态"] = "未报到"
        edited.update(school=absent["学校标识码"], absent=absent["身份证号"],
                      rows=sum(r["学校标识码"] == absent["学校标识码"] for r in roster))

    settings, _ = _sweep_after_editing(session_database, tmp_path_factory.mktemp("not_reported"), edit, False)
    assert rows(settings, "select reported_count, unexplained_difference from report.school_reconciliation"
                          " where term = '2025-autumn' and school_id = :s", s=edited["school"]) == [(edited["rows"] - 1, 0)]
    assert rows(settings, "select case_type from match.findings where person_key = :k", k=edited["absent"]) == [
        ("dropout",)]


def test_a_pupil_whose_school_also_lists_him_transferred_out_is_counted_once_as_registered_there(
        session_database, tmp_path_factory):
    # the school's registry has the pupil twice: 在读 and, on a later line, 转出 (registered twice by mistake)
    edited = {}

    def edit(files):
        registry = files["registry"]
        row = next(r for r in registry if r["学籍状态"] == "在读" and r["学校标识码"].startswith("41"))
        edited["school"] = row["学校标识码"]
        edited["count"] = sum(r["学籍状态"] == "在读" and r["学校标识码"] == row["学校标识码"] for r in registry)
        registry.append({**row, "学籍状态": "转出"})

    settings, _ = _sweep_after_editing(session_database, tmp_path_factory.mktemp("twice_at_school"), edit, False)
    counts = rows(settings, "select registry_count, unexplained_difference from report.school_reconciliation"
                            " where term = '2025-autumn' and school_id = :s", s=edited["school"])
    assert counts == [(edited["count"], 0)]


def test_a_roster_row_with_the_registry_rows_mistyped_id_finds_the_pupil_by_that_id(
        session_database, tmp_path_factory):
    # the school typed the same wrong ID number as the registry (whose row found its hukou child by 学籍号), and
    # gave neither 学籍号 nor the pupil's name: only that ID number leads to the pupil
    edited = {}

    def edit(files):
        registry, roster = files["registry"], files["roster"]
        registry_ids = {r["身份证号"] for r in registry}
        row = next(r for r in roster if r["身份证号"] and mistype(r["身份证号"]) in registry_ids)
        edited["person"] = row["身份证号"]
        row.update({"身份证号": mistype(row["身份证号"]), "全国学籍号": "", "姓名": "王某某"})

    settings, t = _sweep_after_editing(session_database, tmp_path_factory.mktemp("mistyped"), edit, True)
    assert "bad_check_digit" in t[edited["person"]]["hard_case"]
    status = rows(settings, "select status, reported_match_method from match.person_term"
                            " where term = '2025-autumn' and person_key = :p", p=edited["person"])
    assert status == [("enrolled_reported", "id")]


def test_an_id_number_on_two_hukou_rows_is_one_person_described_by_the_first(session_database, tmp_path_factory):
    # the hukou extract lists a child twice (the second row with another name): one person, from the first row
    edited = {}

    def edit(files):
        hukou = files["hukou"]
        first = hukou[len(hukou) // 2]
        edited["person"], edited["name"] = first["身份证号"], first["姓名"]
        hukou.append({**first, "姓名": "王某某"})

    settings, _ = _sweep_after_editing(session_database, tmp_path_factory.mktemp("hukou_twice"), edit, False)
    person = rows(settings, "select name, in_hukou from match.person_term where term = '2025-autumn'"
                            " and person_key = :p", p=edited["person"])
    assert person == [(edited["name"], True)]
    assert scalar(settings, "select count(*) from audit.row_issues where source = 'hukou'"
                            " and rule = 'duplicate_person'") == 2


def test_pupils_of_the_province_no_hukou_row_lists_are_persons_of_their_own(session_database, tmp_path_factory):
    # two pupils of the county's schools have no hukou row (their hukou is elsewhere): one reported at school, one
    # not; each is a person with the registry's facts, as the registry row keeps its own key
    edited = {}

    def edit(files):
        registry, roster, hukou = files["registry"], files["roster"], files["hukou"]
        reported = {r["身份证号"] for r in roster}
        pupils = [r for r in registry if r["学籍状态"] == "在读" and r["学校区划代码"].startswith("41")]
        a = next(r for r in pupils if r["身份证号"] in reported)
        b = next(r for r in reversed(pupils) if r["身份证号"] in reported)
        files["roster"] = [r for r in roster if r["身份证号"] != b["身份证号"]]
        files["hukou"] = [h for h in hukou if h["身份证号"] not in (a["身份证号"], b["身份证号"])]
        edited.update({k: (r["身份证号"], r["姓名"], r["学校区划代码"][:6]) for k, r in (("a", a), ("b", b))})

    settings, _ = _sweep_after_editing(session_database, tmp_path_factory.mktemp("no_hukou_row"), edit, False)
    found = {p: rest for p, *rest in rows(
        settings, "select person_key, name, region_code, in_hukou, match_method, status from match.person_term"
                  " where term = '2025-autumn' and person_key in (:a, :b)", a=edited["a"][0], b=edited["b"][0])}
    assert found == {edited["a"][0]: [*edited["a"][1:], False, "own_key", "enrolled_reported"],
                     edited["b"][0]: [*edited["b"][1:], False, "own_key", "enrolled_not_reported"]}
