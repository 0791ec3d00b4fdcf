"""Settings: defaults, then `kcbx.toml` (or the file named by KCBX_CONFIG), then environment and CLI flags.

    province = "41"              # 2-digit province code of the sweep
    school_age_min = 6           # full years on 31 August (a province may set 7)
    school_age_max = 15
    reject_share_limit = 0.05    # a file with more rejected rows than this stops the sweep
    volume_drift_limit = 0.20    # a source whose row count moves more than this against last term stops it
    grade_age_tolerance = 2      # years a pupil may be ahead of or behind the usual grade for the age
    overdue_days = 30            # cases still unclassified this long after term start are overdue

    [columns.registry]           # extra header aliases, per source and canonical column
    school_id = ["学校代码", "学校编号"]
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import KcbxError


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".kcbx")
    database_url: str | None = None
    province: str = "41"
    school_age_min: int = 6
    school_age_max: int = 15
    reject_share_limit: float = 0.05
    volume_drift_limit: float = 0.20
    grade_age_tolerance: int = 2
    overdue_days: int = 30
    column_aliases: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def gx_dir(self) -> Path:
        """The province's GX project: provinces swept from one data folder keep their suites apart."""
        return self.data_dir / "gx" / self.province

    @property
    def data_docs_dir(self) -> Path:
        return self.data_dir / "data_docs" / self.province

    def with_overrides(self, **kw) -> "Settings":
        kw = {k: v for k, v in kw.items() if v is not None}
        if "data_dir" in kw:
            kw["data_dir"] = Path(kw["data_dir"])
        s = replace(self, **kw)
        if not (len(s.province) == 2 and s.province.isdigit()):
            raise KcbxError(f"bad province {s.province!r}: give the 2-digit code, e.g. 41")
        return s


_SIMPLE = {"province": str, "school_age_min": int, "school_age_max": int, "reject_share_limit": float,
           "volume_drift_limit": float, "grade_age_tolerance": int, "overdue_days": int}


def load_settings(config_path: str | os.PathLike | None = None) -> Settings:
    """Read settings; the environment (KCBX_DATABASE_URL, KCBX_DATA_DIR, KCBX_PROVINCE) wins over the file."""
    path = Path(config_path or os.environ.get("KCBX_CONFIG") or "kcbx.toml")
    values: dict = {}
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise KcbxError(f"{path}: not valid TOML ({e})") from None
        for key, cast in _SIMPLE.items():
            if key in raw:
                values[key] = cast(raw[key])
        if "data_dir" in raw:
            values["data_dir"] = Path(raw["data_dir"])
        if "database_url" in raw:
            raise KcbxError(f"{path}: keep database_url out of files; set KCBX_DATABASE_URL instead")
        values["column_aliases"] = {src: {col: list(v) if isinstance(v, list) else [v] for col, v in cols.items()}
                                    for src, cols in raw.get("columns", {}).items()}
    elif config_path:
        raise KcbxError(f"config file {path} not found")
    env = os.environ
    if env.get("KCBX_DATA_DIR"):
        values["data_dir"] = Path(env["KCBX_DATA_DIR"])
    if env.get("KCBX_DATABASE_URL"):
        values["database_url"] = env["KCBX_DATABASE_URL"]
    if env.get("KCBX_PROVINCE"):
        values["province"] = env["KCBX_PROVINCE"]
    return Settings().with_overrides(**values)
