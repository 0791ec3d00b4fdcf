"""kcbx: the 控辍保学 term-sweep pipeline (load → validate → match → ledger → report)."""
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = PROJECT_ROOT / "sql"
TEMPLATES_DIR = PROJECT_ROOT / "templates"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
