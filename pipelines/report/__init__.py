"""Reports: the report tables (sql/report/), the semiannual monitoring report (HTML, PDF), the monthly report
and the half-monthly screening list (XLSX). Analysts' documents carry masked identities only."""
from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine

from .. import TEMPLATES_DIR
from ..config import Settings
from ..db import run_sql
from ..faults import failpoint
from ..terms import Term
from . import charts
from .workbooks import write_monthly_report, write_screening_list

log = logging.getLogger("kcbx.report")

CASE_TYPES = {"dropout": "辍学", "out_of_school": "适龄失学", "non_continuation": "小学毕业未升学",
              "national_suspect": "国家平台疑似"}
STATUSES = {"suspected": "疑似", "confirmed": "已核实", "persuading": "劝返中", "returned": "已复学",
            "closed": "已销号", "excluded": "核实排除"}
ENROLLMENT_TARGET, CONSOLIDATION_TARGET = 1.0, 0.99


# The breakdowns group a large province's cases five ways (over a million rows): in memory, not in batches on disk.
SESSION_SETTINGS = ("set local work_mem = '64MB'",)


def report_params(settings: Settings, term: Term) -> dict:
    return {"province": settings.province, "term": term.code, "next_term": term.next().code,
            "overdue_days": settings.overdue_days}


def refresh_report_tables(eng: Engine, settings: Settings, term: Term) -> dict:
    params = report_params(settings, term)
    with eng.begin() as conn:
        for setting in SESSION_SETTINGS:
            conn.execute(sa.text(setting))
        run_sql(conn, "report/region_term_indicators.sql", params)
        n = conn.execute(sa.text("select count(*) from report.region_term_indicators where province = :province"
                                 " and term = :term"), params).scalar()
        failpoint("report")
    return {"indicator_rows": n}


def _rows(conn, sql: str, **params) -> list[dict]:
    return [dict(r._mapping) for r in conn.execute(sa.text(sql), params)]


def report_data(eng: Engine, settings: Settings, term: Term, region: str | None = None) -> dict:
    p = {"province": settings.province, "term": term.code}
    region = region or f"{settings.province}0000"
    level = "province" if region.endswith("0000") else ("city" if region.endswith("00") else "county")
    prefix = region[:2] if level == "province" else (region[:4] if level == "city" else region)
    with eng.connect() as c:
        key = _rows(c, "select * from report.region_term_indicators where province = :province and term = :term"
                       " and region_level = :level and region_code = :region", **p, level=level, region=region)
        counties = _rows(c, "select * from report.region_term_indicators where province = :province and term = :term"
                            " and region_level = 'county' and region_code like :prefix order by region_code",
                         **p, prefix=prefix + "%")
        trend = _rows(c, "select term, enrollment_rate, consolidation_rate, open_cases, new_cases, closed_cases"
                         " from report.indicator_trends where province = :province and region_level = :level"
                         " and region_code = :region and term_order <= :ord order by term_order",
                      **p, level=level, region=region, ord=term.ordinal)
        breakdown = _rows(c, "select dimension, value, sum(open_cases) as open_cases, sum(new_cases) as new_cases,"
                             " sum(closed_cases) as closed_cases from report.case_breakdowns where province = :province"
                             " and term = :term and region_code like :prefix group by 1, 2 order by 1, 3 desc, 2",
                          **p, prefix=prefix + "%")
        funnel = _rows(c, "select e.to_status, count(distinct e.case_id) as n from report.case_events e"
                          " join report.case_ledger l using (case_id) where l.province = :province"
                          " and l.region_code like :prefix and kcbx.term_ordinal(e.term) <= :ord group by 1",
                       **p, prefix=prefix + "%", ord=term.ordinal)
        schools = _rows(c, "select * from report.school_reconciliation where province = :province and term = :term"
                           " and coalesce(region_code, '') like :prefix order by abs(unexplained_difference) desc,"
                           " school_id limit 15", **p, prefix=prefix + "%")
        files = _rows(c, "select source, file_name, left(file_hash, 16) as hash, status, rows_read, rows_accepted,"
                         " rows_rejected, rows_warned from audit.file_manifest where province = :province"
                         " and term = :term and status in ('published', 'validated') order by source", **p)
        failed = c.execute(sa.text(
            "select count(*) from audit.validation_runs v where province = :province and term = :term and not success"
            " and validated_at = (select max(validated_at) from audit.validation_runs w where w.file_hash ="
            " v.file_hash and w.term = v.term and w.province = v.province)"), p).scalar()
        runs = _rows(c, "select started_at, outcome, accept_failures, accepted_by, accept_reason from kcbx.runs"
                        " where province = :province and term = :term and command = 'sweep'"
                        " order by started_at desc limit 1", **p)
        new_cases = _rows(c, "select case_id, case_type, status, id_number_masked, name_masked, region_code, school_id,"
                             " is_poverty, special_groups from report.case_ledger where province = :province"
                             " and opened_term = :term and region_code like :prefix order by case_id limit 30",
                          **p, prefix=prefix + "%")
    return {"term": term, "region": region, "level": level, "key": key[0] if key else None, "counties": counties,
            "trend": trend, "breakdown": breakdown, "funnel": {r["to_status"]: r["n"] for r in funnel},
            "schools": schools, "files": files, "failed_expectations": failed, "run": runs[0] if runs else None,
            "new_cases": new_cases}


