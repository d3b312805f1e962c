"""deploy/tor/torrc: tor accepts it, and the onion service it makes is one the app accepts."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from config.settings import ConfigError, onion_address
from tests.deploy.conftest import DEPLOY, SITE, tool

TORRC = DEPLOY / "tor" / "torrc"
SHIPPED_DIR = "/var/lib/tor/visselpipa/"
DEBIAN_DEFAULTS = Path("/usr/share/tor/tor-service-defaults-torrc")


def _torrc(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The torrc with only its HiddenServiceDir moved into tmp (mode 0700, as tor wants)."""
    hs_dir, data_dir = tmp_path / "hs", tmp_path / "data"
    for directory in (hs_dir, data_dir):
        directory.mkdir(mode=0o700)
    text = TORRC.read_text(encoding="utf-8")
    assert f"HiddenServiceDir {SHIPPED_DIR}" in text
    torrc = tmp_path / "torrc"
    torrc.write_text(text.replace(SHIPPED_DIR, f"{hs_dir}/"), encoding="utf-8")
    return torrc, hs_dir, data_dir


def _options() -> dict[str, str]:
    return dict(re.findall(r"^(\w+) (.+)$", TORRC.read_text(encoding="utf-8"), re.M))


def test_tor_verifies_the_configuration(tmp_path):
    tor = tool("tor")
    defaults = "/dev/null"
    as_debian = os.geteuid() == 0 and DEBIAN_DEFAULTS.exists()
    if as_debian:
        # As Debian's tor.service runs it: its defaults (User debian-tor, ...)
        # and directories that user owns and can reach (pytest's are 0700).
        tmp_path = Path(tempfile.mkdtemp(prefix="vp-tor-"))
        tmp_path.chmod(0o711)
    torrc, hs_dir, data_dir = _torrc(tmp_path)
    if as_debian:
        defaults = str(DEBIAN_DEFAULTS)
        user = pwd.getpwnam("debian-tor")
        for directory in (hs_dir, data_dir):
            os.chown(directory, user.pw_uid, user.pw_gid)
    try:
        result = subprocess.run(
            [tor, "--verify-config", "-f", str(torrc), "--defaults-torrc", defaults,
             "--DataDirectory", str(data_dir)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        if as_debian:
            shutil.rmtree(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration was valid" in result.stdout


def test_tor_would_refuse_a_misspelt_option(tmp_path):
    tor = tool("tor")
    torrc, _, data_dir = _torrc(tmp_path)
    torrc.write_text(torrc.read_text().replace("PoWDefensesEnabled 1", "PoWDefenceEnabled 1"))
    result = subprocess.run(
        [tor, "--verify-config", "-f", str(torrc), "--defaults-torrc", "/dev/null",
         "--DataDirectory", str(data_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0


def test_the_onion_has_proof_of_work_on_and_points_at_the_nginx_onion_block():
    options = _options()
    assert options["HiddenServicePoWDefensesEnabled"] == "1"
    assert options["HiddenServiceNonAnonymousMode"] == "0"
    assert options["SocksPort"] == "0"
    virtual_port, target = options["HiddenServicePort"].split()
    assert virtual_port == "80"
    assert re.search(rf"^\s*listen {re.escape(target)} default_server;", SITE.read_text(), re.M)


def test_tor_creates_an_onion_address_that_the_setting_accepts(tmp_path):
    tor = tool("tor")
    torrc, hs_dir, data_dir = _torrc(tmp_path)
    log = tmp_path / "tor.log"
    with log.open("wb") as out:
        # Offline: tor makes the service's keys and hostname without the network.
        process = subprocess.Popen(
            [tor, "-f", str(torrc), "--defaults-torrc", "/dev/null",
             "--DataDirectory", str(data_dir), "--DisableNetwork", "1"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        hostname = hs_dir / "hostname"
        deadline = time.monotonic() + 30
        while not hostname.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert hostname.exists(), log.read_text(errors="replace")
        address = hostname.read_text().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert onion_address(address) == address
    assert (hs_dir / "hs_ed25519_secret_key").stat().st_mode & 0o077 == 0
    with pytest.raises(ConfigError):
        onion_address(address[:10] + ("a" if address[10] != "a" else "b") + address[11:])
