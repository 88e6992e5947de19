"""Outside views measured by this run itself (the control server's client is `control/`):
`proxy.py`, the user's own proxy (`check --via URL`)."""
