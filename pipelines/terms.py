"""School terms: `YYYY-autumn` (starts 1 September) and `YYYY-spring` (starts 1 March)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .errors import KcbxError

_TERM = re.compile(r"^(\d{4})-(autumn|spring)$")


@dataclass(frozen=True, order=True)
class Term:
    ordinal: int  # orders terms in time: spring of Y+1 follows autumn of Y
    code: str

    @classmethod
    def parse(cls, text: str) -> "Term":
        m = _TERM.match(text.strip())
        if not m:
            raise KcbxError(f"bad term {text!r}: write YYYY-autumn or YYYY-spring, e.g. 2025-autumn")
        year, season = int(m.group(1)), m.group(2)
        return cls(year * 2 + (1 if season == "autumn" else 0), f"{year}-{season}")

    @property
    def year(self) -> int:
        return int(self.code[:4])

    @property
    def season(self) -> str:
        return self.code[5:]

    @property
    def start_date(self) -> date:
        return date(self.year, 9, 1) if self.season == "autumn" else date(self.year, 3, 1)

    @property
    def school_year(self) -> int:
        """First calendar year of the school year (2025-autumn and 2026-spring are 2025)."""
        return self.year if self.season == "autumn" else self.year - 1

    @property
    def age_cutoff(self) -> date:
        """School age is counted in full years on 31 August of the school year's first calendar year."""
        return date(self.school_year, 8, 31)

    def previous(self) -> "Term":
        return Term.parse(f"{self.year}-spring" if self.season == "autumn" else f"{self.year - 1}-autumn")

    def next(self) -> "Term":
        return Term.parse(f"{self.year + 1}-spring" if self.season == "autumn" else f"{self.year}-autumn")

    def __str__(self) -> str:
        return self.code


def parse_terms(text: str) -> list[Term]:
    return sorted(Term.parse(t) for t in text.split(",") if t.strip())
