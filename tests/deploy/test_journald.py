"""deploy/journald: the units log to their own namespace, rotated and expired."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY

CONF = DEPLOY / "journald" / "journald@visselpipa.conf"
UNITS = DEPLOY / "systemd"
JOURNALD = Path("/lib/systemd/systemd-journald")


def _journal() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(CONF.read_text(encoding="utf-8"))
    assert parser.sections() == ["Journal"]
    return dict(parser["Journal"])


def _seconds(value: str) -> int:
    units = {"day": 86400, "week": 7 * 86400, "h": 3600, "min": 60, "s": 1}
    number, unit = re.fullmatch(r"(\d+)\s*([a-z]+)", value).groups()  # type: ignore[union-attr]
    return int(number) * units[unit]


def test_every_setting_is_one_journald_knows():
    # The oracle is journald itself: its configuration parser's table of keys
    # (gperf, "Journal.<Key>") is in the binary. A misspelt key would be
    # ignored with a warning at its start, and logs would never expire.
    if not JOURNALD.exists():
        pytest.skip("systemd-journald is not installed here")
    known = set(re.findall(rb"Journal\.([A-Za-z]+)", JOURNALD.read_bytes()))
    settings = _journal()
    unknown = [key for key in settings if key.encode() not in known]
    assert unknown == []
    assert b"MaxRetentionSec" in known  # the table was found at all


def test_logs_rotate_weekly_expire_within_30_days_and_are_bounded():
    settings = _journal()
    assert _seconds(settings["MaxFileSec"]) <= 7 * 86400
    assert _seconds(settings["MaxRetentionSec"]) <= 30 * 86400
    assert settings["SystemMaxUse"].endswith(("M", "G"))
    assert settings["Storage"] == "persistent"
    # No copy elsewhere that these rules would not expire.
    for key in ("ForwardToSyslog", "ForwardToKMsg", "ForwardToConsole", "ForwardToWall"):
        assert settings[key] == "no", key


@pytest.mark.parametrize("unit", ["visselpipa.service", "visselpipa-tick.service"])
def test_both_units_log_into_that_namespace(unit):
    lines = (UNITS / unit).read_text(encoding="utf-8").splitlines()
    assert "LogNamespace=visselpipa" in lines
    # The file's name is the namespace's: journald reads journald@<namespace>.conf.
    assert CONF.name == "journald@visselpipa.conf"
