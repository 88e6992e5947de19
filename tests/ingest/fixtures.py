"""Web Connectivity measurements written for these tests, in OONI's published format.

Field names and shapes follow ooni/spec (df-000-base, df-002-dnst, df-005-tcpconnect,
df-006-tlshandshake, df-001-httpt, ts-017-web-connectivity); the values are ours, so the
command's tests run everywhere (the real measurements of the golden corpus live outside this
repository, see tests/ingest/corpus.py). Addresses are parsed, never contacted (no-network).
"""

from __future__ import annotations

import copy
from typing import Any

SITE_ADDR = "93.184.215.14"  # a public address standing for the site (parsed only)
PAGE = "<html><head><title>Example Domain</title></head><body>" + "x" * 900 + "</body></html>"


def _answer(addr: str) -> dict[str, Any]:
    kind = "AAAA" if ":" in addr else "A"
    return {"answer_type": kind, ("ipv6" if kind == "AAAA" else "ipv4"): addr, "ttl": None,
            "asn": 0, "as_org_name": ""}


def v04(*, input: str = "https://www.example.org/", answers: tuple[str, ...] = (SITE_ADDR,),
        tcp_failure: str | None = None, tls_failure: str | None = None,
        http_failure: str | None = None, body: str = PAGE,
        blocking: Any = False, accessible: Any = True,
        report_id: str = "20240105T101010Z_webconnectivity_XY_64500_n1_AbCdEfGhIjKlMnOp",
        test_name: str = "web_connectivity") -> dict[str, Any]:
    """A v0.4-style measurement of an https URL (system resolver, connect, TLS, GET, TH)."""
    host = input.split("/")[2]
    requests = [{
        "request": {"url": input, "method": "GET", "headers_list": [["Host", host]]},
        "response": None if http_failure else {
            "code": 200, "body": body, "body_is_truncated": False,
            "headers_list": [["Content-Type", "text/html; charset=utf-8"],
                             ["Server", "ECS (nyb/1D2A)"]]},
        "failure": http_failure, "t0": 0.30, "t": 0.41,
    }]
    return {
        "annotations": {"engine_name": "ooniprobe-engine", "platform": "linux"},
        "data_format_version": "0.2.0",
        "input": input,
        "measurement_start_time": "2024-01-05 10:10:10",
        "probe_asn": "AS64500", "probe_cc": "XY", "probe_ip": "127.0.0.1",
        "report_id": report_id,
        "resolver_asn": "AS64500", "resolver_ip": "100.64.0.53",
        "software_name": "ooniprobe", "software_version": "3.20.0",
        "test_helpers": {"backend": {"address": "https://th.example", "type": "https"}},
        "test_name": test_name, "test_runtime": 1.2, "test_version": "0.4.3",
        "test_keys": {
            "agent": "redirect", "client_resolver": "100.64.0.53",
            "queries": [{"engine": "system", "resolver_address": "", "hostname": host,
                         "query_type": "A", "failure": None, "t0": 0.0, "t": 0.02,
                         "answers": [_answer(a) for a in answers]}],
            "tcp_connect": [{"ip": a, "port": 443, "t0": 0.03, "t": 0.08,
                             "status": {"success": tcp_failure is None,
                                        "failure": tcp_failure, "blocked": False}}
                            for a in answers],
            "tls_handshakes": [] if tcp_failure else [{
                "address": f"{answers[0]}:443", "server_name": host, "failure": tls_failure,
                "tls_version": None if tls_failure else "TLSv1.3",
                "cipher_suite": None if tls_failure else "TLS_AES_128_GCM_SHA256",
                "no_tls_verify": False, "peer_certificates": None, "t0": 0.1, "t": 0.2}],
            "requests": requests,
            "control_failure": None,
            "control": {
                "dns": {"failure": None, "addrs": [SITE_ADDR]},
                "tcp_connect": {f"{SITE_ADDR}:443": {"status": True, "failure": None}},
                "tls_handshake": {f"{SITE_ADDR}:443": {"server_name": host, "status": True,
                                                        "failure": None}},
                "http_request": {"body_length": len(PAGE), "failure": None,
                                 "title": "Example Domain", "status_code": 200,
                                 "headers": {"Content-Type": "text/html"}},
            },
            "http_experiment_failure": http_failure or tls_failure or tcp_failure,
            "blocking": blocking, "accessible": accessible,
        },
    }


def accessible() -> dict[str, Any]:
    """The site works: same address as the TH, verified TLS, the TH's page."""
    return v04()


def dns_blocked() -> dict[str, Any]:
    """The resolver answers a private address (Iran-style) that times out; the TH resolves the
    site's real one."""
    return v04(answers=("10.10.34.36",), tcp_failure="generic_timeout_error",
               http_failure="generic_timeout_error", blocking="dns", accessible=False,
               report_id="20240105T101011Z_webconnectivity_XY_64500_n1_QrStUvWxYzAbCdEf")


def other_test() -> dict[str, Any]:
    """A measurement of another test (tor), to be counted and skipped."""
    doc = v04(test_name="tor")
    doc["input"] = None
    doc["test_keys"] = {"targets": {}}
    return doc


def api_answer(measurement: dict[str, Any], uid: str) -> dict[str, Any]:
    """The measurement API's answer: metadata, and the measurement as a JSON string."""
    import json

    return {"measurement_uid": uid, "report_id": measurement["report_id"],
            "input": measurement["input"], "probe_cc": measurement["probe_cc"],
            "test_name": measurement["test_name"], "anomaly": False, "confirmed": False,
            "failure": False, "raw_measurement": json.dumps(measurement)}


def with_late_answer(doc: dict[str, Any], forged: str) -> dict[str, Any]:
    """`doc` as v0.5 records it: a UDP query, and a second, late answer to the same query."""
    doc = copy.deepcopy(doc)
    host = doc["input"].split("/")[2]
    udp = {"engine": "udp", "resolver_address": "100.64.0.53:53", "hostname": host,
           "query_type": "A", "failure": None, "t0": 0.0, "t": 0.01,
           "answers": [_answer(SITE_ADDR)]}
    late = dict(udp, t=0.09, answers=[_answer(forged)])
    doc["test_keys"]["queries"].append(udp)
    doc["test_keys"]["x_dns_duplicate_responses"] = [late]
    doc["test_version"] = "0.5.28"
    return doc
