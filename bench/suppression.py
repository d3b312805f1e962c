"""Time of the suppression step: publishing a year of reports (quarters, then the year).

Not part of the test suite. Run::

    .venv/bin/python bench/suppression.py [--repeats 3] [--scale 1]

For each repeat, a fresh SQLite database gets a generated year of cases
with many small cells (``tests/unit/reporting/year_data.py``, seed = repeat
number; ``--scale`` multiplies the cases per cell), then the four quarterly
reports and the annual supervisor report are made in order through
``quarterly_report`` / ``annual_supervisor_report``, as ``visselpipa
report`` makes them. Prints, per report, the median wall time of the whole
call and of the suppression step inside it (:func:`reporting.suppression.protect`:
the integer programme, the check by attack, the un-hiding of complements),
and how many small counts were protected. The machine line names the CPU
and the load average.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import reporting.reports as reports  # noqa: E402
from caseflow.store import create_engine, migrate  # noqa: E402
from config.settings import load_settings  # noqa: E402
from reporting import suppression  # noqa: E402
from tests.unit.reporting.year_data import generate_year  # noqa: E402

YEAR = 2025


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def run_once(seed: int, scale: int) -> dict[str, tuple[float, float, int, int]]:
    found: dict[str, tuple[float, float, int, int]] = {}
    spent: list[float] = []
    protected: list[int] = []
    original = suppression.protect

    def timed(problem: suppression.Problem, *args: object) -> suppression.Decision:
        start = time.perf_counter()
        decision = original(problem, *args)  # type: ignore[arg-type]
        spent.append(time.perf_counter() - start)
        protected.append(len(decision.protected) + len(problem.protected))
        return decision

    reports.protect = timed  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            engine = create_engine(url)
            migrate(engine)
            settings = load_settings(
                {"VISSELPIPA_DATA_DIR": str(Path(tmp) / "data"), "VISSELPIPA_DATABASE_URL": url},
                require_secrets=False,
            )
            cases = sum(generate_year(engine, settings, YEAR, seed * 100 + n) for n in range(scale))
            later = date(YEAR + 1, 1, 5)
            for period in (*(f"{YEAR}Q{q}" for q in range(1, 5)), str(YEAR)):
                spent.clear()
                protected.clear()
                start = time.perf_counter()
                if "Q" in period:
                    reports.quarterly_report(engine, settings, period, today=later)
                else:
                    reports.annual_supervisor_report(engine, settings, YEAR, today=later)
                total = time.perf_counter() - start
                found[period] = (total, sum(spent), sum(protected), cases)
            engine.dispose()
    finally:
        reports.protect = original
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    warnings.simplefilter("ignore", DeprecationWarning)
    runs = [run_once(seed, args.scale) for seed in range(1, args.repeats + 1)]
    print(f"machine: {_cpu()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"cases per year (per run): {[r[str(YEAR)][3] for r in runs]}")
    print("| report | whole call, median | suppression step, median | small counts protected |")
    print("|---|---|---|---|")
    for period in runs[0]:
        whole = statistics.median(r[period][0] for r in runs)
        step = statistics.median(r[period][1] for r in runs)
        small = [r[period][2] for r in runs]
        print(f"| {period} | {whole * 1000:.0f} ms | {step * 1000:.0f} ms | {small} |")


if __name__ == "__main__":
    main()
