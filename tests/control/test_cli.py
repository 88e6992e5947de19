"""`reachcheck control serve`: option checks, and a real server process."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reachcheck.control.cli import control, read_tokens
from tests.control.conftest import TOKEN, server_cert
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.http_server import HttpApp, Page
from tests.fakes.pki import default_pki
from tests.fakes.tls_server import FakeServer

ROOT = Path(__file__).resolve().parents[2]


def test_read_tokens(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"# rotate monthly\n{TOKEN}\n\n  {TOKEN}-next  \n")
    path.chmod(0o600)
    assert read_tokens(str(path)) == (TOKEN, f"{TOKEN}-next")
    path.write_text("short\n")
    with pytest.raises(ValueError, match="16"):
        read_tokens(str(path))
    path.write_text("# nothing\n")
    with pytest.raises(ValueError, match="no token"):
        read_tokens(str(path))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "needs --cert and --key"),
        (["--plain-http", "--cert", "{cert}"], "excludes"),
        (["--plain-http", "--resolver", "resolver.test"], "not an IP"),
        (["--plain-http", "--resolver", "127.0.0.1:0"], "bad port in '127.0.0.1:0'"),
        (["--plain-http", "--listen", "[::1"], "'[::1' is not HOST:PORT or [IPv6]:PORT"),
        (["--plain-http", "--listen", "::1"], "no port in '::1'"),
        (["--plain-http", "--token-file", "{short}"], "16"),
        (["--plain-http", "--max-inflight", "0"], "max-inflight"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    cert, _ = server_cert(tmp_path)
    short = tmp_path / "short"
    short.write_text("abc\n")
    short.chmod(0o600)
    args = ["serve", "--listen", "127.0.0.1:1", "--resolver", "127.0.0.1:53"]
    args += [a.format(cert=cert, short=short) for a in extra]
    result = CliRunner().invoke(control, args)
    assert result.exit_code == 2
    assert message in result.output


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, verify: ssl.SSLContext, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            response = httpx.get(f"{url}/v1/health", verify=verify, trust_env=False)
            if response.status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("server did not come up")


@pytest.mark.parametrize("plain", [False, True])
def test_serve_in_a_real_process(tmp_path: Path, plain: bool) -> None:
    cert, key = server_cert(tmp_path)
    tokens = tmp_path / "tokens"
    tokens.write_text(TOKEN + "\n")
    tokens.chmod(0o600)
    port = free_port()
    scheme = "http" if plain else "https"
    url = f"{scheme}://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=default_pki().ca_bundle)
    with FakeDnsServer({"site.test": Rule.answer("127.0.0.1")}) as dns, FakeServer(
        tls=True, app=HttpApp({"site.test": {"/": Page("From afar")}})
    ) as site:
        site_url = site.url("site.test")
        args = [
            sys.executable, "-m", "reachcheck.control", "serve", "--listen", f"127.0.0.1:{port}",
            "--token-file", str(tokens), "--resolver", f"{dns.address[0]}:{dns.address[1]}",
            "--allow-private", "--ca-bundle", default_pki().ca_bundle, "--timeout", "2",
        ]
        args += ["--plain-http"] if plain else ["--cert", cert, "--key", key]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        try:
            wait_healthy(url, verify, proc)
            response = httpx.post(
                f"{url}/v1/measure", json={"url": site_url}, verify=verify,
                headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20, trust_env=False,
            )
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["http"]["title"] == "From afar"
    assert "--allow-private" in stderr  # the warning
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    measured = [r for r in records if r["path"] == "/v1/measure"]
    assert measured and measured[0]["url"] == site_url
    assert measured[0]["status"] == 200 and measured[0]["client"] == "127.0.0.1"
