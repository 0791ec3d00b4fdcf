"""A sample county over consecutive terms, with known outcomes written to truth.csv.

Every child has a true identity and, per term, a true outcome; the extracts are what the offices would send for
that truth, including the mistakes real extracts carry (hard cases). Deterministic for a seed.
"""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ..sources import DROPOUT_REASONS, HOUSEHOLD_TYPES, SOURCES, SPECIAL_GROUPS
from ..terms import Term
from .ids import fullwidth, make_id, make_name, mistype, traditional

OUTCOME_WEIGHTS = [("enrolled", 0.855), ("dropout", 0.03), ("out_of_school", 0.02), ("enrolled_elsewhere", 0.02),
                   ("exempt", 0.01), ("home_teaching", 0.005), ("deceased", 0.005), ("on_leave", 0.01),
                   ("non_continuation", 0.025), ("national_suspect_only", 0.005), ("enrolled_suspect", 0.015)]
CASE_TYPE = {"dropout": "dropout", "out_of_school": "out_of_school", "non_continuation": "non_continuation",
             "national_suspect_only": "national_suspect"}
# hard cases on enrolled children (and some on dropouts): tag → share of eligible children
ENROLLED_HARD = [("missing_id_roster", 0.006), ("roster_by_student_no", 0.006), ("roster_by_name", 0.006),
                 ("bad_check_digit", 0.006), ("missing_id_registry", 0.006), ("traditional_name", 0.006),
                 ("fullwidth_id", 0.006), ("spaced_name", 0.006), ("duplicate_registry", 0.006),
                 ("transfer", 0.006)]
OTHER_PROVINCE = "440106"


@dataclass
class Child:
    idn: str
    name: str
    male: bool
    birth: date
    outcome: str
    hard: set[str] = field(default_factory=set)
    household_type: str = ""
    groups: list[str] = field(default_factory=list)
    twin_of: int | None = None     # ambiguous-name pairs share name and school
    closure: str = ""
    returned: bool = False         # went back to school after a case: may relapse (反弹)


@dataclass
class GenerateSummary:
    out_dir: Path
    terms: list[str]
    children: int
    outcomes: dict[str, int]
    hard_cases: dict[str, int]

    def __str__(self) -> str:
        o = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return f"{self.children} children, {len(self.terms)} terms in {self.out_dir}: {o}"


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def generate(out_dir: Path, terms: list[Term], children: int = 3000, seed: int = 7, province: str = "41",
             county: str | None = None, hard_cases: bool = True) -> GenerateSummary:
    county = county or f"{province}0102"
    terms = sorted(terms)
    rng = random.Random(seed)
    first = terms[0]
    primaries = [f"{county}1{i:03d}" for i in range(1, 9)]      # 10-digit school ids
    juniors = [f"{county}2{i:03d}" for i in range(1, 4)]
    elsewhere_school = f"{OTHER_PROVINCE}9001"

    kids: list[Child] = []
    used: set[str] = set()

    def new_id(birth: date, male: bool) -> str:
        for seq in range(rng.randint(0, 499), 100_000):
            idn = make_id(county, birth, seq, male)
            if idn not in used:
                used.add(idn)
                return idn
        raise RuntimeError("ran out of ID sequence numbers")

    outcomes, weights = zip(*OUTCOME_WEIGHTS)
    for i in range(children):
        age = rng.randint(4, 16)
        birth = date(first.school_year - age, 1, 1) + timedelta(days=rng.randint(0, 364))
        male = rng.random() < 0.52
        outcome = rng.choices(outcomes, weights)[0]
        if outcome == "non_continuation" and not 12 <= _age(birth, first.age_cutoff) <= 14:
            outcome = "enrolled"
        kid = Child(new_id(birth, male), make_name(rng), male, birth, outcome)
        if rng.random() < (0.3 if outcome in ("dropout", "out_of_school", "non_continuation") else 0.06):
            kid.household_type = rng.choice(HOUSEHOLD_TYPES)
        if rng.random() < 0.08:
            kid.groups = sorted(rng.sample(SPECIAL_GROUPS, 2 if rng.random() < 0.1 else 1))
        if hard_cases and outcome in ("enrolled", "dropout"):
            for tag, share in ENROLLED_HARD:
                if rng.random() < share and (outcome == "enrolled" or tag in ("bad_check_digit",
                                                                             "missing_id_registry",
                                                                             "traditional_name")):
                    kid.hard.add(tag)
                    break
        kids.append(kid)
    if hard_cases:  # ambiguous pairs: same name, same school, roster rows by name only
        enrolled = [k for k in kids if k.outcome == "enrolled" and not k.hard]
        for a, b in zip(enrolled[::97][:25], enrolled[1::97][:25]):
            b.name, b.birth = a.name, a.birth
            b.idn = new_id(b.birth, b.male)
            a.hard.add("ambiguous_name"), b.hard.add("ambiguous_name")
            b.twin_of = kids.index(a)

    truth_rows: list[dict] = []
    for n, term in enumerate(terms):
        if n > 0:
            _advance(kids, rng, term)
        files = _term_files(kids, term, rng, county, primaries, juniors, elsewhere_school, n)
        folder = out_dir / term.code
        folder.mkdir(parents=True, exist_ok=True)
        for source, rows in files.items():
            _write_csv(folder / f"{source}.csv", source, rows)
        truth_rows += _truth(kids, term, county, primaries, juniors)

    _write_truth(out_dir / "truth.csv", truth_rows)
    counts: dict[str, int] = {}
    hard: dict[str, int] = {}
    for r in truth_rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        for t in filter(None, r["hard_case"].split(";")):
            hard[t] = hard.get(t, 0) + 1
    return GenerateSummary(out_dir, [t.code for t in terms], children, counts, hard)


