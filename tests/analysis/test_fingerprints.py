"""Fingerprint matching follows the data's rules: literal, case-sensitive, "name: value" lines."""

from __future__ import annotations

from reachcheck.analysis import fingerprints as fp


def _names(found: tuple[fp.Fingerprint, ...]) -> set[str]:
    return {f.name for f in found}


def test_body_literal_case_sensitive() -> None:
    page = "<html><head><title>AGCOM Stop Page</title></head></html>"
    assert "nat_it_agcom_block" in _names(fp.match_body(page))
    assert fp.match_body(page.lower()) == ()
    assert fp.match_body(None) == () and fp.match_body("") == ()


def test_metacharacters_are_literal() -> None:
    # Read as a regex, "http://103.86.50.16" would also match "103x86x50x16"; literally it must not.
    assert fp.match_headers({"location": "http://103x86x50x16/"}) == ()


def test_header_with_embedded_name_matches_lowercase_header() -> None:
    found = fp.match_headers({"location": "http://103.86.50.16/blocked"})
    assert "nat_th_deb_forward_2" in _names(found)
    assert {f.country for f in found} == {"TH"}
    assert fp.match_headers({"server": "http://103.86.50.16/"}) == ()  # wrong header
    assert fp.match_headers({}) == ()


def test_benign_scope_is_marked() -> None:
    found = fp.match_headers({"location": "http://unblock.mts.ru/x"})
    assert found and all(f.benign for f in found)


def test_dns_ip_and_cname() -> None:
    assert "dns_br_localhost" in _names(fp.match_dns_answer(["127.0.0.1"]))
    tri = fp.match_dns_answer([], ["Restricted.TRI.co.id."])
    assert "dns_isp_id_sehat_tri_cname" in _names(tri)
    assert fp.match_dns_answer(["151.101.65.10"], ["www.coingecko.com"]) == ()
    assert fp.censor_addresses(["10.10.34.35", "151.101.65.10"]) == frozenset({"10.10.34.35"})


def test_loaded_once() -> None:
    assert fp._load() is fp._load()
