"""Rebuilding the ledger from an older term: a corrected extract of 2026-spring arrives after 2026-autumn was swept."""
import csv
import shutil

import pytest
import sqlalchemy as sa

from pipelines import db
from pipelines.config import Settings
from pipelines.errors import LedgerError
from pipelines.generate import generate
from pipelines.sweep import sweep
from pipelines.terms import parse_terms
from tests.helpers import rows, scalar, truth

TERMS = ["2025-autumn", "2026-spring", "2026-autumn"]

# per case: who, when opened, type, whether a relapse, and its whole history (term, status, reason, source)
HISTORY = """
select c.person_key, c.opened_term, c.case_type, c.relapse_of is not null,
  array_agg(e.term || ' ' || e.to_status || ' ' || coalesce(e.closure_reason, '-') || ' ' || e.source order by e.seq)
from ledger.cases c join ledger.case_events e using (case_id)
group by c.case_id order by 1, 2
"""

SCHOOLS = """
select term, school_id, registry_count, last_term_count, reported_count, unexplained_difference, dropouts_listed
from report.school_reconciliation order by 1, 2
"""


def _drop_from_roster(sources, term, dst, how_many):
    """A corrected roster of `term`: some children in school all along are not reported after all (名在人不在).
    Returns their ids."""
    src = sources / term
    shutil.copytree(src, dst)
    with open(src / "roster.csv", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        body = list(reader)
    id_col = header.index(next(h for h in header if "身份证" in h))
    never_a_case = set.intersection(*({pid for pid, r in truth(sources, t).items()
                                       if not r["expected_case_type"] and not r["hard_case"]} for t in TERMS))
    dropped = sorted({r[id_col] for r in body} & never_a_case)[:how_many]
    kept = [r for r in body if r[id_col] not in dropped]
    with open(dst / "roster.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([header, *kept])
    return dropped


def test_rebuild_from_an_older_term_gives_the_ledger_a_fresh_run_would(new_database, tmp_path):
    generate(tmp_path / "src", parse_terms(",".join(TERMS)), children=900, seed=5, province="41", county="410102")
    corrected = tmp_path / "corrected-2026-spring"
    dropped = _drop_from_roster(tmp_path / "src", "2026-spring", corrected, 6)
    assert len(dropped) == 6

    rebuilt = Settings(data_dir=tmp_path / "a", database_url=new_database(), province="41")
    for term in TERMS:
        sweep(rebuilt, term, str(tmp_path / "src" / term))
    events_before = scalar(rebuilt, "select count(*) from ledger.case_events")

    with pytest.raises(LedgerError, match="--rebuild-ledger"):
        sweep(rebuilt, "2026-spring", str(corrected))
    assert scalar(rebuilt, "select count(*) from ledger.case_events") == events_before

    summary = sweep(rebuilt, "2026-spring", str(corrected), rebuild_ledger=True)
    assert summary["ledger"]["rebuilt_terms"] == ["2026-spring", "2026-autumn"]

    fresh = Settings(data_dir=tmp_path / "b", database_url=new_database(), province="41")
    for term, folder in zip(TERMS, [tmp_path / "src" / TERMS[0], corrected, tmp_path / "src" / TERMS[2]]):
        sweep(fresh, term, str(folder))

    assert rows(rebuilt, HISTORY) == rows(fresh, HISTORY)
    # every term redone has its schools reconciled again, as a fresh run would, and no work table is left behind
    assert summary["reconcile"]["term"] == "2026-autumn"
    assert rows(rebuilt, SCHOOLS) == rows(fresh, SCHOOLS)
    assert {t for (t,) in rows(rebuilt, "select distinct term from report.school_reconciliation")} == set(TERMS)
    assert scalar(rebuilt, "select count(*) from pg_namespace where nspname like 'match_work_%'") == 0
    # the six children the corrected roster no longer shows have a dropout case from 2026-spring
    dropouts = {p for (p,) in rows(rebuilt, "select person_key from ledger.cases where opened_term = '2026-spring'"
                                            " and case_type = 'dropout'")}
    assert set(dropped) <= dropouts

    # nothing is lost: the superseded ledger rows are kept with the rebuild that took them out
    (rebuild_from, terms, moved), = rows(rebuilt, "select from_term, superseded_terms, rows_superseded"
                                                  " from report.ledger_rebuilds")
    assert (rebuild_from, terms) == ("2026-spring", ["2026-spring", "2026-autumn"])
    old_events = scalar(rebuilt, "select count(*) from ledger.superseded where table_name = 'case_events'")
    assert moved["case_events"] == old_events > 0
    assert moved["cases"] > 0 and moved["swept_terms"] == 2
    # superseded events are the old history of these terms, still readable
    assert scalar(rebuilt, "select count(*) from ledger.superseded where table_name = 'case_events'"
                           " and row_data->>'term' = '2025-autumn'") == 0

    for sql in ("delete from ledger.superseded", "update ledger.rebuilds set from_term = '2025-autumn'",
                "truncate ledger.superseded"):
        with pytest.raises(sa.exc.InternalError, match="append-only"):
            with db.engine(rebuilt).begin() as c:
                c.execute(sa.text(sql))

    # re-running the rebuilt terms as usual changes nothing
    count = "select (select count(*) from ledger.case_events), (select count(*) from ledger.superseded)"
    before = rows(rebuilt, count)
    sweep(rebuilt, "2026-autumn", str(tmp_path / "src" / "2026-autumn"))
    assert rows(rebuilt, count) == before
