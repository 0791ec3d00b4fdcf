"""The steps of a term sweep, shared by the CLI, the tests and the Airflow DAGs.

Every function takes settings and small values (term code, paths, file hashes, run ids) and returns small,
JSON-serializable dicts, so that Airflow can pass them between tasks without personal data in XComs.

    start_run → discover → stage_and_validate (per file) → gate → publish → match → update_ledger
              → refresh_reports → finish_run, and after match, beside the ledger: reconcile_schools

(`stage_and_validate_all` runs the files' staging and validation side by side, for the CLI; `run_term_steps` the
steps after publishing.)
"""
from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from . import db
from .config import Settings
from .errors import KcbxError, ValidationStop
from .terms import Term

log = logging.getLogger("kcbx.sweep")

SWEEP_LOCK_BASE = 7_302_000  # + province code: one sweep per province at a time


def term_for_date(d: date) -> str:
    """The term running on day d: from 1 September autumn, from 1 March spring (before March: last autumn)."""
    if d.month >= 9:
        return f"{d.year}-autumn"
    if d.month >= 3:
        return f"{d.year}-spring"
    return f"{d.year - 1}-autumn"


def start_run(settings: Settings, command: str, term: str | None, source_dir: str | None = None,
              accept_failures: bool = False, accepted_by: str | None = None,
              accept_reason: str | None = None) -> str:
    if accept_failures and not (accepted_by and accept_reason):
        raise KcbxError("--accept-failures needs --accepted-by NAME and --reason TEXT: the audit trail records both")
    run_id = str(uuid.uuid4())
    eng = db.prepare(settings)
    with eng.begin() as conn:
        conn.execute(sa.text(
            "insert into kcbx.runs (run_id, command, province, term, source_dir, accept_failures, accepted_by,"
            " accept_reason) values (:r, :c, :p, :t, :s, :a, :by, :why)"),
            {"r": run_id, "c": command, "p": settings.province, "t": term, "s": source_dir, "a": accept_failures,
             "by": accepted_by, "why": accept_reason})
    return run_id


def finish_run(settings: Settings, run_id: str, outcome: str, message: str | None = None) -> None:
    with db.engine(settings).begin() as conn:
        conn.execute(sa.text("update kcbx.runs set finished_at = now(), outcome = :o, message = :m where run_id = :r"),
                     {"o": outcome, "m": message, "r": run_id})


def discover(settings: Settings, term: str, source_dir: str) -> list[dict]:
    from .load.loader import discover_sources
    Term.parse(term)
    found = discover_sources(Path(source_dir))
    # registry first: the roster's school ids are checked against it
    order = ["hukou", "registry", "roster"]
    names = sorted(found, key=lambda s: (order.index(s) if s in order else len(order), s))
    return [{"source": s, "path": str(found[s])} for s in names]


def stage_and_validate(settings: Settings, term: str, source: str, path: str, run_id: str) -> dict:
    """Load one file into staging and validate it there (write and audit; nothing is published yet)."""
    from .load.loader import stage_file
    t, eng = Term.parse(term), db.prepare(settings)
    return _validated(settings, t, *_timed(stage_file, eng, settings, t, source, Path(path), run_id), run_id)


def stage_and_validate_all(settings: Settings, term: str, files: list[dict], run_id: str) -> list[dict]:
    """Every file of the term, in order, each staged while the one before it is validated.

    Staging streams a file through COPY and validation scans what is staged: run side by side they keep both
    cores of a small server busy. One thread stages the files in their order, so the registry is staged before the
    roster's school ids are checked against it. A failure stops the files not yet staged."""
    from .load.loader import stage_file
    t, eng = Term.parse(term), db.prepare(settings)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kcbx-stage") as pool:
        staging = [pool.submit(_timed, stage_file, eng, settings, t, f["source"], Path(f["path"]), run_id)
                   for f in files]
        try:
            return [_validated(settings, t, *s.result(), run_id) for s in staging]
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def _timed(fn, *args) -> tuple:
    """fn(*args) and the seconds it took."""
    t0 = time.monotonic()
    return fn(*args), time.monotonic() - t0


def _validated(settings: Settings, t: Term, staged, load_s: float, run_id: str) -> dict:
    """Validate a staged file (unless it was published already): the outcome the gate and publish read."""
    from .validate import validate_staged
    out = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(staged).items()}
    out.update(rows_rejected=staged.rows_rejected_on_read, rows_warned=0, batch_failures=[],
               load_s=round(load_s, 2), validate_s=0.0)
    if not staged.already_published:
        t0 = time.monotonic()
        v = validate_staged(db.engine(settings), settings, t, staged.source, staged.file_hash, staged.file_name,
                            run_id)
        out.update(rows_rejected=v.rows_rejected, rows_warned=v.rows_warned, batch_failures=list(v.batch_failures),
                   validate_s=round(time.monotonic() - t0, 2))
    return out


