"""Running a suite with GX Core on one staged file, and rendering the Data Docs.

Each province's GX project lives under `<data>/gx/<province>` (a file context, so results feed the Data Docs), and
its Data Docs under `<data>/data_docs/<province>`: provinces swept at once from one data folder (Airflow's
workers) neither rewrite each other's project files nor replace each other's suites and pages. Its PostgreSQL
datasource reads the connection from the environment variable KCBX_GX_DATABASE_URL, set here, so no credentials
are written into the GX configuration files.
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..config import Settings
from ..db import _driver, database_url

log = logging.getLogger("kcbx.validate")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@dataclass(frozen=True)
class GxExpectation:
    type: str
    kwargs: dict
    severity: str            # batch | rejected | warning
    name: str
    message: str = ""
    where: str = ""          # the rule's SQL predicate, shown with the expectation

    def __hash__(self):
        return hash((self.type, self.name))


@dataclass
class GxResult:
    expectation: GxExpectation
    success: bool
    observed: object
    unexpected_count: int | None
    raw: dict = field(default_factory=dict)


@lru_cache(maxsize=4)
def _context(root: str):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    ctx = gx.get_context(mode="file", project_root_dir=root)
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return ctx


def _gx_root(settings: Settings) -> Path:
    root = settings.gx_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def run_suite(settings: Settings, source: str, query: str, expectations: list[GxExpectation]) -> list[GxResult]:
    """Validate the rows of `query` (one staged file's rule checks) with the given expectations."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    os.environ["KCBX_GX_DATABASE_URL"] = _driver(database_url(settings))
    ctx = _context(str(_gx_root(settings)))
    try:
        ds = ctx.data_sources.get("kcbx")
    except (KeyError, ValueError):
        ds = ctx.data_sources.add_sql("kcbx", connection_string="${KCBX_GX_DATABASE_URL}")
    asset_name, suite_name = f"staging_{source}", f"kcbx_{source}"
    # the previous file's definitions go first (a validation definition cannot load once its asset is gone)
    for remove in (ctx.validation_definitions.delete, ctx.suites.delete, ds.delete_asset):
        name = asset_name if remove == ds.delete_asset else suite_name
        try:
            remove(name)
        except Exception:  # noqa: BLE001 - absent on first use, or left broken by a killed run
            stale = Path(ctx.root_directory) / "validation_definitions" / f"{name}.json"
            stale.unlink(missing_ok=True)
    asset = ds.add_query_asset(asset_name, query=query)
    batch = asset.add_batch_definition_whole_table("file")
    suite = ctx.suites.add(gx.ExpectationSuite(name=suite_name))
    by_id = {}
    for e in expectations:
        if e.type == "unexpected_rows_expectation":
            exp = gxe.UnexpectedRowsExpectation(description=f"{e.name}: {e.message} ({e.severity})", **e.kwargs)
        elif e.type == "expect_table_row_count_to_be_between":
            exp = gxe.ExpectTableRowCountToBeBetween(**e.kwargs)
        else:
            raise ValueError(f"unsupported expectation {e.type}")
        exp.meta = {"rule": e.name, "severity": e.severity, **({"where": e.where} if e.where else {})}
        exp = suite.add_expectation(exp)
        by_id[exp.id] = e
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
    result = vd.run()
    out = []
    for r in result.results:
        e = by_id.get(r.expectation_config.id)
        if e is None:
            continue
        errors = [v for v in (r.exception_info or {}).values() if isinstance(v, dict) and v.get("raised_exception")]
        if r.exception_info and r.exception_info.get("raised_exception"):
            errors.append(r.exception_info)
        if errors:
            msg = str(errors[0].get("exception_message", "")).splitlines()[0]
            raise RuntimeError(f"expectation {e.name} on staging.{source} could not run: {msg}")
        res = r.result or {}
        observed = res.get("observed_value")
        unexpected = res.get("unexpected_count", observed if e.type == "unexpected_rows_expectation" else None)
        out.append(GxResult(e, bool(r.success), observed, unexpected, r.to_json_dict()))
    return out


def render_data_docs(settings: Settings) -> Path:
    """Build the province's GX Data Docs and copy them to `<data>/data_docs/<province>`; returns the index page."""
    ctx = _context(str(_gx_root(settings)))
    sites = ctx.build_data_docs()
    target = settings.data_docs_dir.resolve()
    for url in sites.values():
        src = Path(url.replace("file://", "")).parent
        if src.is_dir():
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(src, target)
    return target / "index.html"