def _term_outcome(kid: Child, term: Term) -> str:
    age = _age(kid.birth, term.age_cutoff)
    o = kid.outcome
    if o in ("deceased", "national_suspect_only"):
        return o
    if age < 6:
        return "not_school_age"
    if age > 15:
        return "aged_out"
    if age == 15 and o in ("enrolled", "on_leave", "enrolled_suspect"):
        return "completed"
    if o == "enrolled_suspect":
        return "enrolled"
    if o == "non_continuation" and not 12 <= age <= 14:
        return "enrolled"
    return o


def _advance(kids: list[Child], rng: random.Random, term: Term) -> None:
    """Move the truth on by one term: returns, relapses, new dropouts, deaths and exemptions of case children."""
    for kid in kids:
        kid.closure = ""
        was = _term_outcome(kid, term.previous())
        if was in ("dropout", "out_of_school", "non_continuation"):
            r = rng.random()
            if r < 0.35:
                kid.outcome, kid.closure, kid.returned = "enrolled", "back_in_school", True
                kid.hard.discard("bad_check_digit")
            elif r < 0.38:
                kid.outcome, kid.closure = "deceased", "death"
            elif r < 0.42:
                kid.outcome, kid.closure = "exempt", "exemption"
            if _term_outcome(kid, term) in ("aged_out", "completed"):
                kid.closure = "aged_out"
        elif was == "enrolled" and kid.returned and rng.random() < 0.3:
            kid.outcome, kid.returned = "dropout", False   # relapse
        elif was == "enrolled" and not kid.hard and rng.random() < 0.01:
            kid.outcome = "dropout"


def _school(kid: Child, grade: int, primaries: list[str], juniors: list[str]) -> str:
    pool = primaries if grade <= 6 else juniors
    return pool[int(kid.idn[14:17]) % len(pool)]