def gate(settings: Settings, term: str, outcomes: list[dict], run_id: str, accept_failures: bool) -> None:
    """Stop the term if any file failed a batch-level expectation, unless the run was told to go on."""
    failures = [f for o in outcomes for f in o.get("batch_failures", [])]
    if not failures:
        return
    for f in failures:
        log.warning("validation failure: %s", f)
    if accept_failures:
        log.warning("%d batch failure(s) accepted for this run (recorded in kcbx.runs)", len(failures))
        return
    more = f" (and {len(failures) - 1} more; see `kcbx audit --term {term}`)" if len(failures) > 1 else ""
    raise ValidationStop(f"{term} stopped by validation: {failures[0]}{more}")


def publish(settings: Settings, term: str, outcomes: list[dict], run_id: str) -> list[dict]:
    """Publish the validated files, two at a time: each becomes its source's partition of the term, in a transaction
    of its own (its one scan, to set the partition's constraints, and its index builds keep a core busy)."""
    from .load.loader import StagedFile, publish_staged
    t = Term.parse(term)
    eng = db.engine(settings)
    fields = {f.name for f in dataclasses.fields(StagedFile)}

    def published(o: dict) -> dict:
        staged = StagedFile(**{k: (Path(v) if k == "path" else v) for k, v in o.items() if k in fields})
        r = publish_staged(eng, settings, t, staged, run_id)
        return dataclasses.asdict(r) if dataclasses.is_dataclass(r) else dict(r)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="kcbx-publish") as pool:
        return list(pool.map(published, outcomes))


def check_ledger_order(settings: Settings, term: str, rebuild_ledger: bool) -> None:
    """Refuse, before anything is loaded, a term older than one already in the ledger (unless rebuilding)."""
    from .ledger import later_swept_terms, older_term_refused
    with db.prepare(settings).connect() as conn:
        newer = later_swept_terms(conn, settings.province, Term.parse(term))
    if newer and not rebuild_ledger:
        raise older_term_refused(Term.parse(term), newer)


def _terms_redone(settings: Settings, term: str, rebuild_ledger: bool) -> list[Term]:
    """The term, and with a ledger rebuild every newer term already in the ledger (their ledger work is redone)."""
    t = Term.parse(term)
    if not rebuild_ledger:
        return [t]
    from .ledger import later_swept_terms
    with db.engine(settings).connect() as conn:
        return [t, *later_swept_terms(conn, settings.province, t)]


def match(settings: Settings, term: str, run_id: str, rebuild_ledger: bool = False) -> dict:
    """Matching of the term (and of the terms a rebuild redoes, each but the last reconciled at once: the work
    tables reconcile_schools reads are those of the last term matched)."""
    from .match import reconcile_schools as reconcile, run_matching
    counts, terms = {}, _terms_redone(settings, term, rebuild_ledger)
    for t in terms:
        counts[t.code] = run_matching(db.engine(settings), settings, t)
        if t != terms[-1]:
            reconcile(db.engine(settings), settings)
    return counts[term] if len(counts) == 1 else counts


def reconcile_schools(settings: Settings, term: str, run_id: str, rebuild_ledger: bool = False) -> dict:
    """The school reconciliation of the last term matched. It reads only matching's results and work tables, and
    the previous term's reconciliation, so it can run beside update_ledger and refresh_reports."""
    from .match import reconcile_schools as reconcile
    return reconcile(db.engine(settings), settings)


def update_ledger(settings: Settings, term: str, run_id: str, rebuild_ledger: bool = False) -> dict:
    from .ledger import update_ledger as _update
    return _update(db.engine(settings), settings, Term.parse(term), run_id, rebuild=rebuild_ledger)


def refresh_reports(settings: Settings, term: str, run_id: str, rebuild_ledger: bool = False,
                    data_docs: bool = True) -> dict:
    """The report tables of the term (and of the terms a rebuild redid), and the GX Data Docs so far (unless the
    caller renders them itself).

    The Data Docs (Python, seconds) are rendered while the report tables are computed (one PostgreSQL process): a
    core each."""
    from .report import refresh_report_tables
    from .validate import render_data_docs
    out: dict = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kcbx-docs") as pool:
        docs = pool.submit(render_data_docs, settings) if data_docs else None
        for t in _terms_redone(settings, term, rebuild_ledger):
            out.update(refresh_report_tables(db.engine(settings), settings, t))
        if docs:
            out["data_docs"] = str(docs.result())
    return out


