"""The semiannual report as a person sees it: rendered by headless Chromium, with its figures and charts."""
import shutil
import subprocess

import pytest

from pipelines import db
from pipelines.report import html_to_pdf, write_term_report
from pipelines.terms import Term

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic"]
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="chromium is not installed (apt-get install chromium)")


def test_report_renders_with_key_figures_and_charts(swept_county, tmp_path):
    settings, _ = swept_county
    html = write_term_report(db.engine(settings), settings, Term.parse("2026-autumn"), tmp_path)
    profile = tmp_path / "profile"
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", html.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    assert "控辍保学常态化监测报告" in dom and "入学率" in dom and "巩固率" in dom
    assert dom.count("<svg") >= 5 and "<polyline" in dom and "<rect" in dom
    key = [line for line in dom.splitlines() if 'id="open-cases"' in line][0]
    assert any(ch.isdigit() for ch in key)
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars", "--window-size=1280,2000",
                    f"--screenshot={shot}", html.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 50_000
    pdf = html_to_pdf(html)
    assert pdf and pdf.read_bytes()[:5] == b"%PDF-"
