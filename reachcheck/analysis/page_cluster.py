"""The same page for unrelated sites: a blockpage confirmed by the cluster (design §5.1).

A censor serves one blockpage for every site it blocks, and no fingerprint knows a new one.
Over a run of many sites, the runner keeps a bounded map of page keys (body hash, title) to the
registrable domains that served them (`runner/clusters.py`) and attaches to a site's
observations the clusters its page belongs to (`Observations.page_clusters`). Rules:
1. Only cleartext pages count: a page over a verified TLS handshake is the site's own (a censor
   cannot forge it), so CDN challenge and error pages over HTTPS never form a cluster.
2. A page the control server got too, for the same site, is the site's own from outside as
   well (a parked or default page): never a cluster member.
3. Generic server pages ("404 Not Found", "Welcome to nginx!", a default page is byte-identical
   on unrelated servers) and tiny bodies give no key at all.
4. Evidence once at least CLUSTER_MIN unrelated registrable domains served it (this one
   included). A byte-identical body is a shared appliance's page: `http.blockpage` (decisive).
   A shared title alone is weaker (parking pages share titles): `http.same_page`, reported,
   never deciding the verdict.
"""

from __future__ import annotations

from reachcheck.analysis.context import Facts
from reachcheck.analysis.http import cleartext, registrable
from reachcheck.model import Anomaly, HttpFetch, Observations

CLUSTER_MIN = 3
_GENERIC_TITLES = frozenset(
    {"", "403 forbidden", "404 not found", "not found", "forbidden", "error", "welcome to nginx!",
     "301 moved permanently", "302 found", "index of /", "just a moment...", "document moved",
     "object moved", "bad request", "400 bad request", "502 bad gateway", "503 service unavailable",
     "apache2 debian default page: it works", "it works!", "test page for the apache http server"}
)  # fmt: skip


MIN_BODY = 64  # bytes: shorter bodies ("OK", an empty page) are alike by nature


def page_keys(f: HttpFetch) -> tuple[str, ...]:
    """The keys a page clusters by: its body hash and its title, none for a generic page."""
    title = " ".join((f.title or "").split()).lower()
    if title in _GENERIC_TITLES and title:
        return ()
    keys: list[str] = []
    if f.body_sha256 and (f.body_length or 0) >= MIN_BODY:
        keys.append(f"sha256:{f.body_sha256}")
    if len(title) >= 4:
        keys.append(f"title:{title}")
    return tuple(keys)


def candidate_pages(obs: Observations) -> tuple[str, ...]:
    """The page keys of this site that may join a cluster (rules 1 and 2)."""
    ctrl = obs.control
    outside: set[str] = set()
    if ctrl is not None and ctrl.ok:
        for f in (ctrl.http, getattr(ctrl, "http_repeat", None)):
            if f is not None and f.ok:
                outside.update(page_keys(f))
    keys: dict[str, None] = {}
    # The http:// pages fetched where an https address failed verification count too: a
    # blockpage server behind lying DNS serves one page for every name sent its way.
    for f in (*obs.http, *obs.cleartext_fetches):
        if f.ok and cleartext(f):
            keys.update((k, None) for k in page_keys(f) if k not in outside)
    return tuple(keys)


def site_key(domain: str) -> str:
    """What "unrelated" compares: the registrable domain."""
    return registrable(domain)


def blockpages(facts: Facts) -> list[Anomaly]:
    """http.blockpage (same body) or http.same_page (same title only): this site's cleartext
    page was served for at least CLUSTER_MIN - 1 unrelated sites earlier in the run."""
    mine = set(candidate_pages(facts.obs))
    home = site_key(facts.domain)
    hits: dict[str, tuple[str, list[str]]] = {}
    for c in facts.obs.page_clusters:
        others = sorted({d for d in c.domains if site_key(d) != home})
        if c.key not in mine or len({site_key(d) for d in others}) < CLUSTER_MIN - 1:
            continue
        hits.setdefault(c.key.split(":", 1)[0], (c.key, others))
    if not hits:
        return []
    pages = (*facts.obs.http, *facts.obs.cleartext_fetches)
    addrs = tuple(dict.fromkeys(f.address for f in pages if f.ok and cleartext(f)))
    how, (key, others) = ("sha256", hits["sha256"]) if "sha256" in hits else ("title",
                                                                              hits["title"])
    shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
    value = key.split(":", 1)[1]
    what = f"body sha256 {value[:16]}" if how == "sha256" else f"title {value!r}"
    detail = (f"the same page ({what}) was served for {len(others)} unrelated site(s) earlier "
              f"in this run ({shown})")
    if how == "sha256":
        detail += ": a blockpage confirmed by the cluster"
        return [Anomaly("http", "http.blockpage", detail, addrs, (), True)]
    return [Anomaly("http", "http.same_page", detail + " (a shared title alone: not decisive)",
                    addrs)]