def _term_files(kids, term: Term, rng: random.Random, county, primaries, juniors, elsewhere, n_term) -> dict:
    files: dict[str, list[dict]] = {s: [] for s in SOURCES}
    start = term.start_date
    seen_case = []
    for i, kid in enumerate(kids):
        o = _term_outcome(kid, term)
        age = _age(kid.birth, term.age_cutoff)
        grade = max(1, min(9, age - 5))
        gender = "男" if kid.male else "女"
        stu = "G" + kid.idn
        if kid.twin_of is not None:  # the twin goes to its pair's school
            twin = kids[kid.twin_of]
            school = _school(twin, max(1, min(9, _age(twin.birth, term.age_cutoff) - 5)), primaries, juniors)
        else:
            school = _school(kid, grade, primaries, juniors)
        if o != "national_suspect_only":
            files["hukou"].append({"id_number": kid.idn, "name": kid.name, "gender": gender,
                                   "birth_date": kid.birth.isoformat(), "region_code": county + "001001",
                                   "household_no": f"H{kid.idn[6:14]}{i:05d}",
                                   "hukou_status": "死亡" if o == "deceased" else "正常"})
        reg = {"student_no": stu, "id_number": kid.idn, "name": kid.name, "gender": gender,
               "birth_date": kid.birth.isoformat(), "school_id": school, "school_name": f"第{school[-3:]}学校",
               "school_region_code": county, "grade": str(grade), "registry_status": "在读"}
        rost = {"school_id": school, "student_no": stu, "id_number": kid.idn, "name": kid.name,
                "report_status": "已报到"}
        if "bad_check_digit" in kid.hard:
            reg["id_number"] = mistype(kid.idn)
            if kid.outcome == "dropout":
                reg["student_no"] = ""
        if "missing_id_registry" in kid.hard:
            reg["id_number"] = ""
        if "traditional_name" in kid.hard:
            reg["name"] = traditional(kid.name)
            rost.update(id_number="", student_no="")
        if "missing_id_roster" in kid.hard or "roster_by_student_no" in kid.hard:
            rost["id_number"] = ""
        if "roster_by_name" in kid.hard or "ambiguous_name" in kid.hard:
            rost.update(id_number="", student_no="")
        if "fullwidth_id" in kid.hard:
            rost["id_number"] = fullwidth(kid.idn).replace("Ｘ", "x")
        if "spaced_name" in kid.hard and len(kid.name) >= 2:
            rost["name"] = kid.name[0] + "\u3000" + kid.name[1:]
        if o in ("enrolled", "dropout", "on_leave"):
            if o == "on_leave":
                reg["registry_status"] = "休学"
            if "transfer" in kid.hard and o == "enrolled":
                old = (primaries if grade <= 6 else juniors)
                other = old[(old.index(school) + 1) % len(old)]
                files["registry"].append({**reg, "school_id": other, "school_name": f"第{other[-3:]}学校",
                                          "registry_status": "转出"})
            files["registry"].append(reg)
            if "duplicate_registry" in kid.hard:
                files["registry"].append(dict(reg))
            if o == "enrolled":
                files["roster"].append(rost)
        elif o == "enrolled_elsewhere":
            files["registry"].append({**reg, "school_id": elsewhere, "school_name": "外省学校",
                                      "school_region_code": OTHER_PROVINCE})
        elif o == "completed":
            files["registry"].append({**reg, "grade": "9", "registry_status": "毕业",
                                      "school_id": _school(kid, 9, primaries, juniors)})
        elif o == "non_continuation":
            primary = _school(kid, 6, primaries, juniors)
            files["registry"].append({**reg, "grade": "6", "registry_status": "毕业", "school_id": primary})
            files["graduates"].append({"id_number": kid.idn, "name": kid.name, "school_id": primary,
                                       "graduation_year": str(term.school_year - (age - 12))})
        elif o == "deceased" and i % 2 == 0 and 6 <= age <= 15:
            files["registry"].append({**reg, "registry_status": "死亡"})
        elif o in ("exempt", "home_teaching"):
            files["exemptions"].append({"id_number": kid.idn, "kind": "送教上门" if o == "home_teaching"
                                        else rng.choice(["延缓入学", "免学"]),
                                        "approved_on": (start - timedelta(days=20)).isoformat(),
                                        "valid_until": (start + timedelta(days=365)).isoformat(),
                                        "approved_by": "县教育局"})
        if o == "enrolled" and 7 <= grade <= 9 and age - 12 <= 2:
            files["graduates"].append({"id_number": kid.idn, "name": kid.name,
                                       "school_id": _school(kid, 6, primaries, juniors),
                                       "graduation_year": str(term.school_year - (age - 12))})
        if kid.household_type:
            status = {"dropout": "辍学", "out_of_school": "未入学", "non_continuation": "辍学"}.get(o, "在校")
            if i % 41 == 0 or (status == "辍学" and i % 3 == 0):  # the poverty office's view differs (三统一)
                status = "在校" if status == "辍学" else "辍学"
            files["poverty"].append({"id_number": kid.idn, "name": kid.name, "household_no": f"P{i:07d}",
                                     "household_type": kid.household_type, "region_code": county,
                                     "school_status": status})
        for g in kid.groups:
            files["special_groups"].append({"id_number": kid.idn, "name": kid.name, "category": g,
                                            "source_department": "民政局"})
        if o == "national_suspect_only" or (o == "dropout" and i % 5 == 0) or kid.outcome == "enrolled_suspect":
            if o not in ("not_school_age", "aged_out"):
                files["national_suspects"].append({"batch_no": f"{term.code}-01", "id_number": kid.idn,
                                                   "name": kid.name,
                                                   "issued_on": (start + timedelta(days=10)).isoformat()})
        if n_term > 0 and kid.closure == "" and o in ("dropout", "out_of_school", "non_continuation") \
                and _term_outcome(kid, term.previous()) == o:
            seen_case.append(kid)
        if n_term > 0 and kid.closure == "back_in_school":
            files["followups"].append(_followup(kid, start, "复学", rng, "已返校就读"))
        if n_term == 1 and o == "national_suspect_only" and i % 3 == 0:
            row = _followup(kid, start, "排除", rng, "核实为重复数据")
            files["followups"].append({**row, "exclusion_reason": "重复数据"})
    for k, kid in enumerate(seen_case):  # follow-ups of this term's continuing cases
        files["followups"].append(_followup(kid, start, "核查", rng, "已核实辍学"))
        if k % 2 == 0:
            files["followups"].append(_followup(kid, start + timedelta(days=7), "劝返", rng, "家长表示配合",
                                                reason=rng.choice(DROPOUT_REASONS)))
    return files


