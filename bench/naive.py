"""The naive baseline: resolve, then fetch, one site at a time (run in the client namespace).

    python bench/naive.py SITES_FILE COUNT NAMESERVER CA_PEM

For each of the first COUNT domains: one dnspython UDP query for A to NAMESERVER, then one
httpx GET pinned to the first answer (IP in the URL, Host and SNI = the domain, certificate
verified against CA_PEM). Prints one JSON line: {"ok": n, "failed": n, "seconds": s}.
"""

from __future__ import annotations

import json
import ssl
import sys
import time

import dns.message
import dns.query
import httpx


def main(argv: list[str]) -> None:
    sites, count, nameserver, ca = argv[0], int(argv[1]), argv[2], argv[3]
    domains = [line.strip() for line in open(sites) if line.strip()][:count]
    ctx = ssl.create_default_context(cafile=ca)
    ok = failed = 0
    t0 = time.perf_counter()
    with httpx.Client(verify=ctx, trust_env=False, timeout=5.0,
                      limits=httpx.Limits(max_keepalive_connections=0)) as client:
        for domain in domains:
            try:
                resp = dns.query.udp(dns.message.make_query(domain, "A"), nameserver, timeout=5)
                address = next(r.address for rr in resp.answer for r in rr)
                r = client.get(f"https://{address}/", headers={"Host": domain},
                               extensions={"sni_hostname": domain})
                ok += r.status_code == 200
                failed += r.status_code != 200
            except Exception:
                failed += 1
    print(json.dumps({"ok": ok, "failed": failed, "seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main(sys.argv[1:])
