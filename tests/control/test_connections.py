"""Connection admission (issue 17): idle and slow clients never starve requests.

The table is tested alone; the rest runs a real uvicorn server on 127.0.0.1 and opens real
sockets against it, from several loopback source addresses (127.0.0.2, ...) to play several
clients.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from reachcheck.control.connections import ConnectionTable, total_cap
from reachcheck.control.measure import MeasureSettings
from reachcheck.control.server import ServerSettings, create_app, uvicorn_config
from tests.control.conftest import TOKEN, server_cert
from tests.fakes.pki import default_pki

# ------------------------------------------------------------------------------ the table


def test_client_at_its_cap_displaces_its_own_oldest_idle_connection() -> None:
    table = ConnectionTable(per_client=2, total=100)
    assert table.admit("a1", "A") == [] and table.admit("a2", "A") == []
    assert table.admit("b1", "B") == []
    assert table.admit("a3", "A") == ["a1"]  # A's oldest waiting one, never B's
    assert (table.count("A"), table.count("B"), len(table)) == (2, 1, 3)


def test_busy_connections_are_never_displaced() -> None:
    table = ConnectionTable(per_client=2, total=100)
    table.admit("a1", "A")
    table.admit("a2", "A")
    table.busy("a1")
    assert table.admit("a3", "A") == ["a2"]
    table.busy("a3")
    assert table.admit("a4", "A") is None  # all of A's are running requests: refuse the new one
    table.waiting("a1")  # a1's response went out; it waits for its next head
    assert table.admit("a4", "A") == ["a1"]


def test_total_cap_displaces_the_oldest_idle_connection_of_anyone() -> None:
    table = ConnectionTable(per_client=10, total=3)
    for conn, client in (("a1", "A"), ("b1", "B"), ("c1", "C")):
        table.admit(conn, client)
    table.busy("a1")
    assert table.admit("d1", "D") == ["b1"]
    assert len(table) == 3
    for conn in ("c1", "d1"):
        table.busy(conn)
    assert table.admit("e1", "E") is None


def test_exempt_clients_have_no_per_client_cap_and_remove_is_idempotent() -> None:
    table = ConnectionTable(per_client=1, total=10, exempt=frozenset({"P"}))
    assert table.admit("p1", "P") == [] and table.admit("p2", "P") == []
    table.remove("p1")
    table.remove("p1")
    assert table.count("P") == 1 and len(table) == 1
    with pytest.raises(ValueError):
        ConnectionTable(per_client=0)


def test_total_cap_leaves_descriptors_for_the_measurements() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert total_cap(10**9) <= soft - 100
    assert total_cap(20) == min(20, max(16, soft - 128))


# ------------------------------------------------------------------------- a real server


class Server:
    """uvicorn in a thread on 127.0.0.1 (plain HTTP unless a certificate is given)."""

    def __init__(self, certfile: str | None = None, keyfile: str | None = None,
                 body_deadline: float = 10.0, **config: Any) -> None:
        settings = ServerSettings(
            measure=MeasureSettings(resolvers=(("127.0.0.1", 9),), timeout=1.0),
            tokens=(TOKEN,), rate_per_client=None, body_deadline=body_deadline,
        )
        self.records: list[dict[str, Any]] = []
        app = create_app(settings, emit=self.records.append)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        scheme = "https" if certfile else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn_config(
            app, "127.0.0.1", self.port, certfile=certfile, keyfile=keyfile, **config))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def serve() -> Iterator[Any]:
    started: list[Server] = []

    def make(**kw: Any) -> Server:
        started.append(Server(**kw))
        return started[-1]

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def many_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below {want}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def idle_sockets(port: int, count: int, sources: int) -> list[socket.socket]:
    """`count` connected sockets that never send a byte, spread over `sources` addresses."""
    out = []
    for i in range(count):
        source = f"127.0.0.{2 + i % sources}"
        out.append(socket.create_connection(("127.0.0.1", port), source_address=(source, 0)))
    return out


def still_open(sock: socket.socket) -> bool:
    """True unless the server closed `sock` (EOF or reset) by now."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def wait_closed(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def health(url: str, verify: Any = False, source: str = "127.0.0.1") -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source, verify=verify)
    with httpx.Client(transport=transport, timeout=10, trust_env=False) as client:
        return client.get(f"{url}/v1/health")


