"""Twins for the TCP and TLS rules (tcp.py, tls.py): pairs of observations one fact apart, where
the fact flips exactly one condition, with the exact outcome on both sides. Mutation testing
(tools/mutation/run.sh) found each of them unpinned."""

from __future__ import annotations

from reachcheck.model import Observations, TlsHandshake
from tests.analysis.builders import (
    CDN_OTHER,
    REAL,
    REAL2,
    REAL6,
    cert,
    clean_https,
    control,
    ctrl_server,
    hs,
    obs,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.twins import (
    kinds_of,
    one_of,
    outcome,
)  # fmt: skip


def test_one_working_ipv6_address_means_ipv6_works() -> None:
    v6b = "2a04:4e42::11"
    ctrl = (control(REAL), control(REAL6, v6b, qtype="AAAA"))
    o = obs(*ctrl, tcp(REAL6), tcp(v6b, error="timeout"))
    a = one_of(o, "tcp.timeout")
    assert a.addresses == (v6b,)
    assert a.detail == f"TCP connect timeout on the site's genuine address(es) {v6b}:443"


def test_ipv6_timeouts_without_ipv4_are_not_a_broken_stack() -> None:
    # Only "unreachable" everywhere says the machine has no IPv6 route; timeouts are evidence.
    o = obs(control(REAL6, qtype="AAAA"), tcp(REAL6, error="timeout"))
    assert kinds_of(o) == ["tcp.timeout"]
    assert kinds_of(obs(control(REAL6, qtype="AAAA"), tcp(REAL6, error="unreachable"))) == []


def test_only_a_target_handshake_the_control_server_verified_counts() -> None:
    expired = hs(REAL, error="cert_expired", crt=cert())
    base = (system(REAL), control(REAL, REAL2), tcp(REAL), expired)
    # The control server's benign handshake proves nothing about the site's certificate.
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL, kind="benign"),)))
    assert kinds_of(o) == []
    # Nor does its verified handshake on another address.
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL2),)))
    assert kinds_of(o) == []
    o = obs(*base, control_server=ctrl_server(tls_=(hs(REAL),)))
    a = one_of(o, "tls.cert_invalid")
    assert a.confirmed and a.detail.endswith("the control server verified the site on this address")
    mitm = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, error="cert_unknown_ca",
                                                          crt=cert(sha="c0ffee")))  # fmt: skip
    assert "control server" not in one_of(mitm, "tls.cert_invalid").detail


def test_same_certificate_for_a_benign_name_is_the_servers_own() -> None:
    leaf = cert(sha="9f86d081884c7d659a2feaa0c55ad015")
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=leaf),
            hs(REAL, error="cert_unknown_ca", crt=leaf))  # fmt: skip
    assert kinds_of(o) == []


def test_mitm_on_an_ip_literal_with_a_control_server() -> None:
    o = obs(tcp(REAL), hs(REAL, error="cert_unknown_ca", crt=cert(sha="d00d")), target=REAL,
            control_server=ctrl_server())  # fmt: skip
    assert kinds_of(o) == ["tls.cert_invalid"]


def test_cert_errors_after_another_failure_on_another_address() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2),
            hs(REAL2, error="reset"), hs(REAL, error="cert_unknown_ca", crt=cert(sha="beef")))
    assert kinds_of(o) == ["tls.cert_invalid", "tls.reset"]


def test_a_failed_benign_handshake_is_not_a_target_failure() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), *clean_https(REAL), tcp(REAL2),
            hs(REAL2, kind="benign", error="reset"))  # fmt: skip
    assert kinds_of(o) == []


def test_benign_handshake_on_another_address_is_no_contrast() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL2), hs(REAL, kind="benign"),
            hs(REAL2, error="reset"))  # fmt: skip
    a = one_of(o, "tls.reset")
    assert a.detail.endswith("no benign-SNI handshake to compare"), a.detail


def test_residual_benign_failure_does_not_make_it_ambiguous() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL),
            hs(REAL, kind="benign", error="reset", residual=True), hs(REAL, error="reset"))
    a = one_of(o, "tls.reset")
    assert "ambiguous" not in a.detail
    assert outcome(o) == ("tls_blocked", "likely", ["tls.reset"])


def test_a_different_benign_certificate_leaves_interception() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", crt=cert(sha="99")),
            hs(REAL, error="cert_unknown_ca", crt=cert(sha="22")))  # fmt: skip
    assert kinds_of(o) == ["tls.cert_invalid"]


