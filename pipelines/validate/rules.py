"""Validation rules: named SQL predicates over one staged file, each with a severity.

A rule's `where` is true for a problem row of `staging.<source>` (aliased `b`), with `:parameters` bound by the
driver. The rules of a file are evaluated into a table of per-row results (pipelines/validate/__init__.py), which
both the GX expectations (`UnexpectedRowsExpectation`) and the audit trail (`audit.row_issues`) read, so what the
Data Docs report and what the audit trail lists cannot differ. Generic rules come from the column kinds in
pipelines/sources.py; source-specific ones from expectations/<source>.json.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .. import EXPECTATIONS_DIR
from ..sources import SOURCES, Source


@dataclass(frozen=True)
class Rule:
    name: str
    column: str | None
    severity: str          # rejected | warning
    where: str             # SQL predicate over alias b, with :parameters
    message: str
    duplicate_key: tuple[str, ...] = ()   # a duplicate rule: its key, expressions over the source's columns,
    among: str | None = None              # and the rows compared


# A blank value normalizes to null (tests/test_validate.py checks every column kind), so both rules test the typed
# value first: for the clean rows of a large file that one test settles the rule without trimming the raw text.
def _blank(c: str) -> str:
    return f"b.{c} is null and kcbx.norm_text(b.{c}_raw) is null"


def _unreadable(c: str) -> str:
    return f"b.{c} is null and kcbx.norm_text(b.{c}_raw) is not null"


def generic_rules(src: Source) -> list[Rule]:
    rules: list[Rule] = []
    names = set(src.column_names)
    for c in src.columns:
        n = c.name
        if not c.nullable:
            rules.append(Rule(f"missing_{n}", n, "rejected", _blank(n), f"{c.headers[0]} is empty"))
        if c.kind == "id":
            rules.append(Rule("id_format", n, "warning", "b.id_number is not null and not kcbx.id_is_canonical(b.id_number)",
                              "ID number is not 18 characters of digits and a final digit or X"))
            rules.append(Rule("id_check_digit", n, "warning",
                              "kcbx.id_is_canonical(b.id_number) and not b.id_valid",
                              "ID number fails the GB 11643 check (check character or birth date); "
                              "matched by name, birth date and gender instead"))
            if "birth_date" in names:
                rules.append(Rule("id_birth_date_mismatch", "birth_date", "warning",
                                  "b.id_valid and b.birth_date is not null and kcbx.id_birth_date(b.id_number) <> b.birth_date",
                                  "birth date differs from the one in the ID number"))
            if "gender" in names:
                rules.append(Rule("id_gender_mismatch", "gender", "warning",
                                  "b.id_valid and b.gender is not null and kcbx.id_gender(b.id_number) <> b.gender",
                                  "gender differs from the one in the ID number"))
        elif c.kind in ("date", "gender", "grade", "int", "region"):
            rules.append(Rule(f"unreadable_{n}", n, "rejected", _unreadable(n),
                              f"{c.headers[0]} cannot be read"))
        elif c.kind == "school_id":
            rules.append(Rule(f"bad_{n}", n, "rejected",
                              f"b.{n} is not null and not (octet_length(b.{n}) = 10 and kcbx.is_digits(b.{n}))",
                              f"{c.headers[0]} is not a 10-digit school id"))
        elif c.kind == "code" and c.allowed:
            allowed = ", ".join("'" + v + "'" for v in c.allowed)
            rules.append(Rule(f"unknown_{n}", n, "rejected" if c.required and not c.nullable else "warning",
                              f"b.{n} is not null and b.{n} not in ({allowed})",
                              f"{c.headers[0]} is not one of: {' / '.join(c.allowed)}"))
        if c.kind == "date" and n == "birth_date":
            rules.append(Rule("implausible_birth_date", n, "warning",
                              "b.birth_date > :term_start or b.birth_date < date '1990-01-01'",
                              "birth date is in the future or before 1990"))
        elif c.kind == "date":
            rules.append(Rule(f"future_{n}", n, "warning", f"b.{n} > current_date", f"{c.headers[0]} is in the future"))
    return rules


def file_rows(source: str, among: str | None = None, alias: str = "") -> str:
    """The staged rows of the file being validated (those `among` selects), as a FROM clause."""
    q = f"{alias}." if alias else ""
    return (f"staging.{source}{' ' + alias if alias else ''} where {q}province = :province"
            f" and {q}file_hash = :file_hash" + (f" and {among}" if among else ""))


def duplicate_where(source: str, key: tuple[str, ...], among: str | None = None, narrowed_by: str = "") -> str:
    """A row whose key (expressions over the source's columns) is on another row of the same file (among the rows
    `among` selects). A key with a null part is no duplicate: `in` does not find it. Validation finds these rows
    in two steps (`_duplicate_lines` in pipelines/validate/__init__.py), the second grouping only the rows
    `narrowed_by` selects."""
    cols, groups = ", ".join(key), ", ".join(str(i + 1) for i in range(len(key)))
    grouped = file_rows(source, among) + (f" and {narrowed_by}" if narrowed_by else "")
    return ((f"{among} and " if among else "") + (f"({cols})" if len(key) > 1 else cols)
            + f" in (select {cols} from {grouped} group by {groups} having count(*) > 1)")


def specific_rules(src: Source) -> list[Rule]:
    """The rules of expectations/<source>.json: each a SQL predicate (`where`), or a duplicate key (`duplicate_key`,
    expressions over the source's columns, and optionally `among`, the rows compared)."""
    path = EXPECTATIONS_DIR / f"{src.name}.json"
    if not path.exists():
        return []
    spec = json.loads(path.read_text(encoding="utf-8"))
    rules = []
    for r in spec["rules"]:
        key = tuple(r.get("duplicate_key", ()))
        where = duplicate_where(src.name, key, r.get("among")) if key else r["where"]
        rules.append(Rule(r["rule"], r.get("column"), r["severity"], where, r["message"], key, r.get("among")))
    return rules


def rules_for(source: str) -> list[Rule]:
    src = SOURCES[source]
    return generic_rules(src) + specific_rules(src)
