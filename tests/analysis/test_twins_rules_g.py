"""Twins for the last rules the final mutation run found unpinned (dns.py's test that every
UDP resolver drew the injection probe's one answer, context.py's dangling-CNAME control
test, http.py's port of a URL whose port is out of range, pages.py's control page variance
with no body length): pairs of observations one fact apart, with the exact outcome on both
sides. The mutation run (tools/mutation/run.sh) found each of them unpinned.

Some observations here are ones our own probes never produce (a DoH probe query, a control
FORMERR answer, a URL with port 99999, control fetches without a body length): saved runs are
data, and the analysis must judge them by its rules all the same."""

from __future__ import annotations

import dataclasses

from tests.analysis.builders import (
    DOMAIN,
    FORGED,
    REAL,
    control,
    ctrl_server,
    fetch,
    obs,
    query,
    resp,
    system,
    tcp,
)  # fmt: skip
from tests.analysis.twins import outcome

# ---- dns._answered_alike: only UDP resolvers are asked whether they drew the same answer


def test_a_doh_answer_does_not_break_one_interceptor_answering_every_udp_resolver() -> None:
    alike = obs(query("injection", resp(FORGED)), system(FORGED))
    assert outcome(alike) == ("inconclusive", "none", [])
    # A DoH probe (not port 53, so no interceptor) with another answer changes nothing.
    doh = dataclasses.replace(query("probe", resp(REAL)), transport="doh")
    assert outcome(obs(query("injection", resp(FORGED)), system(FORGED), doh)) == (
        "inconclusive", "none", [])
    # A UDP probe with another answer does: the injection probe's answer stands as forged.
    other = query("probe", resp(REAL))
    assert outcome(obs(query("injection", resp(FORGED)), system(FORGED), other)) == (
        "dns_blocked", "confirmed", ["dns.injection"])


# ---- Facts.control_no_address: the control's A answer must be NOERROR, not any rcode


def test_a_control_formerr_for_a_is_no_dangling_cname() -> None:
    # The control answered A with NOERROR and nothing: the name has nowhere to go.
    dangling = obs(system(rcode="NXDOMAIN"), control(qtype="AAAA"), control())
    assert outcome(dangling) == ("site_down", "confirmed", [])
    # The control's A answer is FORMERR (only AAAA said NOERROR, empty): the NXDOMAIN denies
    # the user a name that exists.
    formerr = obs(system(rcode="NXDOMAIN"), control(qtype="AAAA"), control(rcode="FORMERR"))
    assert outcome(formerr) == ("dns_blocked", "likely", ["dns.nxdomain"])


# ---- http._port: a URL whose port is out of range falls back to the scheme's port


def test_a_url_with_an_out_of_range_port_is_judged_on_the_default_port() -> None:
    good = fetch(REAL, ok=False, url=f"http://{DOMAIN}/", error="reset")
    assert outcome(obs(system(REAL), tcp(REAL, port=80), good)) == (
        "http_blocked", "likely", ["http.reset"])
    bad = fetch(REAL, ok=False, url=f"http://{DOMAIN}:99999/", error="reset")
    assert outcome(obs(system(REAL), tcp(REAL, port=80), bad)) == (
        "http_blocked", "likely", ["http.reset"])


# ---- pages.variance: control fetches with no body length leave the variance unknown


def test_control_fetches_without_a_body_length_are_judged_like_ones_with_one() -> None:
    url = f"http://{DOMAIN}/"

    def seen(length: int | None) -> tuple[str, str, list[str]]:
        page = dataclasses.replace(fetch(REAL, url=url, title=""), body_length=length)
        ctrl = ctrl_server(dns=(control(REAL),), http=page)
        ctrl = dataclasses.replace(ctrl, http_repeat=page)
        return outcome(obs(system(REAL), tcp(REAL, port=80), fetch(REAL, url=url),
                           control_server=ctrl))

    assert seen(5000) == seen(None) == ("accessible", "confirmed", [])
