"""deploy/nginx: nginx accepts the site, and its limits match the app's."""

from __future__ import annotations

import re
import subprocess
import tomllib

from config.settings import PACKAGE_DIR
from tests.deploy.conftest import SITE, SNIPPET, nginx_command, nginx_site


def test_nginx_accepts_the_site_under_debians_nginx_conf(tmp_path):
    site = nginx_site(tmp_path / "nginx")
    result = subprocess.run(nginx_command(site, "-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    files = [*(site.prefix / "sites-enabled").iterdir(), site.prefix / "snippets" / "proxy.conf"]
    generated = "\n".join(
        line.split("#", 1)[0] for path in files for line in path.read_text().splitlines()
    )
    # Every path that names the real server was a documented substitution point.
    for system_path in ("/etc/letsencrypt", "/var/log", "/run/", "/var/www"):
        assert system_path not in generated


def test_a_missing_certificate_is_refused(tmp_path):
    site = nginx_site(tmp_path / "nginx")
    site.cert.unlink()
    result = subprocess.run(nginx_command(site, "-t"), capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "fullchain.pem" in result.stderr


def test_the_upload_limit_is_the_apps_request_limit():
    with (PACKAGE_DIR / "settings.toml").open("rb") as f:
        app_limit = tomllib.load(f)["max_request_bytes"]
    limits = re.findall(r"^\s*client_max_body_size\s+(\d+);", SNIPPET.read_text(), re.M)
    assert limits == [str(app_limit)]
    # The largest body fits nginx's memory buffer: no body is ever spooled to
    # a file, whose directory would keep the upload's time.
    buffers = re.findall(r"^\s*client_body_buffer_size\s+(\d+);", SNIPPET.read_text(), re.M)
    assert buffers == [str(app_limit)]


def test_nginx_keeps_its_connections_to_the_app_alive():
    snippet = SNIPPET.read_text()
    assert re.search(r"^\s*proxy_http_version 1\.1;", snippet, re.M)
    assert re.search(r'^\s*proxy_set_header Connection "";', snippet, re.M)
    upstream = re.search(r"upstream visselpipa_app \{(.*?)\}", SITE.read_text(), re.S)
    assert upstream is not None
    assert re.search(r"^\s*keepalive \d+;", upstream.group(1), re.M)


def test_the_proxy_buffers_requests_and_keeps_no_log_of_clients():
    snippet = SNIPPET.read_text()
    directives = dict(
        re.findall(r"^\s*([a-z_]+)\s+([^;]*);", snippet, re.M)  # first value of each
    )
    assert directives["proxy_request_buffering"] == "on"
    assert directives["access_log"] == "off"
    assert directives["error_log"].endswith(" crit")
    assert directives["server_tokens"] == "off"
    assert directives["proxy_max_temp_file_size"] == "0"
    assert directives["gzip"] == "off"
    # All three servers include the snippet, and none sets these itself.
    site = SITE.read_text()
    assert site.count("include /etc/nginx/snippets/visselpipa-proxy.conf;") == 3
    for name in ("access_log", "error_log", "server_tokens", "client_max_body_size"):
        assert not re.search(rf"^\s*{name}\s", site, re.M), name
