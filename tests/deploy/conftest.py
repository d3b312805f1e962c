"""The shipped deployment files (deploy/), checked by the tools that will run them.

Each test needs a Debian tool (nginx, tor, systemd-analyze, openssl) and
skips with the reason when it is missing; `.ci/run` installs them and sets
TEST_REQUIRE_DEPLOY_TOOLS=1, so in CI a missing tool fails instead.

Generated configurations are the shipped files with only the documented
substitution points replaced (paths into the test's temporary directory,
free ports): what is tested is what an operator installs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live_server import REPO_ROOT, _free_port

DEPLOY = REPO_ROOT / "deploy"
SITE = DEPLOY / "nginx" / "visselpipa.conf"
SNIPPET = DEPLOY / "nginx" / "visselpipa-proxy.conf"
SERVER_NAME = "visselpipa.example.se"
CERT = f"/etc/letsencrypt/live/{SERVER_NAME}/fullchain.pem"
KEY = f"/etc/letsencrypt/live/{SERVER_NAME}/privkey.pem"
#: The substitution points the header of deploy/nginx/visselpipa.conf lists.
NGINX_POINTS = (
    SERVER_NAME,
    CERT,
    KEY,
    "127.0.0.1:8000",
    "127.0.0.1:8081",
    "/run/nginx-visselpipa-body",
    "/var/www/html",
    "/etc/nginx/snippets/visselpipa-proxy.conf",
)


def tool(name: str, package: str | None = None) -> str:
    """The path of a Debian tool, or skip (fail in CI) naming the package to install."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        reason = (
            f"{name} is not installed: `apt-get install {package or name}` "
            "(.ci/run installs it for CI)"
        )
        if os.environ.get("TEST_REQUIRE_DEPLOY_TOOLS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for the server name and 127.0.0.1, and its key (openssl)."""
    openssl = tool("openssl")
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-days", "2", "-subj", f"/CN={SERVER_NAME}",
            "-addext", f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class NginxSite:
    """Our site, rewritten into a prefix directory, under a Debian-like nginx.conf."""

    prefix: Path
    conf: Path
    cert: Path
    https_port: int
    http_port: int
    onion_port: int
    app_port: int

    @property
    def logs(self) -> Path:
        return self.prefix / "logs"

    @property
    def body_temp(self) -> Path:
        return self.prefix / "body"

    @property
    def webroot(self) -> Path:
        return self.prefix / "www"


def nginx_site(prefix: Path, app_port: int | None = None) -> NginxSite:
    """Write nginx.conf + our two files with only the substitution points changed."""
    prefix.mkdir(parents=True, exist_ok=True)
    for sub in ("logs", "sites-enabled", "snippets", "www", "tls"):
        (prefix / sub).mkdir(exist_ok=True)
    cert, key = self_signed(prefix / "tls")
    site = NginxSite(
        prefix=prefix,
        conf=prefix / "nginx.conf",
        cert=cert,
        https_port=_free_port(),
        http_port=_free_port(),
        onion_port=_free_port(),
        app_port=app_port or _free_port(),
    )
    text = SITE.read_text(encoding="utf-8")
    for point in NGINX_POINTS:
        assert point in text, f"{point} is no longer in {SITE}: update its header and this test"
    text = (
        text.replace(CERT, str(cert))
        .replace(KEY, str(key))
        .replace("/etc/nginx/snippets/visselpipa-proxy.conf", str(prefix / "snippets/proxy.conf"))
        .replace("127.0.0.1:8000", f"127.0.0.1:{site.app_port}")
        .replace("127.0.0.1:8081", f"127.0.0.1:{site.onion_port}")
        .replace("/var/www/html", str(site.webroot))
        .replace("listen [::]:80 default_server;", "")
        .replace("listen [::]:443 ssl http2 default_server;", "")
        .replace("listen 80 default_server;", f"listen 127.0.0.1:{site.http_port} default_server;")
        .replace(
            "listen 443 ssl http2 default_server;",
            f"listen 127.0.0.1:{site.https_port} ssl http2 default_server;",
        )
    )
    snippet = SNIPPET.read_text(encoding="utf-8")
    for point in ("/var/log/nginx/visselpipa-error.log", "/run/nginx-visselpipa-body"):
        assert point in snippet, f"{point} is no longer in {SNIPPET}"
    snippet = snippet.replace(
        "/var/log/nginx/visselpipa-error.log", str(site.logs / "visselpipa-error.log")
    ).replace("/run/nginx-visselpipa-body", str(site.body_temp))
    (prefix / "sites-enabled" / "visselpipa.conf").write_text(text, encoding="utf-8")
    (prefix / "snippets" / "proxy.conf").write_text(snippet, encoding="utf-8")
    mime = Path("/etc/nginx/mime.types")
    # Debian's /etc/nginx/nginx.conf, with its paths in the prefix: its
    # http-wide access log, error log at "error", gzip and old TLS versions
    # are what our server blocks must override.
    site.conf.write_text(
        f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {site.logs}/error.log;
events {{ worker_connections 128; }}
http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    {f"include {mime};" if mime.exists() else ""}
    default_type application/octet-stream;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {site.logs}/access.log;
    gzip on;
    client_body_temp_path {prefix}/default-body;
    proxy_temp_path {prefix}/proxy-temp;
    fastcgi_temp_path {prefix}/fastcgi-temp;
    uwsgi_temp_path {prefix}/uwsgi-temp;
    scgi_temp_path {prefix}/scgi-temp;
    include {prefix}/sites-enabled/*;
}}
""",
        encoding="utf-8",
    )
    return site


def nginx_command(site: NginxSite, *args: str) -> list[str]:
    return [
        tool("nginx"),
        "-p", str(site.prefix), "-c", str(site.conf), "-e", str(site.logs / "startup.log"),
        *args,
    ]  # fmt: skip


@contextmanager
def running_nginx(site: NginxSite) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground on the site's ports; stopped (gracefully) on exit."""
    out = (site.prefix / "nginx.out").open("wb")
    process = subprocess.Popen(
        nginx_command(site), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
    )
    try:
        _wait_for_port(site.https_port, process, site)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish, then exit
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        out.close()


def _wait_for_port(port: int, process: subprocess.Popen[bytes], site: NginxSite) -> None:
    import socket

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = (site.prefix / "nginx.out").read_text(errors="replace")
            raise RuntimeError(f"nginx exited with {process.returncode}:\n{output}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port}")
