"""Minimal clients (independent of reachcheck) run in the client namespace to check the lab.

`python -m tests.lab.clientprobe CA_PEM` prints one JSON object of facts the lab tests assert:
what each resolver answers (every response within a hold-on window), TLS handshakes, HTTP
fetches, and whether an address outside the lab is unreachable.
`python -m tests.lab.clientprobe --control CA_PEM TOKEN_FILE` asks the control server (when the
lab runs one) for its health and for one measurement with the right and with a wrong token.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import sys
import time
from typing import Any

import dns.message
import dns.rcode

from tests.lab import scenarios as S


def udp_query(name: str, server: str, hold_on: float = 0.3) -> list[dict[str, Any]] | str:
    """Every response to one A query within `hold_on` s of sending, or an error name."""
    query = dns.message.make_query(name, "A", use_edns=0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((server, 53))
        s.settimeout(0.05)
        s.send(query.to_wire())
        t0, out = time.monotonic(), []
        while time.monotonic() - t0 < hold_on:
            try:
                msg = dns.message.from_wire(s.recv(4096))
            except TimeoutError:
                continue
            out.append({"rcode": dns.rcode.to_text(msg.rcode()), "edns": msg.edns >= 0,
                        "a": [r.to_text() for rr in msg.answer for r in rr]})
        return out or "timeout"


def tls(addr: str, sni: str, ca: str | None) -> str:
    """'ok' or the failure's exception name (verification on when `ca` is given)."""
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    try:
        with socket.create_connection((addr, 443), timeout=1.5) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni):
                return "ok"
    except ssl.SSLCertVerificationError as exc:
        return f"cert:{exc.verify_message}"
    except OSError as exc:
        return type(exc).__name__


def http_title(addr: str, host: str) -> str:
    """The <title> of GET / with this Host, or the failure's exception name."""
    try:
        with socket.create_connection((addr, 80), timeout=1.5) as s:
            s.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError as exc:
        return type(exc).__name__
    text = data.decode("latin-1")
    return text.split("<title>", 1)[1].split("</title>", 1)[0] if "<title>" in text else text[:40]


def http_status(addr: str, host: str) -> int | str:
    """The status code of GET / with this Host, or the failure's exception name."""
    conn = http.client.HTTPConnection(addr, 80, timeout=1.5)
    try:
        conn.request("GET", "/", headers={"Host": host})
        return conn.getresponse().status
    except OSError as exc:
        return type(exc).__name__
    finally:
        conn.close()


def control(ca: str, token_file: str) -> dict[str, Any]:
    """The control server's health, and `POST /v1/measure` with the right and a wrong token."""
    ctx = ssl.create_default_context(cafile=ca)  # the control's certificate names its address

    def ask(method: str, path: str, token: str | None, body: dict[str, Any] | None) -> Any:
        conn = http.client.HTTPSConnection(S.CONTROL_ADDR, S.CONTROL_PORT, timeout=10,
                                           context=ctx)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            r = conn.getresponse()
            return [r.status, json.loads(r.read() or b"null")]
        except OSError as exc:
            return type(exc).__name__
        finally:
            conn.close()

    token = open(token_file).read().strip()
    twin = S.BY_NAME["ip-blackhole~twin"]
    job = {"url": f"https://{twin.domain}/", "addresses": [twin.address]}
    return {
        "health": ask("GET", "/v1/health", None, None),
        "measure": ask("POST", "/v1/measure", token, job),
        "wrong_token": ask("POST", "/v1/measure", "x" * 32, job),
    }


def outside() -> str:
    """What connecting to an address outside the lab does (must fail at once, locally)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 53))  # TEST-NET-1: not a lab range, so no route
            return "connected"
    except OSError as exc:
        return f"{type(exc).__name__}:{exc.errno}"


def main(ca: str) -> dict[str, Any]:
    b = S.BY_NAME
    return {
        "dns_public_injected": udp_query(b["dns-injection"].domain, S.PUBLIC_RESOLVER),
        "dns_public_clean": udp_query(b["dns-injection~twin"].domain, S.PUBLIC_RESOLVER),
        "dns_probe_injected": udp_query(b["dns-injection"].domain, S.INJECTION_PROBE),
        "dns_probe_clean": udp_query(b["dns-injection~twin"].domain, S.INJECTION_PROBE),
        "dns_isp_nxdomain": udp_query(b["isp-nxdomain"].domain, S.ISP_RESOLVER),
        "dns_isp_clean": udp_query(b["isp-nxdomain~twin"].domain, S.ISP_RESOLVER),
        "tls_sni_target": tls(b["sni-reset"].address, b["sni-reset"].domain, ca),
        "tls_sni_benign": tls(b["sni-reset"].address, S.BENIGN_SNI, None),
        "tls_twin": tls(b["sni-reset~twin"].address, b["sni-reset~twin"].domain, ca),
        "tls_mitm": tls(b["tls-mitm"].address, b["tls-mitm"].domain, ca),
        "tls_blackhole": tls(b["ip-blackhole"].address, b["ip-blackhole"].domain, ca),
        "http_host_reset": http_title(b["host-reset"].address, b["host-reset"].domain),
        "http_host_twin": http_title(b["host-reset~twin"].address, b["host-reset~twin"].domain),
        "http_blockpage": http_title(b["http-blockpage"].address, b["http-blockpage"].domain),
        "http_unknown_blockpage": http_title(b["unknown-blockpage"].address,
                                             b["unknown-blockpage"].domain),
        "http_unknown_403": http_status(b["unknown-blockpage-403"].address,
                                        b["unknown-blockpage-403"].domain),
        "tls_dead_host": tls(b["server-blackholed"].address, b["server-blackholed"].domain, ca),
        "outside": outside(),
    }


if __name__ == "__main__":
    if sys.argv[1] == "--control":
        print(json.dumps(control(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(main(sys.argv[1])))
