"""The control server (an outside vantage point) and its client.

`reachcheck control serve` measures a site the way the probe does, from the server's network;
`ControlClient` asks it during `reachcheck check --control URL`. The API is in `protocol.py`,
the SSRF guard in `policy.py`, deployment in `DEPLOY.md`.
"""

from __future__ import annotations

from reachcheck.control.client import ControlClient

__all__ = ["ControlClient"]
