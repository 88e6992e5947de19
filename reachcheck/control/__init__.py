"""The control server (an outside vantage point) and its client.

`reachcheck control serve` measures a site the way the probe does, from the server's network;
`ControlClient` asks it during `reachcheck check --control URL`. The API is in `protocol.py`,
the SSRF guard in `policy.py`, deployment in `DEPLOY.md`.

May import: reachcheck.model, reachcheck.options, reachcheck.probes, reachcheck.runner.limits,
reachcheck.strictjson, reachcheck.targets. (Enforced by tests/test_layering.py.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reachcheck.control.client import ControlClient

__all__ = ["ControlClient"]


def __getattr__(name: str) -> Any:
    # Lazy: the client pulls in httpx, which a run without --control never needs (the CLI
    # imports this package for its `control` command group at every start).
    if name == "ControlClient":
        from reachcheck.control.client import ControlClient

        return ControlClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
