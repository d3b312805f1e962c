"""deploy/systemd: the units verify, are hardened, and the timer fires every 5 minutes."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from config.settings import load_settings
from tests.deploy.conftest import DEPLOY, tool

UNITS = DEPLOY / "systemd"
SHIPPED_COMMAND = "/opt/visselpipa/.venv/bin/visselpipa"
#: The command of this checkout's venv: `systemd-analyze verify` needs it to exist.
VENV_COMMAND = Path(sys.executable).parent / "visselpipa"
SERVICES = ("visselpipa.service", "visselpipa-tick.service")


def _installed(tmp_path: Path) -> Path:
    """The units as installed, with ExecStart pointing at this venv's command."""
    if not VENV_COMMAND.exists():
        pytest.skip(f"{VENV_COMMAND} does not exist: run `make install`")
    target = tmp_path / "units"
    target.mkdir()
    for unit in UNITS.iterdir():
        text = unit.read_text(encoding="utf-8")
        (target / unit.name).write_text(text.replace(SHIPPED_COMMAND, str(VENV_COMMAND)))
    return target


def _directives(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / unit).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path):
    analyze = tool("systemd-analyze", "systemd")
    units = _installed(tmp_path)
    result = subprocess.run(
        [analyze, "verify", *(str(units / name) for name in (*SERVICES, "visselpipa-tick.timer"))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # verify exits 0 on an unknown value and only warns: any output is a finding.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_verify_would_catch_a_missing_command_or_a_bad_value(tmp_path):
    analyze = tool("systemd-analyze", "systemd")
    bad = tmp_path / "bad.service"
    text = (UNITS / "visselpipa.service").read_text()
    bad.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=strictest"))
    result = subprocess.run([analyze, "verify", str(bad)], capture_output=True, text=True)
    assert "visselpipa is not executable" in result.stderr
    assert "strictest" in result.stderr


@pytest.mark.parametrize("unit", SERVICES)
def test_the_services_run_confined_as_the_visselpipa_user(unit):
    d = _directives(unit)
    assert d["User"] == ["visselpipa"] and d["Group"] == ["visselpipa"]
    assert d["ProtectSystem"] == ["strict"]
    assert d["ReadWritePaths"] == ["/var/lib/visselpipa"]
    assert d["WorkingDirectory"] == ["/var/lib/visselpipa"]
    for flag in ("PrivateTmp", "NoNewPrivileges", "ProtectHome"):
        assert d[flag] == ["yes"], flag
    assert d["CapabilityBoundingSet"] == [""]
    assert d["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert d["UMask"] == ["0077"]
    assert d["EnvironmentFile"] == ["/etc/visselpipa/visselpipa.env"]
    assert d["ExecStart"][0].startswith(
        SHIPPED_COMMAND + (" serve" if unit == SERVICES[0] else " tick")
    )


@pytest.mark.parametrize("unit", SERVICES)
def test_systemds_own_exposure_score_is_low(tmp_path, unit):
    analyze = tool("systemd-analyze", "systemd")
    units = _installed(tmp_path)
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(units / unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in result.stderr:
        pytest.skip("systemd-analyze security --offline needs systemd 250 or later")
    score = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert score, result.stdout + result.stderr
    # 0 is fully confined, 10 is a unit with no hardening (9.6 for a bare unit).
    assert float(score.group(1)) <= 2.0, result.stdout


def test_the_timer_starts_tick_every_five_minutes():
    analyze = tool("systemd-analyze", "systemd")
    timer = _directives("visselpipa-tick.timer")
    assert timer["Persistent"] == ["true"]
    (calendar,) = timer["OnCalendar"]
    result = subprocess.run(
        [analyze, "calendar", "--iterations=4", calendar], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    moments = [
        datetime.strptime(m, "%Y-%m-%d %H:%M:%S")
        for m in re.findall(
            r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", result.stdout
        )
    ]
    assert len(moments) >= 4, result.stdout
    gaps = {(b - a).total_seconds() for a, b in zip(moments, moments[1:], strict=False)}
    assert gaps == {300.0}
    # The timer starts the tick service of the same name.
    assert "Unit" not in timer
    assert (UNITS / "visselpipa-tick.service").exists()


def test_the_example_environment_file_is_a_valid_configuration():
    example = DEPLOY / "visselpipa.env.example"
    env = dict(
        line.split("=", 1)
        for line in example.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    secrets = {
        "VISSELPIPA_SECRET_KEY": "s" * 40,
        "VISSELPIPA_TENANT_SALT": "ab" * 16,
        "VISSELPIPA_SIGNING_SEED": "cd" * 32,
    }
    settings = load_settings({**env, **secrets})  # raises on an unknown or bad setting
    assert str(settings.data_dir) == _directives("visselpipa.service")["ReadWritePaths"][0]
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.rate_limit_storage.startswith("redis://")
