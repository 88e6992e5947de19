"""The same page for unrelated sites: a blockpage confirmed by the cluster (design §5.1).

Recorded observations of http:// sites behind a transparent proxy serving one notice page no
fingerprint knows, fed through the run-level map in the order a run finishes them.
"""

from __future__ import annotations

import dataclasses
import hashlib

from reachcheck.analysis import judge
from reachcheck.analysis.page_cluster import candidate_pages
from reachcheck.model import HttpFetch, Observations, PageCluster
from reachcheck.rejudge import observations_of
from reachcheck.runner.clusters import PageClusters, whole_run
from tests.analysis.builders import control, ctrl_server, fetch, system, tcp
from tests.analysis.builders import obs as observations

NOTICE = ("<html><head><title>Notice</title></head><body><p>This resource is not available "
          "on this network by order of the authority. Reference 7731.</p></body></html>")


def _site(domain: str, addr: str, body: str = NOTICE, title: str = "Notice",
          ctrl_body: str | None = None) -> Observations:
    f = fetch(addr, url=f"http://{domain}/", body=body, title=title, length=len(body))
    f = dataclasses.replace(f, body_sha256=hashlib.sha256(body.encode()).hexdigest())
    server = None
    if ctrl_body is not None:
        c = dataclasses.replace(f, body_head=ctrl_body,
                                body_sha256=hashlib.sha256(ctrl_body.encode()).hexdigest(),
                                title="Own page")
        server = ctrl_server(http=c)
    return observations(system(addr), control(addr), tcp(addr, port=80), f, target=f"http://{domain}/",
                        control_server=server)


def _unique(domain: str, addr: str) -> Observations:
    body = f"<html><head><title>{domain} home</title></head><body>{domain} " + "x" * 80
    return _site(domain, addr, body=body, title=f"{domain} home")


def _run(sites: list[Observations]) -> list[str]:
    clusters = PageClusters()
    return [judge(clusters.attach(o)).verdict for o in sites]


def test_third_unrelated_site_with_the_same_page_is_a_blockpage() -> None:
    sites = [_site("alpha.test", "45.1.1.1"), _site("beta.test", "45.1.1.2"),
             _unique("plain.test", "45.1.1.9"), _site("gamma.test", "45.1.1.3"),
             _site("delta.test", "45.1.1.4")]
    verdicts = _run(sites)
    # Streamed: the first two were judged before the cluster existed (documented choice);
    # from the third member on, the cluster is evidence; the unrelated page is untouched.
    assert verdicts == ["accessible", "accessible", "accessible", "http_blocked",
                        "http_blocked"]
    result = judge(PageClusters().attach(sites[0]))  # alone: no cluster, no evidence
    assert result.page_clusters == ()


def test_the_cluster_names_the_earlier_members_and_rejudge_sees_them_all() -> None:
    sites = [_site("alpha.test", "45.1.1.1"), _site("beta.test", "45.1.1.2"),
             _site("gamma.test", "45.1.1.3")]
    clusters = PageClusters()
    results = [judge(clusters.attach(o)) for o in sites]
    (cluster, *_) = results[2].page_clusters
    assert set(cluster.domains) == {"alpha.test", "beta.test"}
    hit = next(a for a in results[2].anomalies if a.kind == "http.blockpage")
    assert "confirmed by the cluster" in hit.detail and hit.confirmed
    assert [judge(o).verdict for o in whole_run([observations_of(r) for r in results])] == [
        "http_blocked"] * 3


def test_related_domains_are_no_cluster() -> None:
    # www.a.test and a.test are one site; shop.a.test too: the same page there is normal.
    sites = [_site("a.test", "45.1.1.1"), _site("www.a.test", "45.1.1.2"),
             _site("shop.a.test", "45.1.1.3"), _site("b.test", "45.1.1.4")]
    assert _run(sites) == ["accessible"] * 4


