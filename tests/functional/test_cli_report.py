"""`visselpipa report` from the command line: three files, figures only, no content."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from app.cli import main
from caseflow.service.cases import CaseService
from caseflow.service.intake import Intake, Report
from caseflow.store import create_engine
from config.settings import load_settings
from tests.functional.conftest import cli_env


def test_report_writes_three_files_with_figures_and_no_report_text(database_url, tmp_path):
    env = cli_env(database_url, tmp_path / "data")
    runner = CliRunner()
    assert runner.invoke(main, ["init"], env=env).exit_code == 0
    settings = load_settings(environ=env)
    engine = create_engine(database_url)
    marker = f"MARKER{secrets.token_hex(8)}"
    # Six reports on 12 August 2025 (Q3), one carrying the marker in every field.
    intake = Intake(
        engine, settings, CaseService(engine, settings.rules), clock=lambda: _noon(2025, 8, 12)
    )
    for n in range(6):
        text = marker if n == 0 else f"Rapport {n}."
        intake.submit(
            intake.begin(),
            Report(
                category="bribery",
                agency="tullverket",
                what=text,
                when=text,
                where=text,
                persons=text,
                contact=f"{marker}@example.org" if n == 0 else None,
            ),
        )
    engine.dispose()
    assert runner.invoke(main, ["checkpoint"], env=env).exit_code == 0

    out = tmp_path / "out"
    result = runner.invoke(main, ["report", "--quarter", "2025Q3", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == ["visselpipa-2025Q3.csv", "visselpipa-2025Q3.html", "visselpipa-2025Q3.pdf"]

    rows = list(csv.reader(io.StringIO((out / "visselpipa-2025Q3.csv").read_text())))
    values = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert values[("received_by_category", "Mutor och bestickning")] == "6"
    assert values[("received_by_category", "Mottagna rapporter")] == "6"
    assert values[("open_at_end", "Antikorruptionsgruppen")] == "6"
    assert values[("checkpoint", "head_seq")].isdigit()

    page = (out / "visselpipa-2025Q3.html").read_text()
    HTMLParser().feed(page)  # parses without error
    assert "<h1>" in page and "Mutor och bestickning" in page
    pdf = PdfReader(out / "visselpipa-2025Q3.pdf")
    assert "Mutor och bestickning" in "\n".join(p.extract_text() for p in pdf.pages)

    for path in out.iterdir():
        raw = path.read_bytes()
        assert marker.encode() not in raw, path.name
    assert marker not in "\n".join(p.extract_text() for p in pdf.pages)

    # Made again, the report prints what was published the first time.
    first_csv = (out / "visselpipa-2025Q3.csv").read_text()
    again = runner.invoke(main, ["report", "--quarter", "2025Q3", "--out", str(out)], env=env)
    assert again.exit_code == 0, again.output
    assert (out / "visselpipa-2025Q3.csv").read_text() == first_csv

    supervisor = runner.invoke(
        main, ["report", "--year", "2025", "--supervisor", "--out", str(out), "--locale", "en"],
        env=env,
    )  # fmt: skip
    assert supervisor.exit_code == 0, supervisor.output
    for suffix in ("html", "pdf", "csv"):
        made = out / f"visselpipa-2025-supervisor.{suffix}"
        assert made.exists()
        assert marker.encode() not in made.read_bytes()
    annual = (out / "visselpipa-2025-supervisor.csv").read_text()
    assert "followed_up,Acknowledged,2025,0" in annual
    assert "received_by_category,Reports received,2025,6" in annual


def _noon(year: int, month: int, day: int):
    from datetime import datetime

    from caseflow.domain.dates import STOCKHOLM

    assert date(year, month, day)  # a real day
    return datetime(year, month, day, 12, tzinfo=STOCKHOLM)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--quarter", "2026Q5"], "--quarter"),
        (["--quarter", "Q3-2026"], "--quarter"),
        (["--quarter", "2025Q3", "--year", "2026"], "--quarter"),
        ([], "--quarter"),
        (["--year", "2026"], "--year"),
        (["--year", "20226", "--supervisor"], "--year"),
        (["--quarter", "2025Q3", "--supervisor"], "--supervisor"),
        (["--quarter", "2025Q3", "--locale", "de"], "--locale"),
        # A period still running is not published: its figures would be kept half-counted.
        (["--quarter", "2999Q1"], "--quarter"),
        (["--year", "2999", "--supervisor"], "--year"),
    ],
)
def test_bad_arguments_are_refused_with_the_option_named(args, named, tmp_path):
    result = CliRunner().invoke(main, ["report", *args, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert named in result.output
    assert not (tmp_path / "out").exists()
