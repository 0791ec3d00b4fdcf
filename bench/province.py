"""A whole province's extracts for benchmarks, generated with numpy (10 million children in minutes).

Proportions: about 95 % enrolled and reported, 1.5 % dropouts, 1 % out of school, 1.5 % enrolled in another
province, 0.5 % on leave, 0.5 % exempted, 0.2 % deceased; 7 % poverty households, 8 % special groups, a national
list of 0.3 %. Counties: 100 per 1 million children (10 cities), 25 schools each.
"""
from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.generate.ids import GIVEN, SURNAMES
from pipelines.sources import SOURCES

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.array(list("10X98765432"))
OUTCOMES = ["enrolled", "dropout", "out_of_school", "elsewhere", "on_leave", "exempt", "deceased"]
SHARES = [0.948, 0.015, 0.01, 0.015, 0.005, 0.005, 0.002]


def _ids(county: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    ymd = pd.to_datetime(birth).strftime("%Y%m%d").to_numpy().astype(str)
    first17 = np.char.add(np.char.add(county.astype(str), ymd), np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer(first17.astype("S17").tobytes(), dtype=np.uint8).reshape(-1, 17) - ord("0")
    return np.char.add(first17, CHECK[(digits * WEIGHTS).sum(axis=1) % 11])


CHUNK_COUNTIES = 50  # generated and written 50 counties (about 500,000 children) at a time: memory stays flat


def truth_path(out: Path) -> Path:
    """id_number, expected case type of every child who should get a case: beside the source folder, not in it."""
    return out.parent / f"{out.name}-truth.csv"


def county_codes_of(province: str, n_counties: int) -> list[str]:
    """Six-digit county codes (GB/T 2260: province, city, county, two digits each), about ten counties per city."""
    cities = min(99, max(1, n_counties // 10))
    if n_counties > cities * 99:
        raise ValueError(f"a province has at most {99 * 99} counties")
    return [f"{province}{1 + c % cities:02d}{1 + c // cities:02d}" for c in range(n_counties)]


def generate_province(out: Path, children: int, province: str = "41", school_year: int = 2025, seed: int = 1) -> dict:
    """Write the province's first-term extracts to `out` (and the truth beside it, `truth_path`); returns the row
    count of each file."""
    out.mkdir(parents=True, exist_ok=True)
    n_counties = max(1, children // 10_000)
    county_codes = np.array(county_codes_of(province, n_counties))
    counts: dict[str, int] = {}
    for first in range(0, n_counties, CHUNK_COUNTIES):
        codes = county_codes[first:first + CHUNK_COUNTIES]
        size = children * (first + len(codes)) // n_counties - children * first // n_counties
        frames, truth = _counties(codes, size, school_year, np.random.default_rng([seed, first]))
        append = {"index": False, "header": first == 0, "mode": "w" if first == 0 else "a"}
        for source, df in frames.items():
            df.columns = [SOURCES[source].column(c).headers[0] for c in df.columns]
            df.to_csv(out / f"{source}.csv", **append)
            counts[source] = counts.get(source, 0) + len(df)
        truth.to_csv(truth_path(out), **append)
    followups = out / "followups.csv"
    followups.write_text(",".join(c.headers[0] for c in SOURCES["followups"].columns) + "\n", encoding="utf-8")
    return counts


def _counties(county_codes: np.ndarray, children: int, school_year: int, rng) -> tuple[dict, pd.DataFrame]:
    n_counties = len(county_codes)
    county = county_codes[rng.integers(0, n_counties, children)]
    age = rng.integers(6, 16, children)
    cutoff = np.datetime64(f"{school_year}-08-31")
    birth = cutoff - (age * 365.25).astype("timedelta64[D]") - rng.integers(0, 365, children).astype("timedelta64[D]")
    male = rng.random(children) < 0.52
    seq = (np.arange(children) % 500) * 2 + male
    # keep ids unique: spread the sequence by a per-child offset within its birth date
    ids = _ids(county, birth, seq)
    dup = pd.Series(ids).duplicated().to_numpy()
    while dup.any():
        seq[dup] = (seq[dup] + 2) % 1000
        ids[dup] = _ids(county[dup], birth[dup], seq[dup])
        dup = pd.Series(ids).duplicated().to_numpy()
    names = np.char.add(np.array(SURNAMES)[rng.integers(0, len(SURNAMES), children)],
                        np.array(GIVEN)[rng.integers(0, len(GIVEN), children)])
    gender = np.where(male, "男", "女")
    outcome = np.array(OUTCOMES)[rng.choice(len(OUTCOMES), children, p=SHARES)]
    grade = np.clip(age - 5, 1, 9)
    school = np.char.add(county, np.char.zfill((rng.integers(0, 25, children)).astype(str), 4))
    birth_s = pd.to_datetime(birth).strftime("%Y-%m-%d").to_numpy()
    hukou = pd.DataFrame({"id_number": ids, "name": names, "gender": gender, "birth_date": birth_s,
                          "region_code": np.char.add(county, "001001"), "household_no": "",
                          "hukou_status": np.where(outcome == "deceased", "死亡", "正常")})
    in_reg = np.isin(outcome, ["enrolled", "dropout", "on_leave", "elsewhere"])
    reg = pd.DataFrame({"student_no": np.char.add("G", ids), "id_number": ids, "name": names, "gender": gender,
                        "birth_date": birth_s, "school_id": school, "school_name": "学校",
                        "school_region_code": np.where(outcome == "elsewhere", "440106", county),
                        "grade": grade, "registry_status": np.where(outcome == "on_leave", "休学", "在读")})[in_reg]
    roster = pd.DataFrame({"school_id": school, "student_no": np.char.add("G", ids), "id_number": ids,
                           "name": names, "report_status": "已报到"})[outcome == "enrolled"]
    pov = rng.random(children) < 0.07
    poverty = pd.DataFrame({"id_number": ids, "name": names, "household_no": np.char.add("P", ids),
                            "household_type": np.array(["脱贫户", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户"])[
                                rng.integers(0, 4, children)], "region_code": county,
                            "school_status": np.where(outcome == "dropout", "辍学", "在校")})[pov]
    sg = rng.random(children) < 0.08
    special = pd.DataFrame({"id_number": ids, "name": names, "category": np.array(
        ["孤儿", "事实无人抚养儿童", "残疾儿童", "留守儿童", "困境儿童", "随迁子女", "涉案未成年人"])[
        rng.integers(0, 7, children)], "source_department": "民政局"})[sg]
    sus = (rng.random(children) < 0.003) & np.isin(outcome, ["dropout", "enrolled"])
    suspects = pd.DataFrame({"batch_no": f"{school_year}-01", "id_number": ids, "name": names,
                             "issued_on": f"{school_year}-09-10"})[sus]
    ex = outcome == "exempt"
    exemptions = pd.DataFrame({"id_number": ids, "kind": "免学", "approved_on": f"{school_year}-08-01",
                               "valid_until": f"{school_year + 1}-08-31", "approved_by": "县教育局"})[ex]
    grads = pd.DataFrame({"id_number": ids, "name": names, "school_id": school,
                          "graduation_year": school_year - (age - 12)})[(age >= 12) & (age <= 14)]
    # who should get a case: dropouts and out-of-school children of school age on the cutoff day
    born = pd.to_datetime(birth)
    age_on_cutoff = school_year - born.year - (born.month > 8)
    of_age = (age_on_cutoff >= 6) & (age_on_cutoff <= 15)
    case = np.isin(outcome, ["dropout", "out_of_school"]) & np.asarray(of_age)
    # an out-of-school child on the primary graduates' list is a 小学毕业未升学 case
    expected = np.where((outcome == "out_of_school") & (age >= 12) & (age <= 14), "non_continuation", outcome)
    truth = pd.DataFrame({"id_number": ids, "expected_case_type": expected})[case]
    return {"hukou": hukou, "registry": reg, "roster": roster, "poverty": poverty, "special_groups": special,
            "national_suspects": suspects, "exemptions": exemptions, "graduates": grads}, truth


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--children", type=int, default=1_000_000)
    p.add_argument("--province", default="41")
    p.add_argument("--out", default="bench/data")
    a = p.parse_args()
    t = time.monotonic()
    counts = generate_province(Path(a.out), a.children, province=a.province)
    print(f"generated {a.children:,} children of province {a.province} in {time.monotonic() - t:.1f} s "
          f"(peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB): {counts}")


if __name__ == "__main__":
    main()