def _followup(kid: Child, day: date, kind: str, rng: random.Random, result: str, reason: str = "") -> dict:
    return {"id_number": kid.idn, "recorded_on": (day + timedelta(days=3)).isoformat(), "kind": kind,
            "result": result, "reason": reason, "exclusion_reason": "", "responsible": rng.choice(
                ["李老师", "王校长", "张主任", "刘书记"]), "evidence": "入户核查记录"}


def _truth(kids, term: Term, county, primaries, juniors) -> list[dict]:
    rows = []
    for kid in kids:
        o = _term_outcome(kid, term)
        age = _age(kid.birth, term.age_cutoff)
        grade = max(1, min(9, age - 5))
        rows.append({"term": term.code, "person_id": kid.idn, "name": kid.name, "gender": "男" if kid.male else "女",
                     "birth_date": kid.birth.isoformat(), "county": county,
                     "school_id": _school(kid, grade, primaries, juniors) if o in ("enrolled", "dropout") else "",
                     "grade": grade if 6 <= age <= 15 else "", "outcome": o,
                     "expected_case_type": CASE_TYPE.get(o, ""), "is_poverty": bool(kid.household_type),
                     "household_type": kid.household_type, "special_groups": ";".join(kid.groups),
                     "hard_case": ";".join(sorted(kid.hard)), "expected_closure": kid.closure})
    return rows


def _write_csv(path: Path, source: str, rows: list[dict]) -> None:
    cols = SOURCES[source].columns
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([c.headers[0] for c in cols])
        for r in rows:
            w.writerow([r.get(c.name, "") for c in cols])


def _write_truth(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["term"])
        w.writeheader()
        w.writerows(rows)
