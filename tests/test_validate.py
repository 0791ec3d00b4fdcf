"""Validation with GX on staging: the exact rows and expectations reported, and batch failures stopping a sweep."""
import csv

import pytest
import sqlalchemy as sa

from pipelines import db
from pipelines.config import Settings
from pipelines.errors import ValidationStop
from pipelines.generate import generate
from pipelines.generate.ids import check_char
from pipelines.load.loader import publish_staged, stage_file
from pipelines.load.staging import typed_columns
from pipelines.sources import SOURCES
from pipelines.sweep import sweep
from pipelines.terms import Term, parse_terms
from pipelines.validate import audit_summary, validate_staged
from tests.helpers import rows

TERM = Term.parse("2025-autumn")


def valid_id(first17: str) -> str:
    return first17 + check_char(first17)


GOOD = valid_id("41010220150309003")
HUKOU = [
    ["身份证号", "姓名", "性别", "出生日期", "户籍地区划代码"],
    [GOOD, "张伟", "男", "2015-03-09", "410102"],                       # line 2: clean
    [GOOD[:17] + ("1" if GOOD[17] != "1" else "2"), "李娜", "男", "2015-03-09", "410102"],  # 3: bad check digit
    [valid_id("41010220150309005"), "王芳", "女", "2015-03-10", "410102"],  # 4: birth date and gender ≠ ID
    [valid_id("41010220150309007"), "", "男", "2015-03-09", "410102"],     # 5: no name → rejected
    [valid_id("41010220150309009"), "赵六", "男", "2015-13-09", "410102"],  # 6: unreadable date → rejected
    [valid_id("41010220150309011"), "钱七", "不详", "2015-03-09", "410102"],  # 7: unknown gender → rejected
    [valid_id("44010220150309013"), "孙八", "男", "2015-03-09", "440102"],  # 8: outside the province
    [GOOD, "张伟", "男", "2015-03-09", "410102"],                       # 9: duplicate of line 2
    [valid_id("41010219900309015"), "周九", "男", "1990-03-09", "410102"],  # 10: not of school age
]


def write_csv(path, table):
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(table)
    return path


def test_broken_rows_are_reported_exactly(settings, tmp_path):
    eng = db.prepare(settings)
    staged = stage_file(eng, settings, TERM, "hukou", write_csv(tmp_path / "hukou.csv", HUKOU), "00000000-0000-0000-0000-000000000001")
    outcome = validate_staged(eng, settings, TERM, "hukou", staged.file_hash, staged.file_name,
                              "00000000-0000-0000-0000-000000000001")
    issues = set(rows(settings, "select line, rule, severity from audit.row_issues"))
    assert issues == {
        (3, "id_check_digit", "warning"),
        (4, "id_birth_date_mismatch", "warning"), (4, "id_gender_mismatch", "warning"),
        (5, "missing_name", "rejected"),
        (6, "unreadable_birth_date", "rejected"),
        (7, "unreadable_gender", "rejected"),
        (8, "region_outside_province", "warning"),
        (2, "duplicate_person", "warning"), (9, "duplicate_person", "warning"),
        (10, "not_school_age", "warning"),
    }
    assert (outcome.rows_rejected, outcome.rows_warned) == (3, 6)
    failed = {e for (e,) in rows(settings, "select expectation from audit.validation_runs where not success")}
    assert "unexpected_rows_expectation:id_check_digit" in failed
    assert "rejected_share_at_most" in failed  # 3 of 9 rows rejected is far above 5 %
    assert outcome.batch_failures and "rejected_share_at_most" in outcome.batch_failures[0]
    value = rows(settings, "select value, column_name, file_name from audit.row_issues where rule = 'unreadable_birth_date'")
    assert value == [("2015-13-09", "birth_date", "hukou.csv")]
    # a rule that compares rows records the value as written too
    assert set(rows(settings, "select line, value from audit.row_issues where rule = 'duplicate_person'")) == {
        (2, GOOD), (9, GOOD)}


