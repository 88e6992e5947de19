"""DNS probes: ask a resolver one question and record every answer as evidence.

`wire` builds queries and parses responses (pure); `exchange` is the state of one question
(retransmit, hold-on, retry) on the timers of `timers`; `udp` asks over one connected socket,
`mux` over a few shared ones for big scans; `doh` asks a DNS-over-HTTPS control over HTTP/2
(`h2conn`) or HTTP/1.1 (`h1conn`); `resolvconf` reads the system's nameservers.

May import: reachcheck.model, reachcheck.probes.connector, reachcheck.probes.errors,
reachcheck.probes.timing. (Enforced by tests/test_layering.py.)
"""
