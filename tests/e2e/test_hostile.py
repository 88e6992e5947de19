"""Servers that send garbage: the run must still finish with one result per site, no traceback,
an ordinary exit code, and the failures recorded as observations (never an exception).

- DNS: a resolver answering only garbage with the query's id, one answering with a
  compression-pointer loop, one flooding 50 garbage datagrams before the real answer;
- TLS: a server sending a truncated record then closing mid-handshake;
- HTTP: a garbage status line, 10,000 headers, an endless header line, a 5 MB title;
- DoH: a control that answers HTML (and one that answers garbage as application/dns-message).
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reachcheck.model import BLOCKED_VERDICTS
from tests.e2e.support import (
    EXIT_CODES,
    assert_clean_stderr,
    assert_loopback_settings,
    by_domain,
    load_document,
    loopback_args,
    run,
)
from tests.fakes.dns_server import FakeDnsServer, Rule
from tests.fakes.doh_server import DohApp
from tests.fakes.http_server import Behavior, HttpApp, Page, Raw, Request, huge_headers
from tests.fakes.pki import Pki
from tests.fakes.tls_server import FakeServer

GOOD = "127.0.0.40"  # a well-behaved site server
TLS_TRUNC = "127.0.0.41"
HTTP_BAD = "127.0.0.42"
HTTP_BAD_CLEAR = "127.0.0.43"


# ------------------------------------------------------------------------- hostile servers


class HostileDns:
    """A UDP 'resolver' whose answers are hostile, chosen by the query's first label:

    garbage*: 50 datagrams of the query id plus random bytes, never a real answer;
    loop*:    responses whose answer name is a compression pointer to itself, and a header
              claiming 65535 answers;
    flood*:   50 garbage datagrams, then the real answer (`address`).
    """

    def __init__(self, address: str) -> None:
        self.address_answer = address
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = ("127.0.0.1", self.sock.getsockname()[1])
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HostileDns:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            if len(data) < 17:
                continue
            end = 12
            while end < len(data) and data[end] != 0:
                end += 1 + data[end]
            question = data[12 : end + 5]
            qid, qtype = data[:2], data[end + 1 : end + 3]
            label = data[13 : 13 + data[12]].decode("ascii", "replace")
            with contextlib.suppress(OSError):
                for datagram in self._answers(label, qid, question, qtype):
                    self.sock.sendto(datagram, peer)

    def _answers(self, label: str, qid: bytes, question: bytes, qtype: bytes) -> list[bytes]:
        garbage = [qid + os.urandom(n % 200 + 1) for n in range(50)]
        if label.startswith("garbage"):
            return garbage
        if label.startswith("loop"):
            # Answer owner = pointer to itself (offset of the answer record).
            offset = 12 + len(question)
            loop = struct.pack("!H", 0xC000 | offset) + struct.pack("!HHIH", 1, 1, 60, 4)
            header = qid + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
            lying = qid + struct.pack("!HHHHH", 0x8180, 1, 0xFFFF, 0xFFFF, 0xFFFF)
            return [header + question + loop + b"\x7f\x00\x00\x28", lying + question]
        real = b""
        if qtype == b"\x00\x01":  # A
            real = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(
                self.address_answer
            )
        answer = qid + struct.pack("!HHHHH", 0x8180, 1, 1 if real else 0, 0, 0) + question + real
        # 50 garbage datagrams: far past the probe's per-query caps, yet few enough that the
        # burst fits the client's default socket receive buffer (a burst of hundreds overflows
        # it and the kernel, not the probe, drops the real answer at random).
        return [*garbage, answer]


class TruncatedTls:
    """Reads the ClientHello, sends the start of a ServerHello record that claims 16 KB, then
    closes (FIN) mid-handshake."""

    def __init__(self, host: str) -> None:
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TruncatedTls:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(2)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                conn.recv(16384)
                # Handshake record, TLS 1.2, length 0x4000; a ServerHello header; then 40 of
                # the promised bytes.
                conn.sendall(b"\x16\x03\x03\x40\x00" + b"\x02\x00\x3f\xfc\x03\x03"
                             + os.urandom(40))
                conn.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class EndlessHeader(Behavior):
    """A status line, then one header line that never ends (until the client gives up)."""

    limit: int = 64 << 20

    def respond(self, sock: socket.socket, req: Request, server: FakeServer) -> bool:
        sock.sendall(b"HTTP/1.1 200 OK\r\nX-Endless: ")
        chunk = b"a" * 65536
        sent = 0
        while sent < self.limit and not server.stopping.is_set():
            sock.sendall(chunk)  # raises once the client closes: the server thread ends
            sent += len(chunk)
        return False


HUGE_TITLE = Page(body="<html><head><title>" + "T" * (5 << 20) + "</title></head><body>x</body>"
                  "</html>")


# ------------------------------------------------------------------------------- helpers


def _run(args: list[str], urls: list[str], workdir: Path) -> dict[str, dict[str, Any]]:
    out = workdir / "run.json"
    proc = run(["check", *args, "--concurrency", "8", "--json", str(out), *urls], workdir)
    assert_clean_stderr(proc.stderr)
    assert proc.returncode in EXIT_CODES, (proc.returncode, proc.stderr)
    doc = load_document(out)
    assert_loopback_settings(doc["settings"])
    results = by_domain(doc["results"])
    assert len(doc["results"]) == len(urls)
    for r in doc["results"]:
        assert not r["reason"].startswith("internal error"), r["reason"]
    return results


@pytest.fixture(scope="module")
def good_site(pki: Pki) -> Iterator[FakeServer]:
    with FakeServer(host=GOOD, pki=pki, app=HttpApp(default=lambda r: Page("Good"))) as srv:
        yield srv


@pytest.fixture(scope="module")
def good_doh(pki: Pki) -> Iterator[tuple[FakeServer, dict[str, list[str]]]]:
    records: dict[str, list[str]] = {}
    with FakeServer(pki=pki, app=DohApp(records)) as srv:
        yield srv, records


# --------------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def dns_results(pki: Pki, tmp_path_factory: pytest.TempPathFactory, good_site: FakeServer,
                good_doh: tuple[FakeServer, dict[str, list[str]]]) -> dict[str, dict[str, Any]]:
    """One run whose system (and probe) resolver is HostileDns; the DoH control is good."""
    doh, records = good_doh
    names = ["garbage.test", "loop.test", "flood.test"]
    for name in names:
        records[name] = [GOOD]
    with HostileDns(GOOD) as hostile:
        args = loopback_args(nameserver=hostile.address,
                             doh=f"https://dns.test:{doh.port}/dns-query@127.0.0.1",
                             injection_probe=None, ca_bundle=pki.ca_bundle)
        return _run(args, [good_site.url(n) for n in names], tmp_path_factory.mktemp("dns"))


def _udp(result: dict[str, Any]) -> list[dict[str, Any]]:
    udp = [q for q in result["dns"] if q["transport"] == "udp"]
    assert udp, result["dns"]
    return udp


def test_hostile_dns_recorded(dns_results: dict[str, dict[str, Any]]) -> None:
    assert set(dns_results) == {"garbage.test", "loop.test", "flood.test"}
    for name, result in dns_results.items():
        udp = _udp(result)
        malformed = [r for q in udp for r in q["responses"] if r["rcode"] == "MALFORMED"]
        assert malformed, (name, udp)
        assert all(r["error"] for r in malformed), malformed
        for q in udp:
            assert len(q["responses"]) <= 64, "responses kept per query must be capped"
            if q["accepted"] is not None:
                assert q["responses"][q["accepted"]]["rcode"] != "MALFORMED", q
    # The site answers on its genuine (control) address: garbage from a resolver is not
    # evidence that anything blocks it.
    for name, result in dns_results.items():
        assert result["verdict"] not in BLOCKED_VERDICTS, (name, result["anomalies"])


def test_garbage_flood_query_is_answered_or_failed(
    dns_results: dict[str, dict[str, Any]],
) -> None:
    for name in ("garbage.test", "flood.test"):
        for q in _udp(dns_results[name]):
            assert q["accepted"] is not None or q["error"], (name, q["qtype"], q["error"])
    # The real answer arrives after the flood, within the timeout: a stub would accept it.
    flood_a = [q for q in _udp(dns_results["flood.test"]) if q["qtype"] == "A"]
    assert all(q["accepted"] is not None for q in flood_a), flood_a


@pytest.fixture(scope="module")
def http_results(pki: Pki, tmp_path_factory: pytest.TempPathFactory,
                 good_doh: tuple[FakeServer, Any]) -> dict[str, dict[str, Any]]:
    """One run over hostile HTTP servers (https and cleartext) and a truncating TLS server."""
    doh, records = good_doh
    with contextlib.ExitStack() as stack:
        app = HttpApp()
        https = stack.enter_context(FakeServer(host=HTTP_BAD, pki=pki, app=app))
        clear = stack.enter_context(FakeServer(host=HTTP_BAD_CLEAR, tls=False, pki=pki, app=app))
        trunc = stack.enter_context(TruncatedTls(TLS_TRUNC))
        dns = stack.enter_context(FakeDnsServer())
        urls = []
        pages: dict[str, dict[str, Behavior]] = {}
        for name, behavior in HOSTILE_PAGES.items():
            for host, address, srv in ((name, HTTP_BAD, https),
                                       ("clear-" + name, HTTP_BAD_CLEAR, clear)):
                pages[host] = {"/": behavior}
                dns.set(host, Rule.answer(address))
                records[host] = [address]
                urls.append(srv.url(host))
        app.sites = pages
        dns.set("truncated.test", Rule.answer(TLS_TRUNC))
        records["truncated.test"] = [TLS_TRUNC]
        urls.append(f"https://truncated.test:{trunc.port}/")
        args = loopback_args(nameserver=dns.address,
                             doh=f"https://dns.test:{doh.port}/dns-query@127.0.0.1",
                             injection_probe=None, ca_bundle=pki.ca_bundle)
        return _run(args, urls, tmp_path_factory.mktemp("http"))


HOSTILE_PAGES: dict[str, Behavior] = {
    "garbage-status.test": Raw(b"\x00\xffGARBAGE STATUS LINE\r\n\r\n"),
    "many-headers.test": huge_headers(10_000),
    "endless-header.test": EndlessHeader(),
    "huge-title.test": HUGE_TITLE,
}
BROKEN = ("garbage-status.test", "many-headers.test", "endless-header.test")


def test_truncated_tls_handshake(http_results: dict[str, dict[str, Any]]) -> None:
    result = http_results["truncated.test"]
    handshakes = [*result["tls"], *(f["tls"] for f in result["http"] if f["tls"])]
    assert handshakes and all(not h["ok"] and h["error"] for h in handshakes), handshakes
    assert all(not f["ok"] and f["error"] for f in result["http"]), result["http"]
    # Every handshake fails, the benign one included: the server is broken, not filtered.
    assert result["verdict"] not in BLOCKED_VERDICTS, result["anomalies"]


def test_broken_http_responses_recorded(http_results: dict[str, dict[str, Any]]) -> None:
    for host in BROKEN:
        for shown in (host, "clear-" + host):
            fetches = http_results[shown]["http"]
            assert fetches, (shown, http_results[shown])
            assert all(not f["ok"] and f["error"] for f in fetches), (shown, fetches)
            for f in fetches:
                assert len(f["header_names"]) <= 1000 and len(f["headers"]) <= 1000


def test_broken_https_response_is_not_blocking(http_results: dict[str, dict[str, Any]]) -> None:
    # The certificate verified: nothing on the path can have written this garbage.
    for host in BROKEN:
        result = http_results[host]
        assert result["verdict"] not in BLOCKED_VERDICTS, (host, result["reason"])


def test_broken_cleartext_response_is_not_blocking(
    http_results: dict[str, dict[str, Any]],
) -> None:
    for host in BROKEN:
        result = http_results["clear-" + host]
        assert result["verdict"] not in BLOCKED_VERDICTS, (host, result["reason"])


def test_huge_title_is_capped(http_results: dict[str, dict[str, Any]]) -> None:
    for host in ("huge-title.test", "clear-huge-title.test"):
        result = http_results[host]
        (fetch, *_rest) = result["http"]
        assert fetch["ok"] and fetch["status"] == 200, fetch["error"]
        assert fetch["body_truncated"] is True
        assert fetch["body_length"] < 5 << 20
        assert fetch["title"] is None or len(fetch["title"]) <= 1024
        assert len(fetch["body_head"] or "") <= 65536
        assert result["verdict"] == "accessible", result["reason"]


def test_doh_answering_html(pki: Pki, workdir: Path, good_site: FakeServer) -> None:
    html = FakeServer(pki=pki, app=HttpApp({"doh-html.test": {"/dns-query": Page("Not DNS")}}))
    junk = FakeServer(pki=pki, app=HttpApp({"doh-junk.test": {"/dns-query": Page(
        body=os.urandom(300), content_type="application/dns-message")}}))
    with html, junk, FakeDnsServer({"site.test": Rule.answer(GOOD)}) as dns:
        args = loopback_args(nameserver=dns.address, doh=None, injection_probe=None,
                             ca_bundle=pki.ca_bundle)
        doh = ["--doh", f"https://doh-html.test:{html.port}/dns-query@127.0.0.1",
               "--doh", f"https://doh-junk.test:{junk.port}/dns-query@127.0.0.1"]
        i = args.index("--doh")
        args[i : i + 2] = doh
        results = _run(args, [good_site.url("site.test")], workdir)
    result = results["site.test"]
    control = [q for q in result["dns"] if q["role"] == "control"]
    assert control, result["dns"]
    for q in control:
        bad = q["error"] or any(r["rcode"] == "MALFORMED" for r in q["responses"])
        assert bad, q
        assert not any(r["addresses"] for r in q["responses"]), q
    # The control is broken, the site itself verified and answered: never blocked.
    assert result["verdict"] == "accessible", (result["reason"], result["anomalies"])
