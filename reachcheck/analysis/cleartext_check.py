"""The cleartext page behind an HTTPS failure (design §5.1).

When an https target's address fails verification (a certificate the trust store rejects) or
is an address no genuine answer gave, the runner also fetches `http://` there with Host = the
site (`Observations.cleartext_fetches`). A censor's blockpage server, or an interceptor, usually
serves its page in cleartext: a match against the blockpage fingerprints (Citizen Lab data,
`fingerprints.py`) is direct evidence, where the certificate failure alone could be the site's
own mistake. Pages that match nothing are not evidence (sites serve anything on port 80);
benign-scope matches (captive and billing pages) are not censorship.
"""

from __future__ import annotations

from reachcheck.analysis import fingerprints
from reachcheck.analysis.context import Facts
from reachcheck.model import Anomaly, HttpFetch


def _matches(f: HttpFetch) -> list[str]:
    found = [*fingerprints.match_body(f.body_head), *fingerprints.match_headers(dict(f.headers))]
    for hop in f.redirects:
        if hop.location:
            found += fingerprints.match_headers({"location": hop.location})
    names = [fp.name + (f" ({fp.country})" if fp.country else "") for fp in found
             if not fp.benign]
    return list(dict.fromkeys(names))


def blockpages(facts: Facts) -> list[Anomaly]:
    """http.blockpage: the cleartext page on an address where HTTPS failed verification (or
    that no genuine answer gave) matches a known blockpage fingerprint."""
    out: list[Anomaly] = []
    seen: set[str] = set()
    for f in facts.obs.cleartext_fetches:
        if not f.ok or f.address in seen:
            continue
        names = _matches(f)
        if not names:
            continue
        seen.add(f.address)
        why = "not the site's" if f.address not in facts.genuine else "failing verification"
        detail = (f"http:// on {f.address} (Host {facts.domain}), an address {why} over HTTPS, "
                  f"serves blockpage fingerprint(s): {', '.join(names)}")
        out.append(Anomaly("http", "http.blockpage", detail, (f.address,), (), True))
    return out
