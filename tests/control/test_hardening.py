"""Control server hardening (issue 17): malformed bodies, secure-by-default tokens."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from reachcheck.control.cli import MAX_TOKEN_FILE, _is_loopback, control, read_tokens
from reachcheck.control.protocol import MAX_BODY, RequestError, parse_measure_request
from tests.control.conftest import TOKEN, RunningServer
from tests.control.test_server import post

# ----------------------------------------------------------------------- request bodies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {}, optional={"url": json_values | st.sampled_from(["https://a.test/", "http://[::1]:0/"]),
                  "addresses": json_values | st.lists(st.text() | st.integers(), max_size=20)},
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=MAX_BODY + 64))
def test_any_bytes_are_a_request_or_a_request_error(raw: bytes) -> None:
    try:
        parse_measure_request(raw)
    except RequestError as exc:
        assert exc.status in (400, 413)


@settings(max_examples=300, deadline=None)
@given(fields)
def test_any_json_fields_are_a_request_or_a_400(payload: dict[str, Any]) -> None:
    try:
        req = parse_measure_request(json.dumps(payload).encode())
    except RequestError as exc:
        assert exc.status == 400 and exc.reason
    else:
        assert req.target.url.startswith(("http://", "https://"))


@pytest.mark.parametrize("raw", [
    b"[" * 5000,
    b'{"url": ' + b"1" * 5000 + b"}",
    b'{"url": "https://a.test/", "url": "https://b.test/"}',
    b'{"url": NaN}',
    b'{"url": 1e999}',
])
def test_hostile_json_is_400(raw: bytes) -> None:
    with pytest.raises(RequestError) as info:
        parse_measure_request(raw)
    assert info.value.status == 400


@pytest.mark.parametrize("raw", [b"[" * 5000, b'{"url": ' + b"1" * 5000 + b"}"])
async def test_hostile_body_is_400_with_one_log_line_and_no_traceback(
    control: Any, ca_bundle: str, raw: bytes, capfd: pytest.CaptureFixture[str]
) -> None:
    running: RunningServer = control(tokens=(TOKEN,))
    response = await post(running, ca_bundle, content=raw)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    for _ in range(100):  # the access log is written just after the response is sent
        if running.records:
            break
        await asyncio.sleep(0.01)
    (record,) = running.records
    assert record["status"] == 400 and "not JSON" in record["reason"]
    assert "Traceback" not in capfd.readouterr().err


# ---------------------------------------------------------------------------- tokens


def token_file(tmp_path: Path, text: str = TOKEN + "\n", mode: int = 0o600) -> Path:
    path = tmp_path / "tokens"
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_token_file_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    with pytest.raises(ValueError, match="chmod 600"):
        read_tokens(str(token_file(tmp_path, mode=mode)))


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_private_token_file_is_read(tmp_path: Path, mode: int) -> None:
    assert read_tokens(str(token_file(tmp_path, mode=mode))) == (TOKEN,)


def test_token_file_read_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a regular file"):
        read_tokens("/dev/zero")  # read until MemoryError before
    big = token_file(tmp_path, TOKEN + "\n" + "#" * MAX_TOKEN_FILE)
    with pytest.raises(ValueError, match="over"):
        read_tokens(str(big))


def test_token_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    with pytest.raises(ValueError, match="not a regular file"):
        read_tokens(str(fifo))


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.9.9.9", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.7", False), ("control.example", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert _is_loopback(host) is loopback


def serve_args(*extra: str) -> list[str]:
    return ["serve", "--plain-http", "--resolver", "127.0.0.1:53", *extra]


@pytest.mark.parametrize("listen", ["0.0.0.0:8443", "[::]:8443", "192.0.2.7:8443"])
def test_non_loopback_without_token_refuses_to_start(listen: str) -> None:
    result = CliRunner().invoke(control, serve_args("--listen", listen))
    assert result.exit_code == 2
    assert "--token-file" in result.output and "--no-token" in result.output


def test_no_token_and_token_file_exclude_each_other(tmp_path: Path) -> None:
    args = serve_args("--listen", "0.0.0.0:8443", "--no-token",
                      "--token-file", str(token_file(tmp_path)))
    result = CliRunner().invoke(control, args)
    assert result.exit_code == 2 and "excludes" in result.output


def test_loose_token_file_stops_serve_with_exit_2(tmp_path: Path) -> None:
    args = serve_args("--listen", "0.0.0.0:8443", "--token-file",
                      str(token_file(tmp_path, mode=0o644)))
    result = CliRunner().invoke(control, args)
    assert result.exit_code == 2 and "chmod 600" in result.output