def write_reports(settings: Settings, term: str, out_dir: str, region: str | None = None,
                  kinds=("semiannual", "monthly", "screening")) -> list[str]:
    from .report import write_reports as _write
    eng = db.prepare(settings)
    paths = _write(eng, settings, Term.parse(term), Path(out_dir), region=region)
    return [str(p) for p in paths]


@contextmanager
def province_lock(settings: Settings) -> Iterator[None]:
    """Hold the province's advisory lock on a dedicated connection; a second sweep stops with a clear message."""
    eng = db.engine(settings)
    conn = eng.connect()
    try:
        key = SWEEP_LOCK_BASE + int(settings.province)
        if not conn.execute(sa.text("select pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise KcbxError(f"another sweep of province {settings.province} is running; wait for it to finish")
        try:
            yield
        finally:
            conn.execute(sa.text("select pg_advisory_unlock(:k)"), {"k": key})
    finally:
        conn.close()


def sweep(settings: Settings, term: str, source_dir: str, accept_failures: bool = False,
          accepted_by: str | None = None, accept_reason: str | None = None, rebuild_ledger: bool = False) -> dict:
    """One term end to end. Re-running it on the same files changes nothing.

    A term older than the newest in the ledger is refused before anything is loaded, unless `rebuild_ledger`: then
    the ledger is redone from this term on (the newer terms' matching and reports too).
    """
    check_ledger_order(settings, term, rebuild_ledger)
    with province_lock(settings):
        run_id = start_run(settings, "sweep" + (" --rebuild-ledger" if rebuild_ledger else ""), term, source_dir,
                           accept_failures, accepted_by, accept_reason)
        summary: dict = {"run_id": run_id, "term": term, "province": settings.province, "stages": {}}
        try:
            t0 = time.monotonic()
            files = discover(settings, term, source_dir)
            outcomes = stage_and_validate_all(settings, term, files, run_id)
            summary["stages"]["load_validate"] = round(time.monotonic() - t0, 2)
            gate(settings, term, outcomes, run_id, accept_failures)
            summary["files"] = publish(settings, term, outcomes, run_id)
            run_term_steps(summary, settings, term, run_id, rebuild_ledger)
        except ValidationStop as e:
            finish_run(settings, run_id, "stopped_by_validation", str(e))
            raise
        except BaseException as e:
            finish_run(settings, run_id, "failed", str(e).splitlines()[0] if str(e) else type(e).__name__)
            raise
        finish_run(settings, run_id, "succeeded")
        return summary


def run_term_steps(summary: dict, settings: Settings, term: str, run_id: str, rebuild_ledger: bool) -> None:
    """The steps after publishing, each timed into summary["stages"]: matching, then the ledger and the report
    tables (one PostgreSQL process each, one after the other) beside the school reconciliation (parallel workers):
    together they keep both cores of a small server busy. The GX Data Docs (Python) are rendered meanwhile, from
    the start of matching, whose serial statements leave a core free."""
    from .validate import render_data_docs

    def step(name: str, fn, **kwargs) -> None:
        t0 = time.monotonic()
        summary[name] = fn(settings, term, run_id, rebuild_ledger=rebuild_ledger, **kwargs)
        summary["stages"][name] = round(time.monotonic() - t0, 2)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="kcbx-beside") as pool:  # waits for both on any exit
        docs = pool.submit(render_data_docs, settings)
        step("match", match)
        reconciling = pool.submit(step, "reconcile", reconcile_schools)
        step("ledger", update_ledger)
        step("report", refresh_reports, data_docs=False)
        reconciling.result()
        summary["report"]["data_docs"] = str(docs.result())


def apply_inbox(settings: Settings, inbox_dir: str, run_id: str) -> dict:
    """Load follow-up and exemption files dropped into `inbox_dir/<term>/` and apply them to the ledger."""
    from .ledger import apply_followups
    from .load.loader import discover_sources, publish_staged, stage_file
    from .validate import validate_staged
    eng = db.prepare(settings)
    applied: dict = {}
    for term_dir in sorted(p for p in Path(inbox_dir).iterdir() if p.is_dir()):
        try:
            t = Term.parse(term_dir.name)
        except KcbxError:
            log.warning("inbox: ignoring folder %s (not a term)", term_dir.name)
            continue
        found = discover_sources(term_dir, required=())
        changed = False
        for source in ("exemptions", "followups"):
            if source not in found:
                continue
            staged = stage_file(eng, settings, t, source, found[source], run_id)
            if staged.already_published:
                continue
            validate_staged(eng, settings, t, source, staged.file_hash, staged.file_name, run_id)
            publish_staged(eng, settings, t, staged, run_id)
            changed = True
        if changed:
            applied[t.code] = apply_followups(eng, settings, t, run_id)
    return applied
