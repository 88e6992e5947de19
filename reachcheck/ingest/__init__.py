"""Ingestion of other tools' measurements into reachcheck observations (kept out of `model`).

Each source gets a sub-package: read its files, map one measurement to `Observations` plus a
`source` record, and let the ordinary analysis judge it. `ooni/` reads OONI Web Connectivity.
"""