def test_a_page_the_control_server_gets_too_is_the_sites_own() -> None:
    sites = [_site(d, f"45.1.1.{i}", ctrl_body=NOTICE) for i, d in
             enumerate(["alpha.test", "beta.test", "gamma.test"])]
    assert all(v != "http_blocked" for v in _run(sites))


def test_generic_server_pages_and_verified_https_never_cluster() -> None:
    default = "<html><head><title>Welcome to nginx!</title></head><body>" + "n" * 200
    sites = [_site(d, f"45.1.1.{i}", body=default, title="Welcome to nginx!")
             for i, d in enumerate(["alpha.test", "beta.test", "gamma.test"])]
    assert _run(sites) == ["accessible"] * 3
    https = []
    for i, d in enumerate(["alpha.test", "beta.test", "gamma.test"]):
        f: HttpFetch = dataclasses.replace(fetch(f"45.1.2.{i}", url=f"https://{d}/"),
                                           body_sha256="ab" * 32)
        https.append(observations(system(f.address), control(f.address), tcp(f.address), f,
                                  target=d))
    assert _run(https) == ["accessible"] * 3


def test_a_shared_title_alone_is_reported_but_not_decisive() -> None:
    sites = [_site(d, f"45.1.1.{i}", body=NOTICE + d, title="Notice")
             for i, d in enumerate(["alpha.test", "beta.test", "gamma.test"])]
    clusters = PageClusters()
    results = [judge(clusters.attach(o)) for o in sites]
    assert [r.verdict for r in results] == ["accessible"] * 3
    assert [a.kind for a in results[2].anomalies] == ["http.same_page"]


def test_the_http_page_behind_failed_https_clusters_too() -> None:
    """Lying DNS sends three unrelated https sites to one filtering server whose certificate
    fails and whose http:// page no fingerprint knows: the cluster names it."""
    sites = []
    for i, d in enumerate(["alpha.test", "beta.test", "gamma.test"]):
        server = "45.9.9.9"
        f = fetch(server, ok=False, error="cert_unknown_ca", tls_ok=False, url=f"https://{d}/")
        page = dataclasses.replace(
            fetch(server, url=f"http://{d}/", body=NOTICE, title="Notice", length=len(NOTICE)),
            body_sha256=hashlib.sha256(NOTICE.encode()).hexdigest())
        o = observations(system(server), control(f"45.1.3.{i}"), tcp(server), f, target=d)
        sites.append(dataclasses.replace(o, cleartext_fetches=(page,)))
    clusters = PageClusters()
    results = [judge(clusters.attach(o)) for o in sites]
    assert [a.kind for a in results[2].anomalies if a.kind == "http.blockpage"] == [
        "http.blockpage"]
    assert results[2].verdict in ("dns_blocked", "http_blocked")


def test_the_sites_own_other_names_never_count_as_unrelated() -> None:
    # a.test and c.test served the page; www.a.test is a.test's own: two unrelated sites in
    # all, one short of a cluster, whatever order the names come in.
    sites = [_site("a.test", "45.1.1.1"), _site("c.test", "45.1.1.2"),
             _site("www.a.test", "45.1.1.3")]
    assert _run(sites) == ["accessible"] * 3
    # Twin: a third unrelated site makes the cluster.
    sites.append(_site("d.test", "45.1.1.4"))
    assert _run(sites) == ["accessible"] * 3 + ["http_blocked"]


def test_a_saved_cluster_naming_the_site_itself_is_read_without_it() -> None:
    # The runner lists only other sites, but a saved or imported file is data: a cluster that
    # names the site's own domains counts the unrelated ones only.
    page = _site("www.a.test", "45.1.1.3")
    (key, *_) = candidate_pages(page)
    saved = dataclasses.replace(page, page_clusters=(PageCluster(key, ("a.test", "c.test")),))
    assert judge(saved).verdict == "accessible"
    wider = dataclasses.replace(page, page_clusters=(PageCluster(key, ("a.test", "c.test",
                                                                          "d.test")),))
    assert judge(wider).verdict == "http_blocked"
