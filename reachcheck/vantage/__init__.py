"""Outside views measured by this run itself (the control server's client is `control/`):
`proxy.py`, the user's own proxy (`check --via URL`).

May import: reachcheck.config, reachcheck.model, reachcheck.probes. (Enforced by
tests/test_layering.py.)
"""