def _charts(d: dict) -> dict:
    labels = [r["term"] for r in d["trend"]]
    by = lambda dim: [(r["value"], r["open_cases"]) for r in d["breakdown"] if r["dimension"] == dim][:10]
    f = d["funnel"]
    return {
        "trend_rates": charts.line_chart(labels, {
            "入学率": [float(r["enrollment_rate"]) if r["enrollment_rate"] is not None else None for r in d["trend"]],
            "巩固率": [float(r["consolidation_rate"]) if r["consolidation_rate"] is not None else None
                    for r in d["trend"]]}, "入学率与巩固率趋势", percent=True),
        "trend_cases": charts.line_chart(labels, {
            "在册未销号": [r["open_cases"] for r in d["trend"]], "新增": [r["new_cases"] for r in d["trend"]],
            "销号": [r["closed_cases"] for r in d["trend"]]}, "案例数趋势"),
        "reasons": charts.bar_chart(by("reason"), "在册案例按辍学原因"),
        "types": charts.bar_chart([(CASE_TYPES.get(k, k), v) for k, v in by("case_type")], "在册案例按类型"),
        "groups": charts.bar_chart(by("special_group"), "重点人群在册案例"),
        "funnel": charts.funnel([("新增", f.get("suspected", 0)), ("已核实", f.get("confirmed", 0)),
                                 ("劝返中", f.get("persuading", 0)), ("已复学", f.get("returned", 0)),
                                 ("已销号", f.get("closed", 0))], "销号漏斗"),
    }


def _pct(v) -> str:
    return "—" if v is None else f"{float(v) * 100:.2f}%"


def render_html(d: dict) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "j2"]))
    env.filters["pct"] = _pct
    return env.get_template("semiannual_report.html.j2").render(
        **d, charts=_charts(d), case_types=CASE_TYPES, statuses=STATUSES, today=date.today(),
        enrollment_target=ENROLLMENT_TARGET, consolidation_target=CONSOLIDATION_TARGET)


def write_term_report(eng: Engine, settings: Settings, term: Term, out_dir: Path, region: str | None = None) -> Path:
    d = report_data(eng, settings, term, region)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"常态化监测报告_{d['region']}_{term.code}.html"
    path.write_text(render_html(d), encoding="utf-8")
    return path


def html_to_pdf(html: Path) -> Path | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        log.info("PDF skipped: no chromium on this machine (apt-get install chromium)")
        return None
    pdf = html.with_suffix(".pdf")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        "--disable-quic", f"--user-data-dir={profile}", "--no-pdf-header-footer",
                        f"--print-to-pdf={pdf}", html.resolve().as_uri()],
                       check=False, capture_output=True, timeout=120)
    return pdf if pdf.exists() else None


def write_reports(eng: Engine, settings: Settings, term: Term, out_dir: Path, region: str | None = None,
                  pdf: bool = True) -> list[Path]:
    """The semiannual report (province, or the given region, and each county), the monthly report and the
    screening list."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [write_term_report(eng, settings, term, out_dir, region)]
    if region is None:
        with eng.connect() as c:
            counties = c.execute(sa.text("select region_code from report.region_term_indicators where province = :p"
                                         " and term = :t and region_level = 'county' order by 1"),
                                 {"p": settings.province, "t": term.code}).scalars().all()
        paths += [write_term_report(eng, settings, term, out_dir / "counties", county) for county in counties]
    if pdf:
        made = html_to_pdf(paths[0])
        if made:
            paths.append(made)
    paths.append(write_monthly_report(eng, settings, term, out_dir, region))
    paths.append(write_screening_list(eng, settings, term, out_dir, region))
    return paths
