"""A real control server (uvicorn in a thread, HTTPS on 127.0.0.1) for the API tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from reachcheck.control.measure import MeasureSettings
from reachcheck.control.server import ControlApi, ServerSettings, create_app, uvicorn_config
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.pki import default_pki

TOKEN = "test-token-0123456789abcdef"


@dataclass
class RunningServer:
    """A started control server and what it logged."""

    url: str
    api: ControlApi
    records: list[dict[str, Any]] = field(default_factory=list)
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    def stop(self) -> None:
        assert self.server is not None and self.thread is not None
        self.server.should_exit = True
        self.thread.join(10)


def server_cert(tmp: Path) -> tuple[str, str]:
    """(certfile, keyfile) for 127.0.0.1, issued by the test CA."""
    leaf = default_pki().ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp / "server.pem", tmp / "server.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(key))
    return str(cert), str(key)


def start_server(settings: ServerSettings, certfile: str, keyfile: str) -> RunningServer:
    """Start uvicorn on an ephemeral loopback port; returns once it accepts connections."""
    records: list[dict[str, Any]] = []
    app = create_app(settings, emit=records.append)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn_config(app, "127.0.0.1", port, certfile=certfile, keyfile=keyfile)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("control server did not start")
        time.sleep(0.01)
    running = RunningServer(f"https://127.0.0.1:{port}", app.state.api, records, server, thread)
    return running


@pytest.fixture
def dns() -> Iterator[FakeDnsServer]:
    """The resolver the control server asks (loopback only)."""
    with FakeDnsServer() as srv:
        yield srv


@pytest.fixture
def ca_bundle() -> str:
    return default_pki().ca_bundle


@pytest.fixture
def control(
    tmp_path: Path, dns: FakeDnsServer, ca_bundle: str
) -> Iterator[Callable[..., RunningServer]]:
    """`control(**ServerSettings or MeasureSettings fields)` starts a server; stopped after."""
    certfile, keyfile = server_cert(tmp_path)
    started: list[RunningServer] = []
    measure_fields = set(MeasureSettings.__dataclass_fields__)

    def make(**overrides: Any) -> RunningServer:
        measure = MeasureSettings(resolvers=(dns.address,), timeout=2.0, ca_bundle=ca_bundle)
        measure = replace(measure, **{k: v for k, v in overrides.items() if k in measure_fields})
        settings = ServerSettings(measure=measure, rate_per_client=None)
        settings = replace(
            settings, **{k: v for k, v in overrides.items() if k not in measure_fields}
        )
        running = start_server(settings, certfile, keyfile)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()