def test_health_is_served_while_1000_idle_connections_are_open(
    serve: Any, many_files: None
) -> None:
    server = serve()
    socks = idle_sockets(server.port, 1000, sources=40)  # 25 per client, under the cap of 32
    try:
        started = time.perf_counter()
        response = health(server.url)
        took = time.perf_counter() - started
        assert response.status_code == 200
        assert took < 5.0, took  # a generous bound; bench/control_idle.py measures it
        assert all(still_open(s) for s in socks)  # nobody was displaced: all 1000 are open
    finally:
        for s in socks:
            s.close()


def test_one_client_flooding_idle_sockets_only_displaces_its_own(serve: Any) -> None:
    # The reproduction: 64 idle connections from one address made every request 503.
    server = serve(per_client=8)
    other = idle_sockets(server.port, 4, sources=1)  # from 127.0.0.2, a bystander
    flood = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(64)]
    try:
        assert health(server.url).status_code == 200  # from the flooding address itself
        assert sum(still_open(s) for s in flood) <= 8
        assert all(still_open(s) for s in other)
    finally:
        for s in flood + other:
            s.close()


def test_idle_and_slowloris_connections_are_closed_at_the_head_deadline(serve: Any) -> None:
    server = serve(head_deadline=0.5)
    idle = socket.create_connection(("127.0.0.1", server.port))
    slow = socket.create_connection(("127.0.0.1", server.port))
    head = b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: y\r\n" * 40
    started = time.monotonic()
    try:
        closed = False
        for i in range(len(head)):  # one byte every 50 ms: the head takes 20 s to arrive
            try:
                slow.sendall(head[i:i + 1])
            except OSError:
                closed = True
                break
            if not still_open(slow):
                closed = True
                break
            time.sleep(0.05)
        assert closed and time.monotonic() - started < 3.0
        assert wait_closed(idle, 3.0)
        assert health(server.url).status_code == 200
    finally:
        idle.close()
        slow.close()


def test_keep_alive_connection_gets_a_fresh_deadline_per_request(serve: Any) -> None:
    server = serve(head_deadline=0.8)
    with httpx.Client(timeout=5, trust_env=False) as client:
        for _ in range(3):  # 3 x 0.4 s on one connection: each head is on time
            assert client.get(f"{server.url}/v1/health").status_code == 200
            time.sleep(0.4)


def test_slow_body_gets_408(serve: Any) -> None:
    server = serve(body_deadline=0.5)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"POST /v1/measure HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                     b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n{")
        sock.settimeout(5)
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:80]
    deadline = time.monotonic() + 2  # the access log is written just after the response
    while not server.records and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.records[-1]["status"] == 408


def test_total_cap_displaces_idle_connections_of_others(serve: Any) -> None:
    server = serve(total=20, per_client=32)
    socks = idle_sockets(server.port, 20, sources=4)
    try:
        assert health(server.url, source="127.0.0.9").status_code == 200
        assert wait_closed(socks[0], 2.0)  # the oldest idle one made room
        assert all(still_open(s) for s in socks[1:])
    finally:
        for s in socks:
            s.close()


def test_idle_tls_sessions_do_not_starve_health(serve: Any, tmp_path: Any) -> None:
    certfile, keyfile = server_cert(tmp_path)
    server = serve(certfile=certfile, keyfile=keyfile)
    context = ssl.create_default_context(cafile=default_pki().ca_bundle)
    sessions = []
    try:
        for i in range(100):  # handshaken, then silent
            raw = socket.create_connection(("127.0.0.1", server.port),
                                           source_address=(f"127.0.0.{2 + i % 5}", 0))
            sessions.append(context.wrap_socket(raw, server_hostname="127.0.0.1"))
        response = health(server.url, verify=context)
        assert response.status_code == 200
    finally:
        for s in sessions:
            with contextlib.suppress(OSError):
                s.close()
