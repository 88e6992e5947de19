"""The run-level page map behind `analysis.page_cluster`: page key -> domains that served it.

Results stream out as each site finishes, so a cluster is only known once its members have
been seen. Choice (documented in the README): a site is judged with the clusters known when it
finishes; the members already written are not rewritten (a JSONL line, once out, is final, and
holding results back would break streaming and the flat memory of big runs). Each later member
names the earlier ones in its `page_clusters`, so the JSON holds the whole cluster, and
`reachcheck report --rejudge` of the saved file judges every member alike.

Bounded: at most MAX_KEYS keys (least recently seen dropped) and MAX_DOMAINS domains per key.
"""

from __future__ import annotations

import collections
import dataclasses

from reachcheck.analysis.page_cluster import CLUSTER_MIN, candidate_pages, site_key
from reachcheck.model import Observations, PageCluster

MAX_KEYS = 4096
MAX_DOMAINS = 8


class PageClusters:
    """Page keys seen in this run and the (registrable-distinct) domains that served them."""

    def __init__(self) -> None:
        self._seen: collections.OrderedDict[str, list[str]] = collections.OrderedDict()

    def attach(self, obs: Observations) -> Observations:
        """Record this site's cleartext pages; return the observations with the clusters they
        join (those with at least CLUSTER_MIN - 1 unrelated earlier domains)."""
        keys = candidate_pages(obs)
        if not keys:
            return obs
        domain = obs.target.domain
        home = site_key(domain)
        found: list[PageCluster] = []
        for key in keys:
            domains = self._seen.get(key)
            if domains is None:
                domains = self._seen[key] = []
                while len(self._seen) > MAX_KEYS:
                    self._seen.popitem(last=False)
            else:
                self._seen.move_to_end(key)
            others = [d for d in domains if site_key(d) != home]
            if len({site_key(d) for d in others}) >= CLUSTER_MIN - 1:
                found.append(PageCluster(key, tuple(others)))
            if all(site_key(d) != home for d in domains) and len(domains) < MAX_DOMAINS:
                domains.append(domain)
        return dataclasses.replace(obs, page_clusters=tuple(found)) if found else obs

    def __len__(self) -> int:
        return len(self._seen)


def whole_run(observations: list[Observations]) -> list[Observations]:
    """Every site's clusters over a whole saved run (`report --rejudge`): unlike the live run,
    the earlier members of a cluster learn of the later ones too."""
    keys = [candidate_pages(o) for o in observations]
    by_key: dict[str, list[str]] = {}
    for o, ks in zip(observations, keys, strict=True):
        for k in ks:
            by_key.setdefault(k, []).append(o.target.domain)
    out: list[Observations] = []
    for o, ks in zip(observations, keys, strict=True):
        home = site_key(o.target.domain)
        found = []
        for k in ks:
            others = [d for d in dict.fromkeys(by_key[k]) if site_key(d) != home]
            if len({site_key(d) for d in others}) >= CLUSTER_MIN - 1:
                found.append(PageCluster(k, tuple(others[:MAX_DOMAINS])))
        out.append(dataclasses.replace(o, page_clusters=tuple(found)))
    return out
