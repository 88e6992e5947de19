"""Ingestion of other tools' measurements into reachcheck observations (kept out of `model`).

Each source gets a sub-package: read its files, map one measurement to `Observations` plus a
`source` record, and let the ordinary analysis judge it. `ooni/` reads OONI Web Connectivity.

May import: reachcheck.analysis, reachcheck.cli_common, reachcheck.execute, reachcheck.model,
reachcheck.output, reachcheck.probes.http_content, reachcheck.probes.tls, reachcheck.runner,
reachcheck.targets. (Enforced by tests/test_layering.py.)
"""