def test_cert_failure_off_the_control_addresses_first() -> None:
    o = obs(system(REAL, CDN_OTHER), control(REAL), tcp(CDN_OTHER), tcp(REAL),
            hs(CDN_OTHER, error="cert_unknown_ca", crt=cert(sha="ab")),
            hs(REAL, error="cert_unknown_ca", crt=cert(sha="cd")))  # fmt: skip
    assert one_of(o, "tls.cert_invalid").addresses == (REAL,)


def test_drop_after_a_certificate_failure_on_another_address() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2),
            hs(REAL2, error="cert_hostname", crt=cert()), hs(REAL, error="reset"))  # fmt: skip
    assert kinds_of(o) == ["tls.reset"]


def test_interception_after_a_sites_own_expired_certificate() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), tcp(REAL2),
            hs(REAL2, error="cert_expired", crt=cert(sha="e1")),
            hs(REAL, error="cert_unknown_ca", crt=cert(sha="e2")))  # fmt: skip
    assert one_of(o, "tls.cert_invalid").addresses == (REAL,)


def test_benign_handshake_on_an_address_sorting_first_is_no_contrast() -> None:
    o = obs(system(REAL, REAL2), control(REAL, REAL2), tcp(REAL), hs(REAL2, kind="benign"),
            hs(REAL, error="reset"))  # fmt: skip
    assert kinds_of(o) == ["tls.reset"]


def test_connect_errors_without_a_kind_are_not_anomalies() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL, error="error"))
    assert kinds_of(o) == []


def test_control_verified_another_address_sorting_first() -> None:
    expired = hs(REAL2, error="cert_expired", crt=cert())
    o = obs(system(REAL2), control(REAL, REAL2), tcp(REAL2), expired,
            control_server=ctrl_server(tls_=(hs(REAL),)))  # fmt: skip
    assert kinds_of(o) == []


def test_the_ip_literal_is_where_the_site_is_even_with_control_answers() -> None:
    o = obs(control(REAL), tcp(REAL), hs(REAL, error="cert_unknown_ca", crt=cert(sha="f00d")),
            target=REAL)  # fmt: skip
    assert kinds_of(o) == ["tls.cert_invalid"]


def test_sni_filtering_detail_names_the_first_benign_name() -> None:
    o = obs(system(REAL), control(REAL), tcp(REAL), hs(REAL, kind="benign", sni="a.example"),
            hs(REAL, kind="benign", sni="b.example"), hs(REAL, error="reset"))  # fmt: skip
    assert one_of(o, "tls.sni_filtering").detail.endswith(
        "SNI a.example completed on the same address")


def test_the_tls_comparison_leaves_our_tcp_failures_out() -> None:
    # One connect to the address timed out, the retry connected, then the handshake was reset.
    # The control server connected there and tried no handshake: nothing outside says how TLS
    # fares, so the reset stays "likely". Counting our TCP timeout against the control's
    # working connect would turn it into a "confirmed" TLS block on TCP evidence.
    o = obs(system(REAL), control(REAL), tcp(REAL, error="timeout"), tcp(REAL),
            hs(REAL, error="reset"), control_server=ctrl_server(tcp_=(tcp(REAL),)))
    assert outcome(o) == ("tls_blocked", "likely", ["tcp.timeout", "tls.reset"])
    # Twin: the control's own handshake there worked: now the TLS comparison confirms it.
    both = obs(system(REAL), control(REAL), tcp(REAL, error="timeout"), tcp(REAL),
               hs(REAL, error="reset"), control_server=ctrl_server(tcp_=(tcp(REAL),),
                                                                   tls_=(hs(REAL),)))
    assert outcome(both) == ("tls_blocked", "confirmed", ["tcp.timeout", "tls.reset"])


def test_interception_on_an_ip_literal_the_control_server_verified() -> None:
    # https://IP/: no DNS, so the address is both the literal and the one the control server
    # verified; a certificate failing here is an interceptor's.
    def literal(control_tls: tuple[TlsHandshake, ...]) -> Observations:
        return obs(tcp(REAL), hs(REAL, error="cert_unknown_ca", sni=REAL, crt=cert()),
                   target=REAL, control_server=ctrl_server(tcp_=(tcp(REAL),), tls_=control_tls))
    assert outcome(literal((hs(REAL, sni=REAL),))) == (
        "tls_blocked", "confirmed", ["tls.cert_invalid"])
    # Twin: the control server was shown the same certificate: the site's own.
    same = hs(REAL, error="cert_unknown_ca", sni=REAL, crt=cert())
    assert outcome(literal((same,)))[0] != "tls_blocked"
