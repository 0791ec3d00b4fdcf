"""The benchmark's province generator and timed sweep, at 100,000 children: correctness only (timing lives in
bench/, see docs/performance.md)."""
import csv

from bench.province import county_codes_of, generate_province, truth_path
from bench.run_bench import STAGES, TERM, sweep_timed
from pipelines.config import Settings
from tests.helpers import rows


def test_a_generated_province_sweep_finds_exactly_its_true_cases(new_database, tmp_path):
    folder = tmp_path / TERM
    counts = generate_province(folder, 100_000)
    assert counts["hukou"] == 100_000 and counts["registry"] > 90_000
    with open(truth_path(folder), encoding="utf-8") as f:
        truth = {r["id_number"]: r["expected_case_type"] for r in csv.DictReader(f)}
    assert {"dropout", "out_of_school", "non_continuation"} == set(truth.values())

    settings = Settings(data_dir=tmp_path / "data", database_url=new_database(), province="41")
    result = sweep_timed(settings, TERM, folder)

    assert list(result["stages_s"]) == STAGES
    found = dict(rows(settings, "select person_key, case_type from match.findings where term = :t", t=TERM))
    missed = {k: v for k, v in truth.items() if found.get(k) != v}
    wrong = {k: v for k, v in found.items() if k not in truth}
    assert not missed and not wrong, (list(missed.items())[:5], list(wrong.items())[:5])
    assert rows(settings, "select count(*) from ledger.cases") == [(len(truth),)]
    # the province's 10 counties report their open dropouts, adding up to the truth and to the province's figure
    by_county = rows(settings, "select region_level, count(*), sum(open_dropouts) from report.region_term_indicators"
                               " where term = :t and region_level <> 'city' group by 1 order by 1", t=TERM)
    dropouts = sum(v == "dropout" for v in truth.values())
    assert by_county == [("county", 10, dropouts), ("province", 1, dropouts)]


def test_county_codes_stay_six_digits_at_ten_million_children():
    # 10 M children are 1,000 counties; the city part of their codes once reached 100 (seven digits), and 1 % of
    # the children were rejected for an unreadable region code
    for n in (1, 10, 100, 1000, 99 * 99):
        codes = county_codes_of("41", n)
        assert len(set(codes)) == n and all(len(c) == 6 and c.isdigit() and c.startswith("41") for c in codes)
