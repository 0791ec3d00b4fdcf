"""`kcbx` command line: sweep, generate, demo, report, audit, followups, db."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from .config import load_settings
from .errors import KcbxError, ValidationStop
from .terms import Term, parse_terms

EXIT_ERROR, EXIT_DATABASE, EXIT_VALIDATION = 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="settings file (default: kcbx.toml, or $KCBX_CONFIG)")
    common.add_argument("--data-dir", help="data folder: embedded database, archive, reports (default .kcbx)")
    common.add_argument("--database-url", help="PostgreSQL URL (default $KCBX_DATABASE_URL, else embedded)")
    common.add_argument("--province", help="2-digit province code of the sweep, e.g. 41")
    common.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")

    p = argparse.ArgumentParser(prog="kcbx", description="控辍保学 term sweeps, case ledger and monitoring reports")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sweep", parents=[common], help="run one term end to end")
    s.add_argument("--term", required=True, help="YYYY-autumn or YYYY-spring")
    s.add_argument("--source-dir", required=True, help="folder with the term's extracts")
    s.add_argument("--accept-failures", action="store_true", help="go on despite failed batch expectations")
    s.add_argument("--accepted-by", help="who accepts the failures (recorded in the audit trail)")
    s.add_argument("--reason", help="why the failures are accepted (recorded in the audit trail)")
    s.add_argument("--rebuild-ledger", action="store_true",
                   help="for a term older than the newest swept one: redo the ledger from this term on "
                        "(the rows taken out are kept in ledger.superseded)")

    g = sub.add_parser("generate", parents=[common], help="write a sample county's extracts with ground truth")
    g.add_argument("--out", required=True)
    g.add_argument("--terms", default="2025-autumn,2026-spring")
    g.add_argument("--children", type=int, default=3000)
    g.add_argument("--seed", type=int, default=7)
    g.add_argument("--county", default=None, help="6-digit county code (default: <province>0102)")
    g.add_argument("--no-hard-cases", action="store_true")

    d = sub.add_parser("demo", parents=[common], help="generate a county, sweep two terms through Airflow, report")
    d.add_argument("--children", type=int, default=3000)
    d.add_argument("--terms", default="2025-autumn,2026-spring")

    r = sub.add_parser("report", parents=[common], help="write the term's reports (HTML, PDF, XLSX)")
    r.add_argument("--term", required=True)
    r.add_argument("--region", help="6-digit region code (default: the whole province)")
    r.add_argument("--out", required=True)

    a = sub.add_parser("audit", parents=[common], help="what was validated for a term, and its outcome")
    a.add_argument("--term", required=True)

    f = sub.add_parser("followups", parents=[common], help="apply follow-up/exemption files from an inbox folder")
    f.add_argument("--inbox", required=True, help="folder holding <term>/followups.csv and <term>/exemptions.csv")

    b = sub.add_parser("db", parents=[common], help="database: url | migrate | stop")
    b.add_argument("action", choices=["url", "migrate", "stop"])
    return p


def configure_logging(level: int) -> None:
    """Timestamped progress lines on stderr, without the libraries' own chatter."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("great_expectations", "sqlalchemy", "airflow", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        settings = load_settings(args.config).with_overrides(
            data_dir=args.data_dir, database_url=args.database_url, province=args.province)
        return _COMMANDS[args.command](settings, args) or 0
    except ValidationStop as e:
        print(f"kcbx: {e}", file=sys.stderr)
        return EXIT_VALIDATION
    except KcbxError as e:
        print(f"kcbx: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("kcbx: interrupted; nothing of the interrupted step was kept", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets one line; -v shows the traceback
        if args.verbose:
            raise
        import sqlalchemy.exc
        if isinstance(e, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            print(f"kcbx: database unavailable or connection lost: {str(e.orig).strip().splitlines()[0]}",
                  file=sys.stderr)
            return EXIT_DATABASE
        print(f"kcbx: {type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
              " (run with -v for details)", file=sys.stderr)
        return EXIT_ERROR


def _sweep(settings, args) -> int:
    from .sweep import sweep
    summary = sweep(settings, args.term, args.source_dir, accept_failures=args.accept_failures,
                    accepted_by=args.accepted_by, accept_reason=args.reason,
                    rebuild_ledger=args.rebuild_ledger)
    print(json.dumps(summary, ensure_ascii=False, indent=1, default=str))
    return 0


def _generate(settings, args) -> int:
    from .generate import generate
    summary = generate(Path(args.out), parse_terms(args.terms), children=args.children, seed=args.seed,
                       province=settings.province, county=args.county or f"{settings.province}0102",
                       hard_cases=not args.no_hard_cases)
    print(summary)
    return 0


def _demo(settings, args) -> int:
    from .demo import run_demo
    run_demo(settings, parse_terms(args.terms), children=args.children)
    return 0


def _report(settings, args) -> int:
    from .sweep import write_reports
    Term.parse(args.term)
    for path in write_reports(settings, args.term, args.out, region=args.region):
        print(path)
    return 0


def _audit(settings, args) -> int:
    from . import db
    from .validate import audit_summary
    print(audit_summary(db.prepare(settings), settings, Term.parse(args.term)))
    return 0


def _followups(settings, args) -> int:
    from .sweep import apply_inbox, finish_run, start_run
    run_id = start_run(settings, "followups", None, args.inbox)
    try:
        result = apply_inbox(settings, args.inbox, run_id)
    except BaseException as e:
        finish_run(settings, run_id, "failed", str(e).splitlines()[0] if str(e) else type(e).__name__)
        raise
    finish_run(settings, run_id, "succeeded")
    print(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    return 0


def _db(settings, args) -> int:
    from . import db
    if args.action == "url":
        print(db.database_url(settings))
    elif args.action == "migrate":
        applied = db.migrate(db.engine(settings))
        print("applied: " + (", ".join(applied) if applied else "nothing new"))
    elif args.action == "stop":
        print("stopped" if db.stop_embedded(settings.data_dir) else "not running")
    return 0


_COMMANDS = {"sweep": _sweep, "generate": _generate, "demo": _demo, "report": _report, "audit": _audit,
             "followups": _followups, "db": _db}

if __name__ == "__main__":
    sys.exit(main())
