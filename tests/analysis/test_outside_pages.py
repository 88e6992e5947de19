"""The building blocks of the outside-view and page rules, one comparison per row."""

from __future__ import annotations

import dataclasses

import pytest

from reachcheck.analysis import context, outside, pages
from reachcheck.model import HttpFetch
from tests.analysis.builders import REAL, control, ctrl_server, fetch, hs, obs, system, tcp

HTTP_URL = "http://www.coingecko.com/"


@pytest.mark.parametrize(
    ("error", "kind"),
    [(None, "ok"), ("reset", "reset"), ("timeout", "timeout"), ("cert_hostname", "cert"),
     ("cert_unknown_ca", "cert"), ("eof", "eof")],
)  # fmt: skip
def test_failure_kind(error: str | None, kind: str) -> None:
    assert outside.failure_kind(error) == kind


@pytest.mark.parametrize(
    ("outcomes", "combined"),
    [((), "unknown"), (("unknown",), "unknown"), (("same", "same"), "same"),
     (("same", "works"), "works"), (("same", "reached"), "reached"),
     (("same", "differs"), "differs"), (("differs", "reached"), "reached")],
)  # fmt: skip
def test_combine(outcomes: tuple[outside.Agreement, ...], combined: str) -> None:
    assert outside.combine(outcomes) == combined


@pytest.mark.parametrize(
    ("theirs", "port", "mine", "expected"),
    [
        ((hs(REAL),), 443, "reset", "works"),
        ((hs(REAL, error="reset"),), 443, "reset", "same"),
        ((hs(REAL, error="cert_expired"),), 443, "reset", "reached"),
        ((hs(REAL, error="cert_expired"),), 443, "cert_unknown_ca", "same"),
        ((hs(REAL, error="timeout"),), 443, "reset", "differs"),
        ((hs(REAL),), 8443, "reset", "unknown"),  # another port is no comparison
        ((), 443, "reset", "unknown"),
    ],
)  # fmt: skip
def test_tls_agreement_per_endpoint(theirs: tuple[object, ...], port: int, mine: str,
                                    expected: str) -> None:
    facts = context.build(obs(system(REAL), control(REAL),
                              control_server=ctrl_server(tls_=theirs)))  # type: ignore[arg-type]
    assert outside.tls_agreement(facts, (REAL, port), mine) == expected


def test_tls_agreement_falls_back_to_the_controls_connect() -> None:
    facts = context.build(obs(system(REAL), control(REAL), control_server=ctrl_server(
        tcp_=(tcp(REAL, error="timeout"),))))
    assert outside.tls_agreement(facts, (REAL, 443), "timeout") == "same"
    assert outside.tls_agreement(facts, (REAL, 443), "reset") == "differs"


def test_control_that_failed_is_no_outside_view() -> None:
    facts = context.build(obs(system(REAL), control(REAL), control_server=ctrl_server(
        ok=False, tls_=(hs(REAL, error="reset"),))))
    assert outside.tls_agreement(facts, (REAL, 443), "reset") == "unknown"
    assert outside.control_fails_everywhere(facts) is None


def _page(**kw: object) -> HttpFetch:
    return fetch(REAL, url=HTTP_URL, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("page", "ref", "expected"),
    [
        (_page(), _page(), False),  # same title
        (_page(length=900), _page(), False),  # same title, other size: a dynamic page
        (_page(title="Access restricted now", length=900), _page(), True),
        (_page(title="Access restricted now", length=4800), _page(), None),  # same size
        (_page(title="", length=900), _page(title=""), True),  # no titles: size alone
        (_page(title="", length=4900), _page(title=""), False),
        (dataclasses.replace(_page(title="Other title words"), body_sha256="ab"),
         dataclasses.replace(_page(), body_sha256="ab"), False),  # same bytes
        (dataclasses.replace(_page(title="", length=900), body_truncated=True), _page(title=""),
         None),
    ],
)  # fmt: skip
def test_differs_by_content_not_headers(page: HttpFetch, ref: HttpFetch,
                                        expected: bool | None) -> None:
    assert pages.differs(page, ref) is expected


def test_header_names_do_not_make_pages_the_same() -> None:
    # The site's own server software: identical header names, another page.
    notice = _page(title="Important service notice", length=600,
                   names=("date", "content-type", "x-site-id"))
    assert pages.differs(notice, _page()) is True


@pytest.mark.parametrize(
    ("again", "expected"),
    [
        (None, "unknown"),
        (_page(), "stable"),
        (_page(length=5200), "stable"),
        (_page(title="Domain for sale cheap"), "varies"),  # a parked page's rotating title
        (_page(length=1000), "varies"),
        (_page(status=302), "varies"),
        (_page(ok=False, error="timeout"), "unknown"),
    ],
)  # fmt: skip
def test_control_variance(again: HttpFetch | None, expected: str) -> None:
    ctrl = dataclasses.replace(ctrl_server(http=_page()), http_repeat=again)
    assert pages.variance(ctrl) == expected


@pytest.mark.parametrize(("mine", "theirs", "expected"), [
    (1, 1, False),  # one-byte bodies are bodies: the same length is the same page
    (1, 10, True),  # ...and a ten times longer one is another page
    (10, 1, True),
    (0, 10, None),  # an empty body has no length to compare
    (10, 0, None),
])
def test_the_shortest_bodies_still_compare_by_length(mine: int, theirs: int,
                                                     expected: bool | None) -> None:
    page = fetch(REAL, title="", length=mine, body="x" * mine)
    ref = fetch(REAL, title="", length=theirs, body="y" * theirs)
    assert pages.differs(page, ref) is expected