def test_a_validated_file_publishes_all_but_its_rejected_rows(settings, tmp_path):
    eng = db.prepare(settings)
    path = write_csv(tmp_path / "hukou.csv", HUKOU + [["one field"]])
    staged = stage_file(eng, settings, TERM, "hukou", path, None)
    assert (staged.rows_read, staged.rows_rejected_on_read) == (10, 1)   # the last line has too few fields
    validate_staged(eng, settings, TERM, "hukou", staged.file_hash, staged.file_name, None)
    result = publish_staged(eng, settings, TERM, staged, None)
    assert (result.rows_read, result.rows_accepted, result.rows_rejected) == (10, 6, 4)
    assert sorted(line for (line,) in rows(settings, "select line from core.hukou")) == [2, 3, 4, 8, 9, 10]
    summary = audit_summary(eng, settings, TERM)
    assert "hukou" in summary and "id_check_digit" in summary


def test_rules_with_a_subquery_find_exactly_their_rows(settings, tmp_path):
    """A school missing from the registry and a pupil listed twice: rules evaluated as joins of their own."""
    eng = db.prepare(settings)
    run = "00000000-0000-0000-0000-000000000002"
    registry = [["全国学籍号", "身份证号", "姓名", "性别", "出生日期", "学校标识码", "学校名称", "学校区划代码", "年级",
                 "学籍状态"],
                ["G" + GOOD, GOOD, "张伟", "男", "2015-03-09", "4101020001", "实验小学", "410102", "4", "在读"]]
    stage_file(eng, settings, TERM, "registry", write_csv(tmp_path / "registry.csv", registry), run)
    roster = [["学校标识码", "全国学籍号", "身份证号", "姓名", "报到状态"],
              ["4101020001", "G" + GOOD, GOOD, "张伟", "已报到"],                      # line 2: listed twice
              ["4101020001", "G" + GOOD, GOOD, "张伟", "已报到"],                      # 3
              ["4101029999", "", valid_id("41010220150309005"), "王芳", "已报到"]]     # 4: school not in registry
    staged = stage_file(eng, settings, TERM, "roster", write_csv(tmp_path / "roster.csv", roster), run)
    validate_staged(eng, settings, TERM, "roster", staged.file_hash, staged.file_name, run)
    assert set(rows(settings, "select line, rule from audit.row_issues where source = 'roster'")) == {
        (2, "duplicate_person"), (3, "duplicate_person"), (4, "school_unknown_to_registry")}
    assert rows(settings, "select value from audit.row_issues where rule = 'school_unknown_to_registry'") == \
        [("4101029999",)]
    failed = {e for (e,) in rows(settings, "select expectation from audit.validation_runs where not success"
                                           " and source = 'roster'")}
    assert {"unexpected_rows_expectation:duplicate_person",
            "unexpected_rows_expectation:school_unknown_to_registry"} <= failed


def test_a_blank_value_of_every_column_is_typed_as_null(conn):
    # the missing_* and unreadable_* rules test the typed value first and read the raw text only when it is null
    for src in SOURCES.values():
        for c in src.columns:
            name, _, expr = typed_columns(c)[0]
            assert name == c.name
            for blank in ("", "   ", None):
                got = conn.execute(sa.text(f"select {expr} from (select cast(:v as text) as {c.name}_raw) b"),
                                   {"v": blank}).scalar()
                assert got is None, (src.name, c.name, blank, got)


