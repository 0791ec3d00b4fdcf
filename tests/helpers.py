"""Small helpers for tests: reading the ground truth and querying the database."""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from pipelines import db


def truth(sources: Path, term: str) -> dict[str, dict]:
    with open(sources / "truth.csv", encoding="utf-8") as f:
        return {r["person_id"]: r for r in csv.DictReader(f) if r["term"] == term}


def reported_per_school(roster: Path) -> Counter:
    """The rows of a roster file that report a pupil (已报到), per school: what the next term's last_term_count
    counts."""
    with open(roster, encoding="utf-8", newline="") as f:
        return Counter(r["学校标识码"] for r in csv.DictReader(f) if r["报到状态"] == "已报到")


def rows(settings, sql: str, **params) -> list[tuple]:
    with db.engine(settings).connect() as c:
        return [tuple(r) for r in c.execute(sa.text(sql), params)]


def scalar(settings, sql: str, **params):
    with db.engine(settings).connect() as c:
        return c.execute(sa.text(sql), params).scalar()
