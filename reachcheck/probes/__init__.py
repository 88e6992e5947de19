"""Network probes: DNS (UDP, DoH), TCP, TLS and HTTP.

Probes do IO and never raise for network failures: each attempt becomes an observation from
`reachcheck.model` with an error name from `errors.classify`. Import the submodules directly;
nothing is re-exported here so importing the package stays cheap.

May import: reachcheck.model (never the analysis: probes record, they do not judge). (Enforced
by tests/test_layering.py.)
"""