def test_duplicates_are_found_by_their_whole_key_and_among_the_rows_compared(settings, tmp_path):
    """Enrolled twice (在读 on two rows) is a duplicate; enrolled once and graduated once is not. The same person
    twice in the poverty list with two household types is no duplicate; with the same type twice it is."""
    eng = db.prepare(settings)
    other = valid_id("41010220150309005")
    registry = [["全国学籍号", "身份证号", "姓名", "性别", "出生日期", "学校标识码", "学校名称", "学校区划代码", "年级",
                 "学籍状态"],
                ["G" + GOOD, GOOD, "张伟", "男", "2015-03-09", "4101020001", "实验小学", "410102", "4", "在读"],
                ["G" + GOOD, GOOD, "张伟", "男", "2015-03-09", "4101020002", "二小", "410102", "4", "在读"],
                ["G" + other, other, "王芳", "女", "2015-03-09", "4101020001", "实验小学", "410102", "4", "在读"],
                ["G" + other, other, "王芳", "女", "2015-03-09", "4101020002", "二小", "410102", "4", "毕业"]]
    poverty = [["身份证号", "姓名", "户编号", "户类型", "区划代码"],
               [GOOD, "张伟", "H1", "脱贫户", "410102"], [GOOD, "张伟", "H1", "边缘易致贫户", "410102"],
               [other, "王芳", "H2", "脱贫户", "410102"], [other, "王芳", "H2", "脱贫户", "410102"]]
    for source, table in (("registry", registry), ("poverty", poverty)):
        staged = stage_file(eng, settings, TERM, source, write_csv(tmp_path / f"{source}.csv", table), None)
        validate_staged(eng, settings, TERM, source, staged.file_hash, staged.file_name, None)
    assert set(rows(settings, "select source, line from audit.row_issues where rule = 'duplicate_person'")) == {
        ("registry", 2), ("registry", 3), ("poverty", 4), ("poverty", 5)}


@pytest.fixture
def small_county(tmp_path):
    generate(tmp_path / "src", parse_terms("2025-autumn,2026-spring"), children=400, seed=3, hard_cases=False)
    return tmp_path / "src"


def test_volume_drop_of_30_percent_stops_the_sweep_unless_accepted(settings, small_county):
    sweep(settings, "2025-autumn", str(small_county / "2025-autumn"))
    registry = small_county / "2026-spring" / "registry.csv"
    lines = registry.read_text(encoding="utf-8").splitlines(keepends=True)
    registry.write_text("".join(lines[: int(len(lines) * 0.7)]), encoding="utf-8")
    with pytest.raises(ValidationStop, match=r"registry.csv: volume drift: .* \(-3\d %, limit ±20 %\)"):
        sweep(settings, "2026-spring", str(small_county / "2026-spring"))
    assert rows(settings, "select outcome from kcbx.runs where term = '2026-spring'") == [("stopped_by_validation",)]
    assert rows(settings, "select count(*) from core.registry where term = '2026-spring'") == [(0,)]
    sweep(settings, "2026-spring", str(small_county / "2026-spring"), accept_failures=True,
          accepted_by="王科长", accept_reason="两所学校撤并")
    assert rows(settings, "select outcome, accepted_by, accept_reason from kcbx.runs where term = '2026-spring'"
                          " order by started_at") == [("stopped_by_validation", None, None),
                                                      ("succeeded", "王科长", "两所学校撤并")]
    assert rows(settings, "select count(*) > 0 from core.registry where term = '2026-spring'") == [(True,)]


def test_two_provinces_sharing_a_data_folder_keep_their_own_data_docs(new_database, tmp_path):
    # Airflow's workers sweep every province from one data folder: one province's validation must not replace the
    # other's suites or pages.
    url, data = new_database(), tmp_path / "data"
    for province in ("41", "42"):
        generate(tmp_path / province, parse_terms("2025-autumn"), children=300, seed=3, province=province)
        s = Settings(data_dir=data, database_url=url, province=province)
        sweep(s, "2025-autumn", str(tmp_path / province / "2025-autumn"))
    for province, other in (("41", "42"), ("42", "41")):
        index = (data / "data_docs" / province / "index.html").read_text(encoding="utf-8")
        assert f"staging.checks_{province}_" in index and f"staging.checks_{other}_" not in index
        assert (data / "gx" / province / "gx" / "expectations" / "kcbx_registry.json").exists()
